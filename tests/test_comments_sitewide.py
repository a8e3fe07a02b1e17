"""Site-wide comments feeds (issue 4): "Comments for <blog>", WordPress ``/comments/feed/``.

Subscribed like any feed, such a feed lists no posts: each of its comments goes under the
post it was written on (matched by link, guid, in-reply-to or "Comment on <title>"), and
is threaded and marked new like the post's own comment feed's. Our fixtures on the
loopback server first, then the real site-wide feeds of ../shared/corpus/comments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.comments import (
    PostRef,
    attach_site_comments,
    build_tree,
    flatten,
    looks_like_comments_feed,
    site_of,
)
from carefeed.model import CommentData, Entry, PollEvent, PollStatus, Subscription, utc_now
from commentfeeds import RESPITE, C, wordpress_comments, wordpress_site, wordpress_sitewide
from feedserver import FeedServer
from homes import CORPUS, CORPUS_MISSING, cli_json, make_home, run_cli

SITEWIDE = "/comments/feed/"
RESPITE_FEED = "/2026/03/respite-waiting-lists/feed/"
DAY = [C(21, "Priya Nair", 12 * 60, "The new ramp makes all the difference.")]


# --------------------------------------------------------------------------- the rule


def test_what_counts_as_a_comments_feed() -> None:
    posts = [("https://b.example/2026/03/a/", "https://b.example/?p=1")] * 3
    comments = [("https://b.example/2026/03/a/#comment-5", "https://b.example/?p=1#comment-5")]
    blogger = [("https://b.blogspot.com/2026/03/a.html?showComment=17#c17", "tag:x")]
    # the items say so, whatever the feed is called and wherever it is
    assert looks_like_comments_feed("https://b.example/feed/", "Carers Corner", comments * 2)
    assert looks_like_comments_feed("https://b.example/x", "Anything", blogger)
    # the name or the address says so, and no item contradicts it
    assert looks_like_comments_feed("https://b.example/feed/", "Comments for Carers Corner", [])
    assert looks_like_comments_feed("https://b.example/comments/feed/", "Carers Corner", [])
    assert looks_like_comments_feed("https://b.example/comments/feed/atom/", None, [])
    assert looks_like_comments_feed("https://b.example/?feed=comments-rss2", "", [])
    assert looks_like_comments_feed("https://b.blogspot.com/feeds/comments/default", "", [])
    assert looks_like_comments_feed(
        "https://b.example/feed/", "Comments on: Respite", posts + comments
    )
    # a blog that is merely called so, or whose posts mention comments, is a blog
    assert not looks_like_comments_feed("https://b.example/feed/", "Comments on Care", posts)
    assert not looks_like_comments_feed("https://b.example/comments/feed/", "Blog", posts)
    assert not looks_like_comments_feed("https://b.example/feed/", "Carers Corner", posts)
    assert not looks_like_comments_feed("https://b.example/feed/", "Carers Corner", [])


def test_attach_matches_link_guid_in_reply_to_title_and_stays_on_its_site() -> None:
    base = "https://b.example"
    posts = [
        PostRef(1, f"{base}/?p=100", f"{base}/2026/03/respite/", "Respite care", f"{base}/feed/"),
        PostRef(2, f"{base}/?p=101", f"{base}/2026/03/day/", "Day centre", f"{base}/feed/"),
        PostRef(
            3, "tag:b,2026:post-9", "https://proxy.example/r/9", "Ramp by the door", f"{base}/f"
        ),
        # another blog: same shape, other site
        PostRef(4, "https://o.example/?p=100", "https://o.example/respite/", "Day centre", "x"),
    ]

    def comment(guid: str, link: str | None, **more: str) -> CommentData:
        return CommentData(guid=guid, text="t", link=link, **more)  # type: ignore[arg-type]

    by_link = comment("x1", f"{base}/2026/03/respite/comment-page-2/#comment-1")
    by_guid = comment(f"{base}/?p=101#comment-2", None)
    relative = comment("/?p=101#comment-3", "/2026/03/day/#comment-3")
    threaded = comment("tag:b,2026:c-4", None, in_reply_to="tag:b,2026:post-9")
    titled = comment("tag:b,2026:c-5", None)
    lost = comment(f"{base}/?p=7#comment-6", f"{base}/2019/old-post/#comment-6")
    elsewhere = comment("https://o.example/?p=100#comment-9", "https://o.example/respite/#c-9")
    # old WordPress: in-reply-to names the newest post, the link the true one
    misled = comment(
        f"{base}/?p=100#comment-7",
        f"{base}/2026/03/respite/#comment-7",
        in_reply_to=f"{base}/?p=101",
    )
    groups, orphans = attach_site_comments(
        [by_link, by_guid, relative, threaded, titled, lost, elsewhere, misled],
        {"tag:b,2026:c-5": "Comment on Ramp by the door by Sam by the sea"},
        posts,
        f"{base}/comments/feed/",
    )
    assert {k: [c.guid for c in v] for k, v in groups.items()} == {
        1: ["x1", misled.guid],
        2: [by_guid.guid, relative.guid],
        3: ["tag:b,2026:c-4", "tag:b,2026:c-5"],
    }
    # post 4 is on another site: a comment naming it stays unattached
    assert orphans == [lost, elsewhere]
    assert site_of("http://www.b.example:80/x") == ("b.example", None)
    assert site_of("https://b.example/y") == ("b.example", None)
    assert site_of("http://127.0.0.1:8001/") != site_of("http://127.0.0.1:8002/")


# --------------------------------------------------------------------------- polling


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Carefeed]:
    carefeed = Carefeed.open(make_home(tmp_path / "home"))
    yield carefeed
    carefeed.close()


def poll(app: Carefeed) -> list[PollEvent]:
    async def run() -> list[PollEvent]:
        return [e async for e in app.poll()]

    return asyncio.run(run())


def entry_titled(app: Carefeed, start: str) -> Entry:
    return next(e for e in app.entries(limit=None) if e.title.startswith(start))


def serve_blog(
    server: FeedServer, comments: list[tuple[str, C]], **options: str
) -> tuple[str, str]:
    base = server.base_url
    blog = server.add("/feed/", wordpress_site(base))
    site = server.add(SITEWIDE, wordpress_sitewide(base, comments, **options))
    return blog, site


def subscribe(app: Carefeed, *urls: str) -> None:
    for url in urls:
        app.store.add_feed(Subscription(url=url), utc_now())


def thread(app: Carefeed, entry_id: int) -> list[tuple[int, str]]:
    return [(d, c.author or "") for d, c in flatten(build_tree(app.comments(entry_id)))]


def test_sitewide_comments_go_under_their_posts_not_into_the_list(
    app: Carefeed, feed_server: FeedServer
):
    items = [("respite-waiting-lists", c) for c in RESPITE] + [("day-centre-reopens", DAY[0])]
    blog, site = serve_blog(feed_server, items)
    subscribe(app, blog, site)
    events = {e.url: e for e in poll(app)}
    assert events[site].new == 0 and events[site].new_comments == 4
    # the comments feed lists no posts; the blog's two posts are all there is
    listed = app.entries(limit=None)
    assert sorted(e.title for e in listed) == [
        "Day centre reopens after repairs",
        "Respite care waiting lists grow again",
    ]
    assert app.count_entries() == 2
    respite = entry_titled(app, "Respite")
    assert respite.comments_stored == 3
    assert thread(app, respite.id) == [(0, "Maya Patel"), (1, "Jo Evans"), (0, "Tom Reilly")]
    day = entry_titled(app, "Day centre")
    assert [c.text for c in app.comments(day.id)] == [DAY[0].text]
    # polled again: the same comments, nothing new, nothing doubled
    events = {e.url: e for e in poll(app)}
    assert events[site].new_comments == 0 and len(app.comments(respite.id)) == 3


def test_sitewide_and_per_post_feeds_share_comments(app: Carefeed, feed_server: FeedServer):
    """The same comment from the post's own feed and from the site-wide feed (whose guid
    is on a stale permalink) is one comment: they share their #comment-N."""
    base = feed_server.base_url
    blog, site = serve_blog(
        feed_server, [("respite-waiting-lists", c) for c in RESPITE[:2]], guid_style="stale"
    )
    feed_server.add(RESPITE_FEED, wordpress_comments(base, "respite-waiting-lists", RESPITE))
    subscribe(app, blog, site)
    poll(app)
    respite = entry_titled(app, "Respite")
    assert len(app.comments(respite.id)) == 2
    event = asyncio.run(app.refresh_comments(respite.id))
    assert (event.new, event.total) == (1, 3)
    comments = app.comments(respite.id)
    assert len(comments) == 3
    assert thread(app, respite.id) == [(0, "Maya Patel"), (1, "Jo Evans"), (0, "Tom Reilly")]
    assert entry_titled(app, "Respite").comments_stored == 3


def test_a_reply_finds_a_parent_the_sitewide_feed_no_longer_shows(
    app: Carefeed, feed_server: FeedServer
):
    base = feed_server.base_url
    blog, site = serve_blog(feed_server, [("respite-waiting-lists", c) for c in RESPITE[:2]])
    subscribe(app, blog, site)
    poll(app)
    # the feed shows only the newest comment now: a reply to Maya, who has scrolled off
    reply = C(8, "Dee Clarke", 11 * 60, "Ask for a carer's assessment first.", 1)
    feed_server.set(SITEWIDE, sitewide_without_maya(base, reply))
    poll(app)
    respite = entry_titled(app, "Respite")
    assert thread(app, respite.id) == [(0, "Maya Patel"), (1, "Dee Clarke"), (0, "Tom Reilly")]


def sitewide_without_maya(base: str, reply: C) -> bytes:
    """The site-wide feed with only ``reply``, whose "In reply to" names comment-1."""
    slug = "respite-waiting-lists"
    doc = wordpress_sitewide(base, [(slug, RESPITE[0]), (slug, reply)])
    start = doc.index(b"<item><title>Comment on Respite care waiting lists grow again by Maya")
    end = doc.index(b"</item>", start) + len(b"</item>")
    return doc[:start] + doc[end:]


def test_comments_before_their_post_attach_when_it_arrives(app: Carefeed, feed_server: FeedServer):
    """Subscribed to the comments feed alone, nothing can attach: the comments are not
    stored. The feed is then polled conditionally like any other until its site has a
    new post; then it is read in full once and they attach."""
    items = [("respite-waiting-lists", c) for c in RESPITE]
    blog, site = serve_blog(feed_server, items)
    subscribe(app, site)
    [event] = poll(app)
    assert event.new_comments == 0 and app.count_entries() == 0
    assert any("3 comments wait for their post" in w for w in event.warnings)
    [again] = poll(app)  # nothing new on the site: a conditional GET, not a full read
    assert feed_server.requests_for(SITEWIDE)[-1].headers.get("if-none-match")
    assert again.status is PollStatus.NOT_MODIFIED
    subscribe(app, blog)
    poll(app)  # brings the post; the comments feed was asked before it was stored
    events = {e.url: e for e in poll(app)}  # the site has a newer post: read in full
    unconditional = feed_server.requests_for(SITEWIDE)[-1]
    assert "if-none-match" not in unconditional.headers
    assert "if-modified-since" not in unconditional.headers
    assert events[site].new_comments == 3
    respite = entry_titled(app, "Respite")
    assert thread(app, respite.id) == [(0, "Maya Patel"), (1, "Jo Evans"), (0, "Tom Reilly")]
    # everything has a post now: the next poll is conditional again
    poll(app)
    last = feed_server.requests_for(SITEWIDE)[-1]
    assert "if-none-match" in last.headers


def test_comments_on_posts_never_cached_cost_a_conditional_get(
    app: Carefeed, feed_server: FeedServer
):
    """A blog's comments feed names posts older than its post feed shows: those comments
    never find a post, and the feed must not be read in full at every poll for them."""
    blog, site = serve_blog(feed_server, [("respite-waiting-lists", c) for c in RESPITE])
    old = C(31, "Sam Lowe", 9 * 60, "This still applies years later.")
    items = [("respite-waiting-lists", c) for c in RESPITE] + [("an-old-post-2019", old)]
    feed_server.set(SITEWIDE, wordpress_sitewide(feed_server.base_url, items))
    subscribe(app, blog, site)
    events = {e.url: e for e in poll(app)}
    assert events[site].new_comments == 3
    assert any("1 comments wait for their post" in w for w in events[site].warnings)
    for _ in range(2):
        events = {e.url: e for e in poll(app)}
        assert events[site].status is PollStatus.NOT_MODIFIED
    assert all(r.headers.get("if-none-match") for r in feed_server.requests_for(SITEWIDE)[1:])


def test_one_poll_brings_posts_and_their_sitewide_comments(app: Carefeed, feed_server: FeedServer):
    """In one poll the comments feed is written after the blogs, whichever answers first."""
    blog, site = serve_blog(feed_server, [("respite-waiting-lists", c) for c in RESPITE])
    subscribe(app, site, blog)
    events = poll(app)
    assert [e.url for e in events][-1] == site
    assert entry_titled(app, "Respite").comments_stored == 3


def test_new_sitewide_comments_are_marked_new(app: Carefeed, feed_server: FeedServer):
    base = feed_server.base_url
    blog, site = serve_blog(feed_server, [("respite-waiting-lists", c) for c in RESPITE])
    subscribe(app, blog, site)
    poll(app)
    respite = entry_titled(app, "Respite")
    app.mark_comments_seen(respite.id)
    more = C(9, "Ola Ade", 12 * 60, "Thank you, that helps.")
    items = [("respite-waiting-lists", c) for c in [*RESPITE, more]]
    feed_server.set(SITEWIDE, wordpress_sitewide(base, items))
    poll(app)
    respite = entry_titled(app, "Respite")
    assert (respite.comments_stored, respite.new_comments) == (4, 1)


def test_a_comments_feed_on_another_site_attaches_nothing(app: Carefeed, feed_server: FeedServer):
    """A feed elsewhere that claims comments on this blog's posts is not believed."""
    blog, _ = serve_blog(feed_server, [])
    with FeedServer() as other:
        forged = wordpress_sitewide(
            feed_server.base_url, [("respite-waiting-lists", C(1, "Mallory", 60, "Buy now"))]
        )
        site = other.add(SITEWIDE, forged)
        subscribe(app, blog, site)
        poll(app)
    respite = entry_titled(app, "Respite")
    assert app.comments(respite.id) == [] and app.count_entries() == 2


def test_cli_add_a_sitewide_comments_feed(tmp_path: Path, feed_server: FeedServer):
    home = make_home(tmp_path / "home")
    blog, site = serve_blog(feed_server, [("respite-waiting-lists", c) for c in RESPITE])
    run_cli(home, "add", blog)
    added = run_cli(home, "add", site).stdout.decode()
    assert "Comments for Carers Corner" in added
    entries = cli_json(home, "entries")
    assert len(entries) == 2 and not any(e["title"].startswith("Comment on") for e in entries)
    respite = next(e for e in entries if e["title"].startswith("Respite"))
    assert respite["comments_cached"] == 3
    cached = cli_json(home, "comments", str(respite["id"]), "--cached")
    assert [c["author"] for c in cached["comments"]] == ["Maya Patel", "Tom Reilly", "Jo Evans"]
    assert cached["comments"][2]["parent"] == cached["comments"][0]["id"]


# --------------------------------------------------------------------------- the corpus

CORPUS_COMMENTS = CORPUS / "comments"
corpus = pytest.mark.skipif(not CORPUS_COMMENTS.is_dir(), reason=CORPUS_MISSING)


def serve_corpus(server: FeedServer, blog: str, sitewide: str, where: str) -> tuple[str, str]:
    blog_url = server.add("/feed/", (CORPUS / blog).read_bytes())
    site_url = server.add(where, (CORPUS_COMMENTS / sitewide).read_bytes())
    return blog_url, site_url


@corpus
def test_corpus_whizzy_sitewide_feed_over_its_blog(app: Carefeed, feed_server: FeedServer):
    """whizzy.org (WordPress 5.7, site-relative links): 50 comments over 9 of the blog's
    50 posts, 13 of them "In reply to" replies; the cisco post's own feed (38 comments)
    shares 25 of them by guid."""
    blog, site = serve_corpus(
        feed_server,
        "broken/relative-links-whizzy-wp-static.xml",
        "wp-whizzy-sitewide-comments.xml",
        SITEWIDE,
    )
    cisco_feed = "/2017/02/23/cisco-7941-asterisk-and-sip/feed/"
    feed_server.add(
        cisco_feed, (CORPUS_COMMENTS / "wp-whizzy-comments-cisco-7941.xml").read_bytes()
    )
    subscribe(app, blog, site)
    events = {e.url: e for e in poll(app)}
    assert events[site].new_comments == 50
    assert app.count_entries() == 50  # the blog's posts, none from the comments feed
    cisco = entry_titled(app, "Cisco 7941")
    comments = app.comments(cisco.id)
    assert len(comments) == 25
    assert comments[-1].author == "Ricardo"  # newest, item 1 of the feed
    everywhere = sum(
        c.parent is not None for e in app.entries(limit=None) for c in app.comments(e.id)
    )
    # 13 replies; 8 answer a comment the feed also shows, 5 one that scrolled off it
    assert everywhere == 8
    event = asyncio.run(app.refresh_comments(cisco.id))
    assert (event.total, event.new) == (38, 13)
    comments = app.comments(cisco.id)
    assert len(comments) == 38
    assert sum(c.parent is not None for c in comments) == 10  # SOURCES.md: 10 replies


@corpus
@pytest.mark.parametrize(
    ("sitewide", "where"),
    [
        ("wp-girtby-sitewide-comments-rss2.xml", SITEWIDE),
        ("wp-girtby-sitewide-comments-atom-thr.xml", "/comments/feed/atom/"),
    ],
)
def test_corpus_girtby_sitewide_feeds(
    app: Carefeed, feed_server: FeedServer, sitewide: str, where: str
):
    """girtby.net (WordPress 2.9): 9 of 10 comments belong to posts of the blog's feed;
    the pingback on "First Post!" (2004) waits. In the Atom twin every thr:in-reply-to
    names "Last Post!" (?p=3909): the links win, so that post gets its 2, not 10."""
    blog, site = serve_corpus(feed_server, "feeds/wp-girtby-rss2.xml", sitewide, where)
    subscribe(app, blog, site)
    events = {e.url: e for e in poll(app)}
    assert events[site].new_comments == 9
    assert any("1 comments wait" in w for w in events[site].warnings)
    counts = {e.title: e.comments_stored for e in app.entries(limit=None) if e.comments_stored}
    assert counts == {
        "Last Post!": 2,
        "Archiving Tweets": 3,
        "Staging Wordpress With Bazaar": 1,
        "At The End Of One’s Tether": 1,
        "Sleeping Bloggy": 1,
        "Easiest $100 I’ll Ever Make": 1,
    }
    last = entry_titled(app, "Last Post!")
    assert sorted(c.author or "" for c in app.comments(last.id)) == ["Arash Partow", "Sunny Kalsi"]


@corpus
def test_corpus_feeds_and_comment_feeds_are_told_apart() -> None:
    """Every real feed of posts stays a feed of posts; every real comment feed (WordPress
    per-post and site-wide, German "Kommentare für", Blogger) is recognised."""
    from carefeed.errors import CarefeedError
    from carefeed.parse import parse_feed

    seen = {True: 0, False: 0}
    for folder in ("feeds", "broken", "comments"):
        for path in sorted((CORPUS / folder).iterdir()):
            url = "https://example.org/feed/"
            if path.name.startswith("blogger-comments"):
                url = "http://blogName.blogspot.com/feeds/postID/comments/default"
            try:
                parsed = parse_feed(path.read_bytes(), url)
            except CarefeedError:
                continue  # not a feed at all: nothing to tell apart
            items = [(e.link, e.guid) for e in parsed.entries]
            expected = "comments" in path.name
            assert looks_like_comments_feed(url, parsed.feed.title, items) is expected, path.name
            seen[expected] += 1
    assert seen[True] >= 15 and seen[False] >= 30
