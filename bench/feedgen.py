"""Deterministic WordPress-like feeds for the poll benchmark.

Feed ``i`` is the same bytes whatever N is asked for (its own seeded ``random.Random``), so
N=200 is the first 200 feeds of N=1000. Every tenth feed is Atom (WordPress's
``/feed/atom/``), the rest RSS 2.0 as WordPress 6.x writes it: ``dc:creator``,
several ``<category>``, an excerpt in ``<description>``, several KB of HTML in
``content:encoded`` (paragraphs, links, lists, headings, quotes, WordPress's curly-quote
entities), ``wfw:commentRss`` and ``slash:comments``. The words are a small social-care
vocabulary written for this file, assembled into sentences by a toy grammar.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

TARGET_BYTES = 130 * 1024  # mean size of one feed document
ATOM_EVERY = 10  # feed i is Atom when i % ATOM_EVERY == ATOM_EVERY - 1
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # fixed, so feeds are the same bytes every run


def _words(text: str) -> tuple[str, ...]:
    """A vocabulary written as ``a | b | c`` lines."""
    return tuple(w.strip() for w in text.replace("\n", "|").split("|") if w.strip())


_PLACES = _words(
    """
Northfield | Ashby Vale | Kingsmere | Lowther | Brackenford | Eastwick | Harrowgate
Millbrook | Stanford Cross | Westholme | Riverside | Oakendale
"""
)
_SITE_KINDS = _words(
    """
Care Notes | Practice Matters | Carers Voice | Social Work Diaries | Care Home Life
Adult Care Review | Community Support | Home Care Today | Safeguarding Blog
Care Workforce | Dementia Friends | Independent Living | Care Commissioning
"""
)
_CATEGORIES = _words(
    """
Adult social care | Safeguarding | Carers | Dementia | Mental health
Learning disabilities | Autism | Home care | Care homes | Workforce | Funding
Commissioning | Policy | Practice | Hospital discharge | Direct payments | Housing
Children's services | Transitions | Reablement | Deprivation of Liberty
Mental Capacity Act | Supervision | Research | Events | News | Personal budgets
Loneliness | Digital care | Co-production
"""
)
_AUTHORS = _words(
    """
Amara Okafor | Ben Hughes | Carys Lloyd | Deepa Shah | Eilidh Fraser | Farhan Malik
Grace Mensah | Huw Jenkins | Imogen Price | Jonah Levi | Kiran Patel | Lena Novak
Marcus Reid | Niamh Doyle | Owen Clarke
"""
)
_SUBJECTS = _words(
    """
the local authority | our care team | the new commissioner | a family carer
the safeguarding board | every home care provider | the integrated care board
a newly qualified social worker | the occupational therapist | the care home manager
our reablement service | the advocacy charity | the council | each support worker
the hospital discharge team | the person we support | a peer group of carers
the regulator | our practice lead | the mental health nurse
"""
)
_VERBS = _words(
    """
reviewed | funded | co-produced | assessed | commissioned | redesigned | supported
questioned | welcomed | mapped | delayed | published | piloted | challenged | explained
simplified | measured | shared | rethought | tested
"""
)
_OBJECTS = _words(
    """
the care and support plan | a strengths-based assessment | respite for carers
the direct payments policy | night-time home care visits | the waiting list
a new safeguarding pathway | the market sustainability plan | supervision notes
the fee uplift for providers | a dementia-friendly day service | the annual review
shared lives placements | the transition plan at eighteen | the carers' breaks fund
a mental capacity assessment | the hospital discharge checklist
the workforce retention scheme | community equipment deliveries
the complaints procedure | an easy-read information pack | the out-of-hours rota
"""
)
_CLAUSES = _words(
    """
after months of consultation | with people who draw on care and support
despite the pressure on budgets | before the winter peak | in every locality
without adding paperwork | so that nobody waits alone | across the whole county
with the voluntary sector | because families asked for it | within twelve weeks
as the inspection report recommended | for the third year running
at the request of the carers' forum | using what the data showed
"""
)
_OPENERS = _words(
    """
This week, | Last month, | In practice, | Put simply, | Once again,
For the first time, | Quietly, | As expected, | Frankly, | In the end,
"""
)
_QUOTES = (
    "It is the small things that make a visit feel like care rather than a task.",
    "Nobody should have to tell their story five times to get help.",
    "We listened first, then we wrote the plan together.",
    "The rota is a care plan for the staff: it deserves the same attention.",
    "Good supervision is where the hard cases stop being lonely.",
)


def _sentence(rng: random.Random) -> str:
    subject = rng.choice(_SUBJECTS)
    text = f"{subject} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    if rng.random() < 0.6:
        text += f" {rng.choice(_CLAUSES)}"
    if rng.random() < 0.3:
        text = f"{rng.choice(_OPENERS)} {text}"
    text = text[0].upper() + text[1:]
    # WordPress's wptexturize: curly apostrophes as numeric entities
    return text.replace("'", "&#8217;") + rng.choice((".", ".", ".", "!", "?"))


def _title(rng: random.Random) -> str:
    words = f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_CLAUSES)}"
    return (words[0].upper() + words[1:]).replace("'", "&#8217;")


@functools.cache
def _sentences() -> tuple[str, ...]:
    """5,000 sentences made once (seeded); paragraphs are drawn from them, which is fast."""
    rng = random.Random(20260302)
    return tuple(_sentence(rng) for _ in range(5000))


def _paragraph(rng: random.Random, site: str) -> str:
    pool = _sentences()
    parts = rng.sample(pool, rng.randint(3, 7))
    if rng.random() < 0.35:
        i = rng.randrange(len(parts))
        slug = rng.choice(_CATEGORIES).lower().replace(" ", "-").replace("'", "")
        parts[i] = f'<a href="{site}/{slug}/">{parts[i][:-1]}</a>{parts[i][-1]}'
    if rng.random() < 0.2:
        parts[0] = f"<strong>{parts[0]}</strong>"
    return "<p>" + " ".join(parts) + "</p>"


def _block(rng: random.Random, site: str) -> str:
    roll = rng.random()
    if roll < 0.70:
        return _paragraph(rng, site)
    if roll < 0.82:
        items = "".join(f"<li>{s}</li>" for s in rng.sample(_sentences(), rng.randint(3, 6)))
        return f"<ul>{items}</ul>" if rng.random() < 0.7 else f"<ol>{items}</ol>"
    if roll < 0.92:
        return f"<h2>{_title(rng)}</h2>"
    if roll < 0.97:
        return (
            f'<blockquote class="wp-block-quote"><p>&#8220;{rng.choice(_QUOTES)}&#8221;</p>'
            f"<cite>{rng.choice(_AUTHORS)}</cite></blockquote>"
        )
    n = rng.randint(100, 9999)
    return (
        f'<figure class="wp-block-image size-large"><img decoding="async" width="1024" '
        f'height="683" src="{site}/wp-content/uploads/2026/02/photo-{n}-1024x683.jpg" '
        f'alt="" class="wp-image-{n}" /></figure>'
    )


def _content(rng: random.Random, site: str, size: int) -> str:
    blocks: list[str] = []
    total = 0
    while total < size:
        block = _block(rng, site)
        blocks.append(block)
        total += len(block) + 2
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class FeedSpec:
    index: int
    atom: bool
    path: str  # URL path, e.g. /northfield-care-notes-0007/feed/
    file: str  # relative file under the document root
    title: str


def spec(index: int) -> FeedSpec:
    rng = random.Random(index * 7919 + 1)
    title = f"{rng.choice(_PLACES)} {rng.choice(_SITE_KINDS)}"
    slug = title.lower().replace(" ", "-") + f"-{index:04d}"
    atom = index % ATOM_EVERY == ATOM_EVERY - 1
    path = f"/{slug}/feed/atom/" if atom else f"/{slug}/feed/"
    return FeedSpec(
        index, atom, path, path.strip("/") + ("/index.atom" if atom else "/index.rss"), title
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(index: int) -> bytes:
    """The document of feed ``index`` (≈TARGET_BYTES, 10-30 posts)."""
    fs = spec(index)
    rng = random.Random(index * 104729 + 17)
    site = f"https://{fs.path.split('/')[1]}.example"
    posts = rng.randint(10, 30)
    budget = int(TARGET_BYTES * rng.uniform(0.85, 1.15))
    per_post = budget // posts - (1500 if not fs.atom else 1800)  # markup around the content
    when = NOW - timedelta(hours=rng.randint(1, 48))
    items: list[str] = []
    for n in range(posts):
        post_id = 20000 - index * 37 - n * 11
        title = _title(rng)
        slug = title.lower().replace("&#8217;", "").replace(" ", "-")[:60].strip("-")
        link = f"{site}/{when:%Y/%m/%d}/{slug}/"
        author = rng.choice(_AUTHORS)
        cats = rng.sample(_CATEGORIES, rng.randint(2, 5))
        body = _content(rng, site, max(800, int(per_post * rng.uniform(0.5, 1.5))))
        excerpt = " ".join(rng.sample(_sentences(), 2))[:300] + " [&#8230;]"
        comments = rng.choice((0, 0, 0, 1, 2, 3, 5, 8, 13))
        if fs.atom:
            items.append(
                _atom_entry(site, post_id, title, link, author, cats, body, excerpt, comments, when)
            )
        else:
            items.append(
                _rss_item(site, post_id, title, link, author, cats, body, excerpt, comments, when)
            )
        when -= timedelta(hours=rng.randint(3, 96), minutes=rng.randint(0, 59))
    head = _atom_head(fs, site) if fs.atom else _rss_head(fs, site)
    tail = "</feed>\n" if fs.atom else "\t</channel>\n</rss>\n"
    return (head + "".join(items) + tail).encode("utf-8")


def _rss_head(fs: FeedSpec, site: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{_esc(fs.title)}</title>
	<atom:link href="{site}/feed/" rel="self" type="application/rss+xml" />
	<link>{site}</link>
	<description>News and practice notes on social care in {_esc(fs.title.split()[0])}</description>
	<lastBuildDate>{format_datetime(NOW)}</lastBuildDate>
	<language>en-GB</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.4.3</generator>

<image>
	<url>{site}/wp-content/uploads/2025/01/cropped-icon-32x32.png</url>
	<title>{_esc(fs.title)}</title>
	<link>{site}</link>
	<width>32</width>
	<height>32</height>
</image> \n"""


def _rss_item(
    site: str,
    post_id: int,
    title: str,
    link: str,
    author: str,
    cats: list[str],
    body: str,
    excerpt: str,
    comments: int,
    when: datetime,
) -> str:
    categories = "".join(f"\n\t\t<category><![CDATA[{c}]]></category>" for c in cats)
    return f"""	<item>
		<title>{title}</title>
		<link>{link}</link>
		<comments>{link}#{"comments" if comments else "respond"}</comments>
		<dc:creator><![CDATA[{author}]]></dc:creator>
		<pubDate>{format_datetime(when)}</pubDate>{categories}
		<guid isPermaLink="false">{site}/?p={post_id}</guid>

					<description><![CDATA[{excerpt}]]></description>
										<content:encoded><![CDATA[{body}]]></content:encoded>
					<wfw:commentRss>{link}feed/</wfw:commentRss>
			<slash:comments>{comments}</slash:comments>
		</item>
"""


def _atom_head(fs: FeedSpec, site: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?><feed
  xmlns="http://www.w3.org/2005/Atom"
  xmlns:thr="http://purl.org/syndication/thread/1.0"
  xml:lang="en-GB"
  >
	<title type="text">{_esc(fs.title)}</title>
	<subtitle type="text">News and practice notes on social care</subtitle>

	<updated>{NOW:%Y-%m-%dT%H:%M:%SZ}</updated>

	<link rel="alternate" type="text/html" href="{site}" />
	<id>{site}/feed/atom/</id>
	<link rel="self" type="application/atom+xml" href="{site}/feed/atom/" />

	<generator uri="https://wordpress.org/" version="6.4.3">WordPress</generator>
"""


def _atom_entry(
    site: str,
    post_id: int,
    title: str,
    link: str,
    author: str,
    cats: list[str],
    body: str,
    excerpt: str,
    comments: int,
    when: datetime,
) -> str:
    categories = "".join(f'\n\t\t<category scheme="{site}" term="{c}" />' for c in cats)
    stamp = f"{when:%Y-%m-%dT%H:%M:%SZ}"
    return f"""	<entry>
		<author>
			<name>{author}</name>
			<uri>{site}</uri>
		</author>

		<title type="html"><![CDATA[{title}]]></title>
		<link rel="alternate" type="text/html" href="{link}" />

		<id>{site}/?p={post_id}</id>
		<updated>{stamp}</updated>
		<published>{stamp}</published>{categories}
		<summary type="html"><![CDATA[{excerpt}]]></summary>

		<content type="html" xml:base="{link}"><![CDATA[{body}]]></content>
		<link rel="replies" type="text/html" href="{link}#comments" thr:count="{comments}" />
		<link rel="replies" type="application/atom+xml" href="{link}feed/atom/" \
thr:count="{comments}" />
		<thr:total>{comments}</thr:total>
	</entry>
"""


def write_feeds(root: Path, count: int) -> list[FeedSpec]:
    """Write feeds 0..count-1 under ``root`` (skipping files already there)."""
    specs = []
    for i in range(count):
        fs = spec(i)
        target = root / fs.file
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(render(i))
        specs.append(fs)
    return specs
