"""parse_feed on documents written here: the shapes UK care blogs publish, and hostile ones.

Every fixture is a small inline feed in our own words, so a failure reads as a sentence about
one behaviour. The real-world corpus lives in test_corpus_parse.py.
"""

from __future__ import annotations

import pickle
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carefeed import parse
from carefeed.comments import comment_feed_url
from carefeed.errors import ParseError
from carefeed.model import EntryData, ParsedFeed
from carefeed.parse import parse_feed
from carefeed.text import CONTENT_MAX

FEED_URL = "https://carers.example.org/feed/"

NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
)


def rss(items: str, *, channel: str = "", prolog: str = "") -> bytes:
    """A WordPress-shaped RSS 2.0 document around ``items``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}\n'
        f'<rss version="2.0" {NAMESPACES}>\n<channel>\n'
        "<title>Carers Corner</title>\n"
        "<link>https://carers.example.org</link>\n"
        "<description>Notes from an unpaid carers' network</description>\n"
        "<generator>https://wordpress.org/?v=6.4.2</generator>\n"
        f"{channel}{items}\n</channel>\n</rss>\n"
    ).encode()


def item(
    title: str = "Respite week for carers",
    *,
    guid: str | None = "https://carers.example.org/?p=101",
    link: str | None = "https://carers.example.org/2024/03/respite-week/",
    extra: str = "",
    description: str = "A short note about respite.",
) -> str:
    parts = ["<item>"]
    if title is not None:
        parts.append(f"<title>{title}</title>")
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    parts.append(f"<description>{description}</description>")
    parts.append(extra)
    parts.append("</item>")
    return "\n".join(parts)


def only(parsed: ParsedFeed) -> EntryData:
    assert len(parsed.entries) == 1, parsed.entries
    return parsed.entries[0]


DANGEROUS = "\x1b\x07\x00\u009b\u009d\u202e\u2066"


def refused_quickly(body: bytes, expected: str, *, content_type: str | None = None) -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError, match=expected):
        parse_feed(body, FEED_URL, content_type)
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------- formats


WORDPRESS_POST = """
<item>
  <title>Council cuts hit day centres &#8211; what carers told us</title>
  <link>https://carers.example.org/2024/03/day-centres/</link>
  <comments>https://carers.example.org/2024/03/day-centres/#comments</comments>
  <dc:creator><![CDATA[Priya Natarajan]]></dc:creator>
  <pubDate>Tue, 12 Mar 2024 09:30:00 +0000</pubDate>
  <category><![CDATA[Funding]]></category>
  <category><![CDATA[Adult social care]]></category>
  <category><![CDATA[day centres]]></category>
  <category><![CDATA[Funding]]></category>
  <category><![CDATA[funding]]></category>
  <category><![CDATA[   ]]></category>
  <guid isPermaLink="false">https://carers.example.org/?p=4242</guid>
  <description><![CDATA[Three day centres in the borough will close in June.]]></description>
  <content:encoded><![CDATA[<p>Three day centres will close in June.</p>
<p>Read the <a href="/consultation/">council consultation</a> and
<a href="https://gov.example.uk/care-act">the Care Act guidance</a>.</p>
<script>alert("x")</script>]]></content:encoded>
  <wfw:commentRss>https://carers.example.org/2024/03/day-centres/feed/</wfw:commentRss>
  <slash:comments>17</slash:comments>
</item>
"""


def test_wordpress_rss_post_keeps_everything_a_reader_needs() -> None:
    parsed = parse_feed(rss(WORDPRESS_POST), FEED_URL, "application/rss+xml; charset=UTF-8")

    assert parsed.warnings == ()
    assert parsed.feed.title == "Carers Corner"
    assert parsed.feed.site_url == "https://carers.example.org"
    assert parsed.feed.generator == "https://wordpress.org/?v=6.4.2"
    post = only(parsed)
    assert post.guid == "https://carers.example.org/?p=4242"
    assert post.title == "Council cuts hit day centres – what carers told us"
    assert post.link == "https://carers.example.org/2024/03/day-centres/"
    assert post.author == "Priya Natarajan"
    assert post.published == datetime(2024, 3, 12, 9, 30, tzinfo=UTC)
    assert post.updated is None
    assert post.categories == ("Funding", "Adult social care", "day centres", "funding")
    assert post.comments_url == "https://carers.example.org/2024/03/day-centres/#comments"
    assert post.comments_feed == "https://carers.example.org/2024/03/day-centres/feed/"
    assert post.comment_count == 17
    assert post.summary == "Three day centres in the borough will close in June."
    assert "Three day centres will close in June." in post.content
    assert "alert" not in post.content
    assert "[1]: https://carers.example.org/consultation/" in post.content
    assert "[2]: https://gov.example.uk/care-act" in post.content


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0"
      xml:base="https://practice.example.org/blog/atom.xml">
  <title type="html">Social Work &amp;amp; Practice</title>
  <link rel="alternate" type="text/html" href="/blog/"/>
  <link rel="self" type="application/atom+xml" href="/blog/atom.xml"/>
  <id>tag:practice.example.org,2024:blog</id>
  <updated>2024-04-02T10:00:00Z</updated>
  <generator uri="https://wordpress.org/" version="6.4">WordPress</generator>
  <entry>
    <author><name>Tom Okafor</name><email>tom@practice.example.org</email></author>
    <title type="html"><![CDATA[Supervision that works&#8230; for newly qualified workers]]></title>
    <link rel="alternate" type="text/html" href="/blog/2024/04/supervision/"/>
    <id>https://practice.example.org/blog/?p=77</id>
    <updated>2024-04-02T10:00:00Z</updated>
    <published>2024-04-01T08:15:00+01:00</published>
    <category scheme="https://practice.example.org/blog" term="Workforce"/>
    <category scheme="https://practice.example.org/blog" term="" label="Supervision"/>
    <category term="ASYE"/>
    <summary type="text">Reflective supervision for the first year: a &lt;short&gt; guide.</summary>
    <content type="html" xml:base="https://practice.example.org/blog/2024/04/supervision/">
      &lt;p&gt;See &lt;a href="notes.html"&gt;the notes&lt;/a&gt;.&lt;/p&gt;
    </content>
    <link rel="replies" type="text/html" href="/blog/2024/04/supervision/#comments" thr:count="4"/>
    <link rel="replies" type="application/atom+xml"
          href="/blog/2024/04/supervision/feed/atom/" thr:count="4"/>
  </entry>
</feed>
"""


def test_atom_reads_terms_labels_replies_link_and_thr_count() -> None:
    parsed = parse_feed(ATOM.encode(), "https://practice.example.org/blog/atom.xml")

    assert parsed.warnings == ()
    assert parsed.feed.title == "Social Work & Practice"
    assert parsed.feed.site_url == "https://practice.example.org/blog/"
    assert parsed.feed.generator == "WordPress 6.4"
    post = only(parsed)
    assert post.title == "Supervision that works… for newly qualified workers"
    assert post.author == "Tom Okafor"
    assert post.guid == "https://practice.example.org/blog/?p=77"
    assert post.link == "https://practice.example.org/blog/2024/04/supervision/"
    assert post.categories == ("Workforce", "Supervision", "ASYE")
    assert post.published == datetime(2024, 4, 1, 7, 15, tzinfo=UTC)
    assert post.updated == datetime(2024, 4, 2, 10, 0, tzinfo=UTC)
    assert post.comments_feed == "https://practice.example.org/blog/2024/04/supervision/feed/atom/"
    assert post.comments_url == "https://practice.example.org/blog/2024/04/supervision/#comments"
    assert post.comment_count == 4
    # type="text": the angle brackets are words, not tags
    assert post.summary == "Reflective supervision for the first year: a <short> guide."
    # the content's own xml:base decides where "notes.html" points
    assert "https://practice.example.org/blog/2024/04/supervision/notes.html" in post.content


RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://research.example.ac.uk/rss">
    <title>Care Research Digest</title>
    <link>https://research.example.ac.uk/</link>
    <description>New papers on long-term care</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://research.example.ac.uk/p/12"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://research.example.ac.uk/p/12">
    <title>Loneliness among home care users</title>
    <link>https://research.example.ac.uk/p/12</link>
    <description>A survey of 2,000 people receiving home care.</description>
    <dc:creator>Ahmed, S., Brown, L.</dc:creator>
    <dc:date>2024-02-29</dc:date>
    <dc:subject>Home care</dc:subject>
  </item>
</rdf:RDF>
"""


def test_rss1_uses_dc_date_and_dc_subject() -> None:
    post = only(parse_feed(RSS1.encode(), "https://research.example.ac.uk/rss"))

    assert post.title == "Loneliness among home care users"
    assert post.guid == "https://research.example.ac.uk/p/12"
    assert post.author == "Ahmed, S., Brown, L."
    assert post.published == datetime(2024, 2, 29, tzinfo=UTC)  # dc:date is all it has
    assert post.categories == ("Home care",)


RSS091 = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91">
  <channel>
    <title>Parish Care Newsletter</title>
    <link>http://parish.example.org.uk/</link>
    <description>Volunteer drivers and lunch clubs</description>
    <language>en-gb</language>
    <item>
      <title>Lunch club reopens \xa3 free for over-80s</title>
      <link>http://parish.example.org.uk/lunch-club.html</link>
      <description>Every Tuesday in the church hall.</description>
    </item>
  </channel>
</rss>
"""


def test_rss091_with_a_public_doctype_is_read_and_keyed_by_link() -> None:
    parsed = parse_feed(RSS091.encode("latin-1"), "http://parish.example.org.uk/rss.xml")

    post = only(parsed)
    assert post.title == "Lunch club reopens £ free for over-80s"
    assert post.guid == "http://parish.example.org.uk/lunch-club.html"
    assert post.link == "http://parish.example.org.uk/lunch-club.html"
    assert post.published is None


def test_bare_ampersand_is_recovered_with_a_warning() -> None:
    body = rss(item("Carers & families: a new helpline", description="Call us on 0800 & ask"))

    parsed = parse_feed(body, FEED_URL)

    post = only(parsed)
    assert post.title == "Carers & families: a new helpline"
    assert len(parsed.warnings) == 1
    assert parsed.warnings[0].startswith("malformed XML: ")
    assert parsed.warnings[0].endswith(", 1 post recovered")


def test_a_valid_feed_without_posts_is_not_an_error() -> None:
    parsed = parse_feed(rss(""), FEED_URL)

    assert parsed.entries == ()
    assert parsed.warnings == ()
    assert parsed.feed.title == "Carers Corner"


def test_leading_blank_lines_before_the_xml_declaration_are_not_a_malformed_feed() -> None:
    parsed = parse_feed(b"\n\n  " + rss(item()), FEED_URL)

    assert parsed.warnings == ()
    assert only(parsed).title == "Respite week for carers"


def test_a_feed_served_as_text_html_or_in_the_wrong_charset_is_still_read_quietly() -> None:
    latin1 = rss(item("Caf\xe9 for carers")).replace(b"\xc3\xa9", b"\xe9")

    as_html = parse_feed(rss(item()), FEED_URL, "text/html")
    mislabelled = parse_feed(latin1, FEED_URL, "application/rss+xml; charset=utf-8")

    assert as_html.warnings == ()
    assert only(as_html).title == "Respite week for carers"
    assert mislabelled.warnings == ()
    assert only(mislabelled).title == "Café for carers"


def test_json_feed_items_are_read() -> None:
    body = b"""{
      "version": "https://jsonfeed.org/version/1.1",
      "title": "Dementia Friends Diary",
      "home_page_url": "https://diary.example.org/",
      "authors": [{"name": "Siobhan Kelly"}],
      "author": {"name": "Siobhan Kelly"},
      "items": [
        {"id": "2024-05-01", "url": "/2024/05/memory-cafe", "title": "Memory caf\\u00e9 opens",
         "content_html": "<p>Open <b>Thursdays</b>.</p>",
         "date_published": "2024-05-01T10:00:00+01:00",
         "tags": ["Dementia", "Community", "Dementia"]},
        {"id": 7, "content_text": "Short update with no title, just words about the rota.",
         "authors": [{"name": "Ray"}, {"name": ""}], "date_modified": "2024-05-02T12:00:00Z"},
        {"id": "2024-05-01", "title": "A duplicate id"},
        "not an item"
      ]
    }"""

    parsed = parse_feed(body, "https://diary.example.org/feed.json", "application/feed+json")

    assert parsed.feed.title == "Dementia Friends Diary"
    assert parsed.feed.site_url == "https://diary.example.org/"
    first, second = parsed.entries
    assert first.guid == "2024-05-01"
    assert first.title == "Memory café opens"
    assert first.link == "https://diary.example.org/2024/05/memory-cafe"
    assert first.content == "Open Thursdays."
    assert first.author == "Siobhan Kelly"
    assert first.published == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert first.categories == ("Dementia", "Community")
    assert second.guid == "7"
    assert second.title == "Short update with no title, just words about the rota."
    assert second.author == "Ray"
    assert second.published == second.updated == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    assert parsed.warnings == ("1 duplicate id ignored",)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"error": "rate limited"}', "not a feed: JSON that is not a JSON Feed"),
        (b'[{"version": "https://jsonfeed.org/version/1"}]', "not a feed: JSON that is not"),
        (b'{"version": "https://jsonfeed.org/version/1", ', "not a feed: invalid JSON"),
        pytest.param(b"[" * 100_000, "not a feed: invalid JSON", id="deeply-nested"),
    ],
)
def test_json_that_is_not_a_json_feed_is_refused(body: bytes, reason: str) -> None:
    refused_quickly(body, reason)


# --------------------------------------------------------------------------- identity


def test_missing_title_link_guid_and_date_get_stable_stand_ins() -> None:
    items = (
        "<item><description>Our &lt;b&gt;befriending&lt;/b&gt; scheme needs two more "
        "volunteers for Saturday mornings in Hackney and Tower Hamlets, please share.</description>"
        "</item>"
        "<item><description></description></item>"
        "<item><title>Only a title</title></item>"
    )

    first = parse_feed(rss(items), FEED_URL)
    again = parse_feed(rss(items), FEED_URL)

    befriending, empty, titled = first.entries
    assert befriending.title == (
        "Our befriending scheme needs two more volunteers for Saturday mornings in Hackney…"
    )
    assert empty.title == "(untitled)"
    assert titled.title == "Only a title"
    assert all(entry.link is None and entry.published is None for entry in first.entries)
    assert all(entry.guid.startswith("sha256:") for entry in first.entries)
    assert len({entry.guid for entry in first.entries}) == 3
    assert [e.guid for e in again.entries] == [e.guid for e in first.entries]


def test_guid_falls_back_to_the_link() -> None:
    post = only(parse_feed(rss(item(guid=None)), FEED_URL))

    assert post.guid == "https://carers.example.org/2024/03/respite-week/"


def test_duplicate_guids_keep_the_first_occurrence_and_say_so() -> None:
    items = (
        item("Newest", guid="same")
        + item("Older copy", guid="same")
        + item("Other", guid="other")
        + item("Oldest copy", guid="same")
    )

    parsed = parse_feed(rss(items), FEED_URL)

    assert [(e.guid, e.title) for e in parsed.entries] == [("same", "Newest"), ("other", "Other")]
    assert parsed.warnings == ("2 duplicate ids ignored",)


def test_nul_and_controls_leave_the_guid_stable_and_long_guids_are_hashed() -> None:
    long_guid = "https://carers.example.org/?p=" + "9" * 600
    items = item("A", guid="Care&#0;Act") + item("B", guid=long_guid)

    first = parse_feed(rss(items), FEED_URL)
    second = parse_feed(rss(items), FEED_URL)

    nul_post, long_post = first.entries
    assert "\x00" not in nul_post.guid
    assert nul_post.guid.startswith("Care")
    assert long_post.guid.startswith("sha256:")
    assert len(long_post.guid) <= parse.GUID_MAX
    assert [e.guid for e in first.entries] == [e.guid for e in second.entries]


def test_max_entries_keeps_the_first_posts_in_document_order() -> None:
    items = "".join(item(f"Post {n}", guid=f"id-{n}") for n in range(7))

    parsed = parse_feed(rss(items), FEED_URL, max_entries=3)
    positional = parse_feed(rss(items), FEED_URL, None, 3)  # as the poller's executor calls it

    assert [e.title for e in parsed.entries] == ["Post 0", "Post 1", "Post 2"]
    assert parsed.warnings == ("kept the newest 3 of 7 posts",)
    assert positional == parsed


def test_result_and_error_survive_pickling_between_processes() -> None:
    parsed = parse_feed(rss(WORDPRESS_POST), FEED_URL)

    assert pickle.loads(pickle.dumps(parsed)) == parsed
    with pytest.raises(ParseError) as caught:
        parse_feed(b"", FEED_URL)
    assert str(pickle.loads(pickle.dumps(caught.value))) == "empty response"


def test_one_unreadable_post_is_skipped_not_the_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parse._xml_entry

    def flaky(raw: dict[str, object], ctx: object) -> EntryData:
        if raw.get("title") == "Broken":
            raise ValueError("bad shape")
        return real(raw, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(parse, "_xml_entry", flaky)

    parsed = parse_feed(rss(item("Broken", guid="a") + item("Fine", guid="b")), FEED_URL)

    assert [e.title for e in parsed.entries] == ["Fine"]
    assert parsed.warnings == ("1 unreadable post(s) skipped: bad shape",)


# --------------------------------------------------------------------------- text fields


def test_a_five_megabyte_title_is_capped_quickly() -> None:
    body = rss(item("Carers " * 750_000))

    started = time.perf_counter()
    post = only(parse_feed(body, FEED_URL))

    assert time.perf_counter() - started < 5.0
    assert len(post.title) == 500
    assert post.title.endswith("…")


def test_huge_category_author_and_content_are_capped() -> None:
    paragraph = "<p>Care workers in Leeds described the rota &amp; their pay.</p>\n"
    body = rss(
        item(
            extra=(
                f"<category>{'Funding ' * 650_000}</category>"
                f"<dc:creator>{'Ann ' * 1_000_000}</dc:creator>"
                f"<content:encoded><![CDATA[{paragraph * 60_000}]]></content:encoded>"
            )
        )
    )

    started = time.perf_counter()
    post = only(parse_feed(body, FEED_URL))

    assert time.perf_counter() - started < 8.0
    assert [len(c) for c in post.categories] == [200]
    assert post.author is not None and len(post.author) == 200
    assert len(post.content) == CONTENT_MAX
    assert post.content.endswith("…")


def test_terminal_escapes_nul_c1_and_bidi_are_removed_from_every_field() -> None:
    payload = "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\u009b31m\x00\u202e\u2066"
    body = rss(
        item(
            f"Care{payload} funding",
            extra=(
                f"<dc:creator>Ann{payload} Lee</dc:creator>"
                f"<category>Mental{payload} health</category>"
                f"<content:encoded><![CDATA[<p>Safe{payload} text</p>]]></content:encoded>"
            ),
            description=f"Plain{payload} summary",
        ),
        channel=f"<managingEditor>x</managingEditor><ttl>60</ttl><image><title>t{payload}</title></image>",
    )

    parsed = parse_feed(body, FEED_URL)

    post = only(parsed)
    # feedparser itself turns U+009B (8-bit CSI) into "›" through its cp1252 table (F7), so
    # what is left of the sequence is printable: inert, if not pretty.
    assert post.title in ("Care funding", "Care›31m funding")
    assert post.author in ("Ann Lee", "Ann›31m Lee")
    assert post.categories in (("Mental health",), ("Mental›31m health",))
    assert post.content in ("Safe text", "Safe›31m text")
    assert post.summary in ("Plain summary", "Plain›31m summary")
    for text in (post.title, post.author, post.summary, post.content, *post.categories):
        assert not any(c in text for c in DANGEROUS), repr(text)
        assert "pwned" not in text and "ZXZpbA" not in text


def test_escapes_written_as_character_references_are_removed_too() -> None:
    body = rss(item("Budget&#27;]0;owned&#7; review &#155;2J&#x202E;done"))

    post = only(parse_feed(body, FEED_URL))

    assert post.title in ("Budget review 2Jdone", "Budget review ›2Jdone")  # see above
    assert not any(c in post.title for c in DANGEROUS)


def test_markup_like_titles_are_kept_literally() -> None:
    items = (
        item("[@click=app.quit]x[/]", guid="1")
        + item("Adult social care [Green Paper] response", guid="2")
        + item("Why &lt;script&gt; tags in care records matter", guid="3")
        + item("&lt;b&gt;Care&lt;/b&gt; &amp;amp; support", guid="4")
    )

    titles = [e.title for e in parse_feed(rss(items), FEED_URL).entries]

    assert titles == [
        "[@click=app.quit]x[/]",
        "Adult social care [Green Paper] response",
        "Why <script> tags in care records matter",
        "Care & support",
    ]


def test_double_escaped_author_and_category_entities_are_decoded() -> None:
    extra = (
        "<dc:creator><![CDATA[Care Home News &#124; Weekly]]></dc:creator>"
        "<category><![CDATA[Health &amp; Social Care]]></category>"
        "<category><![CDATA[AT&T <contracts>]]></category>"
    )

    post = only(parse_feed(rss(item(extra=extra)), FEED_URL))

    assert post.author == "Care Home News | Weekly"
    assert post.categories == ("Health & Social Care", "AT&T <contracts>")


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;",
        "file:///etc/passwd",
        "https://carers.example.org/a b",
        "feed:https://carers.example.org/",
    ],
)
def test_links_that_are_not_http_are_dropped(bad: str) -> None:
    extra = (
        f"<comments>{bad}</comments><wfw:commentRss>{bad}</wfw:commentRss>"
        f'<content:encoded><![CDATA[<a href="{bad}">click</a>]]></content:encoded>'
    )

    post = only(parse_feed(rss(item(link=bad, guid="g", extra=extra)), FEED_URL))

    assert post.link is None
    assert post.comments_url is None
    assert post.content == "click"
    # a comment feed in another scheme is kept as text, so that it is reported as refused
    # (never fetched); a broken http(s) address is dropped like any non-address
    if bad.startswith("https:"):
        assert post.comments_feed is None
    else:
        assert post.comments_feed is not None
        _url, refused = comment_feed_url(post.comments_feed, None, None, FEED_URL)
        assert refused is not None and refused.startswith("comment feed refused: not http(s)")


def test_relative_links_resolve_against_the_feed_url() -> None:
    extra = (
        "<comments>/2024/03/respite-week/#comments</comments>"
        "<wfw:commentRss>/2024/03/respite-week/feed/</wfw:commentRss>"
        '<content:encoded><![CDATA[<a href="/help/">help</a>]]></content:encoded>'
    )
    body = rss(item(link="/2024/03/respite-week/", extra=extra)).replace(
        b"<link>https://carers.example.org</link>", b"<link>/</link>"
    )

    parsed = parse_feed(body, "https://carers.example.org/blog/feed/")

    post = only(parsed)
    assert parsed.feed.site_url == "https://carers.example.org/"
    assert post.link == "https://carers.example.org/2024/03/respite-week/"
    assert post.comments_url == "https://carers.example.org/2024/03/respite-week/#comments"
    assert post.comments_feed == "https://carers.example.org/2024/03/respite-week/feed/"
    assert post.content == "help[1]\n\n[1]: https://carers.example.org/help/"


@pytest.mark.parametrize("base", ["javascript:alert(1)//", "ftp://files.example.org/", "data:,x"])
def test_an_xml_base_that_is_not_http_is_ignored(base: str) -> None:
    body = ATOM.replace("https://practice.example.org/blog/atom.xml", base, 1).replace(
        ' xml:base="https://practice.example.org/blog/2024/04/supervision/"', ""
    )

    post = only(parse_feed(body.encode(), "https://practice.example.org/blog/atom.xml"))

    # Resolved against the feed's own address, or (an ftp: base that feedparser already
    # applied) dropped: never a link under the hostile base.
    for link in (post.link, post.comments_feed):
        if link is not None and link.startswith("ftp:") and link is post.comments_feed:
            # kept only to be reported: refused, never fetched
            assert comment_feed_url(link, None, None, "https://practice.example.org/")[1]
            continue
        assert link is None or link.startswith("https://practice.example.org/blog/2024/04/")
    assert post.link is not None or base.startswith("ftp:")
    assert "notes.html" in post.content and "https://practice.example.org/blog/" in post.content
    assert base.split(":")[0] + ":" not in post.content


def test_a_link_that_looks_like_an_option_becomes_an_absolute_url() -> None:
    post = only(parse_feed(rss(item(link="--renderer-cmd-prefix=/bin/sh")), FEED_URL))

    assert post.link == "https://carers.example.org/feed/--renderer-cmd-prefix=/bin/sh"


# --------------------------------------------------------------------------- comments


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        ("<slash:comments>0</slash:comments>", 0),
        ("<slash:comments> 12 </slash:comments>", 12),
        ("<slash:comments>-1</slash:comments>", None),
        ("<slash:comments>lots</slash:comments>", None),
        ("<slash:comments>３</slash:comments>", None),  # a full-width digit is not a count
        ("<slash:comments>99999999999999999999</slash:comments>", None),
        ("", None),
    ],
)
def test_comment_counts_are_non_negative_integers_or_unknown(extra: str, count: int | None) -> None:
    assert only(parse_feed(rss(item(extra=extra)), FEED_URL)).comment_count == count


def test_an_empty_comment_feed_element_is_no_comment_feed() -> None:
    extra = "<wfw:commentRss></wfw:commentRss><slash:comments>148</slash:comments>"

    post = only(parse_feed(rss(item(extra=extra)), FEED_URL))

    assert post.comments_feed is None
    assert post.comment_count == 148


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Tue, 12 Mar 2024 09:30:00 +0000", datetime(2024, 3, 12, 9, 30, tzinfo=UTC)),
        ("Tue, 12 Mar 2024 09:30:00 +1400", datetime(2024, 3, 11, 19, 30, tzinfo=UTC)),
        ("Tue, 12 Mar 2024 09:30:00  GMT", datetime(2024, 3, 12, 9, 30, tzinfo=UTC)),
        ("2024/3/12 9:30:00", datetime(2024, 3, 12, 9, 30, tzinfo=UTC)),
        ("Tue, Mar 12 2024 09:30:00 PM", datetime(2024, 3, 12, 21, 30, tzinfo=UTC)),
        ("Tue, Mar 12 2024 12:05:00 AM", datetime(2024, 3, 12, 0, 5, tzinfo=UTC)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),
        ("Mon, 01 Jan 1900 00:00:00 GMT", None),
        ("0000-00-00", None),
        ("2024/13/45 10:00", None),
        ("next Tuesday, probably", None),
        ("", None),
    ],
)
def test_dates_become_utc_or_none(written: str, expected: datetime | None) -> None:
    post = only(parse_feed(rss(item(extra=f"<pubDate>{written}</pubDate>")), FEED_URL))

    assert post.published == expected
    if expected is not None:
        assert post.published is not None and post.published.tzinfo is UTC


# --------------------------------------------------------------------------- not feeds


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "])
def test_an_empty_body_is_an_empty_response(body: bytes) -> None:
    refused_quickly(body, "^empty response$")


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html>\n<html lang='en'><head><title>Page not found</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/feed/"></head>'
        b"<body><p>Sorry &nbsp; AT&T</p></body></html>",
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>',
        b"<!-- cached --><HTML><BODY>Maintenance</BODY></HTML>",
    ],
)
def test_an_html_page_is_not_a_feed(body: bytes) -> None:
    refused_quickly(body, r"^not a feed \(HTML page\)$", content_type="text/html")


@pytest.mark.parametrize(
    "body",
    [
        b"Service Unavailable",
        b'<?xml version="1.0"?><opml version="2.0"><head/><body/></opml>',
        b'<?xml version="1.0"?>\n<!-- a comment that never ends',
    ],
)
def test_other_documents_are_not_feeds(body: bytes) -> None:
    refused_quickly(body, "^not a feed: ")


def test_a_body_naming_a_local_file_is_text_not_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "local-feed.xml"
    secret.write_bytes(rss(item("Local secret post")))

    for body in (str(secret).encode(), b"/dev/zero", secret.as_uri().encode()):
        refused_quickly(body, "^not a feed: ")


# --------------------------------------------------------------------------- entity attacks

LAUGHS = "".join(
    f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
).replace("&lol0;", "lol")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            rss(item(description="&lol9;"), prolog=f"\n<!DOCTYPE rss [\n{LAUGHS}\n]>"),
            id="billion-laughs-multiline",
        ),
        pytest.param(
            rss(item(description="&lol9;"), prolog=f"<!DOCTYPE rss [{LAUGHS}]>").replace(
                b"\n", b""
            ),
            id="billion-laughs-one-line",
        ),
        pytest.param(
            rss(
                item(description="&a;" * 20_000),
                prolog=f'<!DOCTYPE rss [<!ENTITY a "{"x" * 20_000}">]>',
            ),
            id="quadratic-blowup",
        ),
        pytest.param(
            rss(
                item(description="&x;"),
                prolog='<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
            ),
            id="xxe-file",
        ),
        pytest.param(
            rss(
                item(description="&x;"),
                prolog='<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/probe"> %p;]>',
            ),
            id="xxe-parameter-entity",
        ),
        pytest.param(
            rss(item(), prolog='<!-- <rss> --><!DOCTYPE rss [<!ENTITY a "x">]>'),
            id="behind-a-comment-that-looks-like-an-element",
        ),
        pytest.param(
            rss(item(), prolog='<!DOCTYPE rss [<!ATTLIST rss x CDATA "]>"> <!ENTITY a "x">]>'),
            id="behind-a-quoted-bracket",
        ),
        pytest.param(
            b'<!ENTITY a "x">\n' + rss(item()),
            id="before-the-xml-declaration",
        ),
        pytest.param(
            b"PHP Warning: something\n<!doctype rss [<!entity a 'x'>]>" + rss(item()),
            id="after-stray-text-lower-case",
        ),
    ],
)
def test_entity_declarations_are_refused_before_parsing(body: bytes) -> None:
    assert len(body) < 300_000
    refused_quickly(body, "^feed declares XML entities: refused$")


def test_entities_hidden_by_an_encoding_are_refused() -> None:
    document = rss(item(description="&lol9;"), prolog=f"<!DOCTYPE rss [{LAUGHS}]>").decode()
    utf16 = document.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    utf7 = document.replace('encoding="UTF-8"', 'encoding="UTF-7"').encode("utf-7")

    no_declaration = document.split("?>", 1)[1].lstrip().encode("utf-16-le")  # no BOM either

    refused_quickly(utf16, "feed declares XML entities")
    refused_quickly(
        no_declaration, "feed declares XML entities", content_type="text/xml; charset=utf-16le"
    )
    refused_quickly(utf7, "feed declares XML entities")
    refused_quickly(
        utf7, "feed declares XML entities", content_type="application/xml; charset=utf-7"
    )


def test_the_word_entity_in_a_post_is_not_a_declaration() -> None:
    description = "<![CDATA[Our data model: <!ENTITY carer SYSTEM 'x'> explained]]>"

    post = only(parse_feed(rss(item(description=description)), FEED_URL))

    assert "explained" in post.summary


def test_a_utf16_feed_is_read() -> None:
    document = (
        rss(item("Dignity in care")).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    )

    post = only(parse_feed(document.encode("utf-16"), FEED_URL))

    assert post.title == "Dignity in care"
