"""Small comment-feed documents for tests, written here (never copied from the corpus).

``wordpress_sitewide(...)`` is the blog's site-wide "Comments for <blog>" feed.

``wordpress_site(base)`` is a WordPress blog's main feed with two posts whose comment feeds
live under ``base``; ``wordpress_comments(...)`` is a post's RSS comment feed in
WordPress's shape (replies marked only by "In reply to <a href=…#comment-N>" in the text);
``atom_comments(...)`` is an Atom comment feed with RFC 4685 ``thr:in-reply-to``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class C:
    """A comment: its number (comment-N), author, minute of the day, text, and the number
    of the comment it answers (None: top level)."""

    n: int
    author: str
    minute: int
    text: str
    reply_to: int | None = None


def wordpress_site(
    base: str,
    *,
    counts: tuple[int | None, int | None] = (3, 0),
    comment_feeds: tuple[str | None, str | None] | None = None,
    generator: str = "https://wordpress.org/?v=6.4.2",
    dates: tuple[str, str] = ("Mon, 09 Mar 2026 10:00:00 +0000", "Tue, 10 Mar 2026 08:00:00 +0000"),
) -> bytes:
    """Two posts: "Respite care waiting lists" and "Day centre reopens"."""
    slugs = ("respite-waiting-lists", "day-centre-reopens")
    titles = ("Respite care waiting lists grow again", "Day centre reopens after repairs")
    feeds = comment_feeds or tuple(f"{base}/2026/03/{s}/feed/" for s in slugs)
    items = []
    for i, (slug, title) in enumerate(zip(slugs, titles, strict=True)):
        wfw = f"<wfw:commentRss>{escape(feeds[i])}</wfw:commentRss>" if feeds[i] else ""
        slash = f"<slash:comments>{counts[i]}</slash:comments>" if counts[i] is not None else ""
        items.append(
            f"""<item><title>{title}</title><link>{base}/2026/03/{slug}/</link>
<guid isPermaLink="false">{base}/?p={100 + i}</guid><pubDate>{dates[i]}</pubDate>
<dc:creator>Sam Okafor</dc:creator><category>Carers</category>
<description>Short summary of {title.lower()}.</description>{wfw}{slash}</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Carers Corner</title><link>{base}/</link><description>Notes from a carers'
centre</description><generator>{generator}</generator>
{"".join(items)}
</channel></rss>""".encode()


def wordpress_comments(base: str, slug: str, comments: list[C]) -> bytes:
    """A WordPress 'Comments on:' RSS feed, newest first as WordPress writes it."""
    items = []
    for c in sorted(comments, key=lambda c: -c.minute):
        link = f"{base}/2026/03/{slug}/#comment-{c.n}"
        body = f"<p>{escape(c.text)}</p>"
        if c.reply_to is not None:
            parent = next(p for p in comments if p.n == c.reply_to)
            body = (
                f'<p>In reply to <a href="{base}/2026/03/{slug}/#comment-{parent.n}">'
                f"{escape(parent.author)}</a>.</p>\n" + body
            )
        hours, minutes = divmod(c.minute, 60)
        items.append(
            f"""<item><title>By: {escape(c.author)}</title><link>{link}</link>
<dc:creator><![CDATA[{c.author}]]></dc:creator>
<pubDate>Wed, 11 Mar 2026 {hours:02d}:{minutes:02d}:00 +0000</pubDate>
<guid isPermaLink="false">{base}/?p=100#comment-{c.n}</guid>
<description>{escape(c.text)}</description>
<content:encoded><![CDATA[{body}]]></content:encoded></item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Comments on: {slug}</title><link>{base}/2026/03/{slug}/</link>
<description>Notes from a carers' centre</description>
<generator>https://wordpress.org/?v=6.4.2</generator>
{"".join(items)}
</channel></rss>""".encode()


def atom_site(base: str, comment_feed: str, total: int = 3) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
<title>Home Care Notes</title><id>tag:homecare.example,2026:feed</id>
<updated>2026-03-11T09:00:00Z</updated>
<link rel="alternate" href="{base}/"/>
<entry><title>Visits cut to fifteen minutes</title><id>tag:homecare.example,2026:post-7</id>
<link rel="alternate" type="text/html" href="{base}/posts/7"/>
<link rel="replies" type="application/atom+xml" href="{comment_feed}" thr:count="{total}"/>
<thr:total>{total}</thr:total>
<published>2026-03-10T09:00:00Z</published><updated>2026-03-10T09:00:00Z</updated>
<author><name>Lee Marsh</name></author>
<content type="html">&lt;p&gt;Councils are trimming home care visits.&lt;/p&gt;</content></entry>
</feed>""".encode()


def atom_comments(base: str, comments: list[C]) -> bytes:
    """An Atom comment feed; each entry's thr:in-reply-to names its parent comment, or
    the post itself for a top-level comment."""
    entries = []
    for c in comments:
        if c.reply_to is None:
            ref, href = "tag:homecare.example,2026:post-7", f"{base}/posts/7"
        else:
            ref = f"tag:homecare.example,2026:comment-{c.reply_to}"
            href = f"{base}/posts/7#c{c.reply_to}"
        hours, minutes = divmod(c.minute, 60)
        entries.append(
            f"""<entry><title>{escape(c.author)}</title>
<id>tag:homecare.example,2026:comment-{c.n}</id>
<link rel="alternate" type="text/html" href="{base}/posts/7#c{c.n}"/>
<thr:in-reply-to ref="{ref}" href="{href}" type="text/html"/>
<author><name>{escape(c.author)}</name><uri>{base}/people/{c.n}</uri></author>
<published>2026-03-11T{hours:02d}:{minutes:02d}:00Z</published>
<updated>2026-03-11T{hours:02d}:{minutes:02d}:00Z</updated>
<content type="html">{escape(escape(c.text))}</content></entry>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
<title>Comments on: Visits cut to fifteen minutes</title>
<id>tag:homecare.example,2026:post-7/comments</id><updated>2026-03-11T12:00:00Z</updated>
{"".join(entries)}
</feed>""".encode()


SLUGS = {
    "respite-waiting-lists": ("Respite care waiting lists grow again", 100),
    "day-centre-reopens": ("Day centre reopens after repairs", 101),
}


def wordpress_sitewide(
    base: str,
    comments: list[tuple[str, C]],
    *,
    title: str = "Comments for Carers Corner",
    guid_style: str = "p",
) -> bytes:
    """WordPress's site-wide "Comments for <blog>" RSS feed over ``wordpress_site``'s posts:
    items titled "Comment on <post title> by <author>", newest first, linked
    ``<post link>#comment-N``; ``comments`` are (post slug, comment). ``guid_style`` "p"
    gives WordPress's ``?p=100#comment-N`` guids, "stale" a guid on an old permalink that
    only shares the ``#comment-N`` with the link (as girtby.net's did)."""
    items = []
    for slug, c in sorted(comments, key=lambda sc: -sc[1].minute):
        post_title, number = SLUGS.get(slug, (slug, 999))
        link = f"{base}/2026/03/{slug}/#comment-{c.n}"
        guid = (
            f"{base}/?p={number}#comment-{c.n}"
            if guid_style == "p"
            else f"{base}/archives/old/{slug}#comment-{c.n}"
        )
        body = f"<p>{escape(c.text)}</p>"
        if c.reply_to is not None:
            parent = next(p for s, p in comments if p.n == c.reply_to)
            body = (
                f'<p>In reply to <a href="{base}/2026/03/{slug}/#comment-{parent.n}">'
                f"{escape(parent.author)}</a>.</p>\n" + body
            )
        hours, minutes = divmod(c.minute, 60)
        items.append(
            f"""<item><title>Comment on {escape(post_title)} by {escape(c.author)}</title>
<link>{link}</link><dc:creator><![CDATA[{c.author}]]></dc:creator>
<pubDate>Wed, 11 Mar 2026 {hours:02d}:{minutes:02d}:00 +0000</pubDate>
<guid isPermaLink="false">{guid}</guid><description>{escape(c.text)}</description>
<content:encoded><![CDATA[{body}]]></content:encoded></item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>{escape(title)}</title><link>{base}/</link>
<description>Notes from a carers' centre</description>
<generator>https://wordpress.org/?v=6.4.2</generator>
{"".join(items)}
</channel></rss>""".encode()


RESPITE = [
    C(1, "Maya Patel", 9 * 60, "We waited eleven weeks for a respite bed last spring."),
    C(2, "Tom Reilly", 9 * 60 + 40, "Our council offers a sitting service while you wait."),
    C(3, "Jo Evans", 10 * 60 + 5, "Eleven weeks sounds familiar; which area are you in?", 1),
]

THREAD = [
    C(11, "Anna Kowalska", 8 * 60, "Fifteen minutes is not enough to help someone wash."),
    C(12, "Ray Dunn", 8 * 60 + 30, "Agreed, and travel time is never paid.", 11),
    C(13, "Anna Kowalska", 9 * 60, "Travel time was paid where I worked before.", 12),
    C(14, "Bea Short", 9 * 60 + 15, "Has anyone asked the commissioners directly?"),
]
