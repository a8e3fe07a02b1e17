"""Comments (issue 4): parsing comment feeds, threading, fetching them politely, the CLI.

Pure parts first (parse_comments, comments.py), then whole polls against the loopback
server with a real cache, then the command line in a subprocess.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.comments import (
    REFUSED_SCHEME,
    REFUSED_SITE,
    build_tree,
    comment_feed_url,
    comment_key,
    flatten,
    guess_wordpress_feed,
    resolve_parents,
    same_site,
)
from carefeed.errors import ParseError
from carefeed.model import Comment, CommentEvent, Entry, PollStatus, Subscription, utc_now
from carefeed.parse import parse_comments
from commentfeeds import (
    RESPITE,
    THREAD,
    C,
    atom_comments,
    atom_site,
    wordpress_comments,
    wordpress_site,
)
from feedserver import FeedServer
from homes import cli_json, make_home, run_cli

BASE = "https://carers-corner.example"

# --------------------------------------------------------------------------- parsing


def test_wordpress_rss_replies_come_from_the_in_reply_to_marker() -> None:
    parsed = parse_comments(
        wordpress_comments(BASE, "respite-waiting-lists", RESPITE), f"{BASE}/x/feed/"
    )
    assert [c.author for c in parsed.comments] == ["Jo Evans", "Tom Reilly", "Maya Patel"]
    reply = parsed.comments[0]
    assert reply.in_reply_to == f"{BASE}/2026/03/respite-waiting-lists/#comment-1"
    # the marker is not part of what the reader sees
    assert reply.text == "Eleven weeks sounds familiar; which area are you in?"
    assert "In reply to" not in reply.text
    parents = resolve_parents(parsed.comments)
    assert parents[reply.guid] == f"{BASE}/?p=100#comment-1"
    assert sum(p is not None for p in parents.values()) == 1
    assert reply.published == datetime(2026, 3, 11, 10, 5, tzinfo=UTC)


def test_atom_thr_in_reply_to_nests_two_deep() -> None:
    base = "https://homecare.example"
    parsed = parse_comments(atom_comments(base, THREAD), f"{base}/posts/7/comments.xml")
    by_author = {c.guid.rsplit("-", 1)[1]: c for c in parsed.comments}
    assert by_author["11"].author_link == f"{base}/people/11"
    assert by_author["13"].text == "Travel time was paid where I worked before."
    parents = resolve_parents(parsed.comments)
    tag = "tag:homecare.example,2026:comment-"
    assert parents[tag + "11"] is None  # names the post: top level
    assert parents[tag + "12"] == tag + "11"
    assert parents[tag + "13"] == tag + "12"
    assert parents[tag + "14"] is None


def test_parse_comments_refuses_what_parse_feed_refuses() -> None:
    with pytest.raises(ParseError, match="entities"):
        parse_comments(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><rss/>', BASE)
    with pytest.raises(ParseError, match="HTML"):
        parse_comments(b"<html><body>Sorry</body></html>", BASE)
    with pytest.raises(ParseError):
        parse_comments(b"", BASE)


def test_hostile_comment_text_is_cleaned() -> None:
    nasty = [C(1, "[@click=app.quit]x[/]", 60, "Hello\x1b]52;c;ZXZpbA==\x07 there")]
    parsed = parse_comments(wordpress_comments(BASE, "p", nasty), BASE)
    [c] = parsed.comments
    assert c.author == "[@click=app.quit]x[/]"  # cleaned, and kept literal for render.py
    assert c.text.startswith("Hello") and "\x1b" not in c.text and "\x07" not in c.text


# --------------------------------------------------------------------------- comments.py


def _comment(id: int, parent: int | None, minute: int) -> Comment:
    when = datetime(2026, 3, 11, tzinfo=UTC) + timedelta(minutes=minute)
    return Comment(id, 1, f"g{id}", None, f"a{id}", None, when, f"t{id}", parent, when)


def test_tree_puts_replies_under_parents_oldest_first() -> None:
    comments = [_comment(1, None, 0), _comment(2, 1, 5), _comment(3, None, 3), _comment(4, 2, 9)]
    flat = [(depth, c.id) for depth, c in flatten(build_tree(comments))]
    assert flat == [(0, 1), (1, 2), (2, 4), (0, 3)]


def test_tree_survives_loops_missing_parents_and_deep_chains() -> None:
    looped = [_comment(1, 2, 0), _comment(2, 1, 1), _comment(3, 99, 2), _comment(4, 4, 3)]
    flat = flatten(build_tree(looped))
    assert sorted(c.id for _, c in flat) == [1, 2, 3, 4]
    chain = [_comment(i, i - 1 if i else None, i) for i in range(5000)]
    flat = flatten(build_tree(chain))
    assert len(flat) == 5000 and flat[-1][0] == 4999


def test_comment_feed_addresses() -> None:
    assert comment_key("/?p=882#comment-171") == "comment-171"
    assert comment_key("https://x.example/post/") is None
    assert guess_wordpress_feed("https://x.example/2026/03/post/") == (
        "https://x.example/2026/03/post/feed/"
    )
    assert guess_wordpress_feed("https://x.example/post") == "https://x.example/post/feed/"
    assert guess_wordpress_feed("https://x.example/?p=5") == "https://x.example/?p=5&feed=rss2"
    feed = "https://x.example/feed/"
    assert comment_feed_url(None, "https://x.example/a/", "WordPress 6.4", feed) == (
        "https://x.example/a/feed/",
        None,
    )
    assert comment_feed_url(None, "https://x.example/a/", "Ghost 5", feed) == (None, None)
    assert comment_feed_url("https://evil.example/c", None, None, feed)[1] == REFUSED_SITE
    assert comment_feed_url("http://x.example/c", None, None, feed)[1] == REFUSED_SITE
    assert comment_feed_url("https://x.example:8443/c", None, None, feed)[1] == REFUSED_SITE
    assert comment_feed_url("file:///etc/passwd", None, None, feed)[1] == (
        "comment feed refused: not http(s) (file: URL)"
    )
    assert comment_feed_url("https:///nohost", None, None, feed)[1] == REFUSED_SCHEME
    assert same_site("https://X.example:443/c", feed)


# --------------------------------------------------------------------------- polling


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Carefeed]:
    carefeed = Carefeed.open(make_home(tmp_path / "home"))
    yield carefeed
    carefeed.close()


def poll(app: Carefeed) -> None:
    async def run() -> None:
        async for _ in app.poll():
            pass

    asyncio.run(run())


def poll_comments(app: Carefeed) -> list[CommentEvent]:
    async def run() -> list[CommentEvent]:
        return [e async for e in app.poll_comments()]

    return asyncio.run(run())


def entry_titled(app: Carefeed, start: str) -> Entry:
    return next(e for e in app.entries(limit=None) if e.title.startswith(start))


def serve_wordpress(server: FeedServer, **site: object) -> str:
    base = server.base_url
    server.add(
        "/2026/03/respite-waiting-lists/feed/",
        wordpress_comments(base, "respite-waiting-lists", RESPITE),
    )
    url = server.add("/feed/", wordpress_site(base, **site))  # type: ignore[arg-type]
    return url


def recent(days: int = 1) -> tuple[str, str]:
    from email.utils import format_datetime

    now = utc_now()
    return (
        format_datetime(now - timedelta(days=days), usegmt=True),
        format_datetime(now - timedelta(days=days, hours=2), usegmt=True),
    )


def test_refresh_comments_threads_a_wordpress_post(app: Carefeed, feed_server: FeedServer):
    url = serve_wordpress(feed_server)
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    post = entry_titled(app, "Respite")
    event = asyncio.run(app.refresh_comments(post.id))
    assert (event.status, event.new, event.total, event.error) == (PollStatus.UPDATED, 3, 3, None)
    comments = app.comments(post.id)
    assert [c.author for c in comments] == ["Maya Patel", "Tom Reilly", "Jo Evans"]
    maya, _, jo = comments
    assert jo.parent == maya.id and maya.parent is None
    assert [(d, c.author) for d, c in flatten(build_tree(comments))] == [
        (0, "Maya Patel"),
        (1, "Jo Evans"),
        (0, "Tom Reilly"),
    ]


def test_atom_comment_feed_nests_two_deep(app: Carefeed, feed_server: FeedServer):
    base = feed_server.base_url
    comments_url = feed_server.add(
        "/posts/7/comments.xml", atom_comments(base, THREAD), content_type="application/atom+xml"
    )
    url = feed_server.add(
        "/atom.xml", atom_site(base, comments_url, total=4), content_type="application/atom+xml"
    )
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    [post] = app.entries()
    assert post.comments_feed == comments_url and post.comment_count == 4
    assert asyncio.run(app.refresh_comments(post.id)).total == 4
    tree = [(d, c.author, c.text[:12]) for d, c in flatten(build_tree(app.comments(post.id)))]
    assert tree == [
        (0, "Anna Kowalska", "Fifteen minu"),
        (1, "Ray Dunn", "Agreed, and "),
        (2, "Anna Kowalska", "Travel time "),
        (0, "Bea Short", "Has anyone a"),
    ]


def test_second_fetch_is_conditional(app: Carefeed, feed_server: FeedServer):
    url = serve_wordpress(feed_server)
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    post = entry_titled(app, "Respite")
    asyncio.run(app.refresh_comments(post.id))
    event = asyncio.run(app.refresh_comments(post.id))
    assert event.status is PollStatus.NOT_MODIFIED
    first, second = feed_server.requests_for("/2026/03/respite-waiting-lists/feed/")
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == app.comment_state(post.id).etag
    assert len(app.comments(post.id)) == 3


def test_wordpress_post_without_wfw_gets_its_feed_guessed(app: Carefeed, feed_server: FeedServer):
    url = serve_wordpress(feed_server, comment_feeds=(None, None))
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    post = entry_titled(app, "Respite")
    assert post.comments_feed is None
    event = asyncio.run(app.refresh_comments(post.id))
    assert event.url == feed_server.url("/2026/03/respite-waiting-lists/feed/")
    assert event.total == 3


@pytest.mark.parametrize("route", ["missing", "garbage"])
def test_a_broken_comment_feed_costs_one_line(app: Carefeed, feed_server: FeedServer, route: str):
    url = serve_wordpress(feed_server)
    if route == "garbage":
        feed_server.add(
            "/2026/03/respite-waiting-lists/feed/",
            b"\x00\x01 not xml at all",
            content_type="text/plain",
        )
    else:
        feed_server.error("/2026/03/respite-waiting-lists/feed/", 404)
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    post = entry_titled(app, "Respite")
    event = asyncio.run(app.refresh_comments(post.id))
    assert event.status is PollStatus.ERROR
    assert event.error and "\n" not in event.error and len(event.error) <= 200
    assert ("404" in event.error) if route == "missing" else ("not a feed" in event.error)
    assert app.comment_state(post.id).error == event.error
    # the post still reads
    assert app.entry(post.id).title.startswith("Respite") and app.comments(post.id) == []


def test_comment_feed_on_another_site_is_never_fetched(app: Carefeed, feed_server: FeedServer):
    with FeedServer() as other:
        target = other.add("/admin/reboot", b"<rss/>")
        url = serve_wordpress(feed_server, comment_feeds=(target, None))
        app.store.add_feed(Subscription(url=url), utc_now())
        poll(app)
        post = entry_titled(app, "Respite")
        event = asyncio.run(app.refresh_comments(post.id))
        assert event.error == REFUSED_SITE
        assert app.comment_state(post.id).error == REFUSED_SITE
        assert other.requests == []


def test_poll_comments_new_since_last_read(app: Carefeed, feed_server: FeedServer):
    url = serve_wordpress(feed_server, dates=recent())
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    [event] = poll_comments(app)  # the second post says it has 0 comments
    assert event.new == 3
    post = entry_titled(app, "Respite")
    assert post.comments_stored == 3 and post.new_comments == 0  # never opened: no marker
    app.mark_comments_seen(post.id)
    more = [*RESPITE, C(4, "Dee Clarke", 11 * 60, "Ask for a carer's assessment first.", 2)]
    feed_server.set(
        "/2026/03/respite-waiting-lists/feed/",
        wordpress_comments(feed_server.base_url, "respite-waiting-lists", more),
    )
    [event] = poll_comments(app)
    assert event.new == 1
    post = entry_titled(app, "Respite")
    assert (post.comments_stored, post.comments_seen, post.new_comments) == (4, 3, 1)
    dee = app.comments(post.id)[-1]
    assert dee.parent == app.comments(post.id)[1].id  # Tom Reilly
    app.mark_comments_seen(post.id)
    assert entry_titled(app, "Respite").new_comments == 0


def test_poll_comments_keeps_to_its_budget(tmp_path: Path, feed_server: FeedServer):
    home = make_home(tmp_path / "home")
    (home / "config.toml").write_text((home / "config.toml").read_text() + "", encoding="utf-8")
    text = (home / "config.toml").read_text()
    (home / "config.toml").write_text("comment_budget = 3\n" + text, encoding="utf-8")
    base = feed_server.base_url
    feeds = []
    for n in range(4):
        site = wordpress_site(
            base,
            counts=(2, 2),
            comment_feeds=(f"{base}/c/{n}a", f"{base}/c/{n}b"),
            dates=recent(),
        )
        feeds.append(feed_server.add(f"/feed{n}/", site))
        for s in "ab":
            feed_server.add(f"/c/{n}{s}", wordpress_comments(base, f"p{n}{s}", RESPITE[:2]))
    with Carefeed.open(home) as app:
        for url in feeds:
            app.store.add_feed(Subscription(url=url), utc_now())
        poll(app)
        feed_server.reset_log()
        events = poll_comments(app)
    assert len(events) == 3
    assert sum(r.path.startswith("/c/") for r in feed_server.requests) == 3


def test_old_posts_are_refreshed_only_when_their_count_changes(
    app: Carefeed, feed_server: FeedServer
):
    url = serve_wordpress(feed_server, dates=recent(days=60))
    app.store.add_feed(Subscription(url=url), utc_now())
    poll(app)
    assert len(poll_comments(app)) == 1  # never fetched: its count is news
    assert poll_comments(app) == []  # same count, old post: left alone
    feed_server.set("/feed/", wordpress_site(feed_server.base_url, counts=(4, 0), dates=recent(60)))
    poll(app)
    assert len(poll_comments(app)) == 1


# --------------------------------------------------------------------------- the CLI


def test_cli_comments_and_show_json(tmp_path: Path, feed_server: FeedServer):
    home = make_home(tmp_path / "home")
    url = serve_wordpress(feed_server)
    run_cli(home, "add", url)
    post = next(e for e in cli_json(home, "entries") if e["title"].startswith("Respite"))
    assert cli_json(home, "show", str(post["id"]))["comments"] == []
    text = run_cli(home, "comments", str(post["id"])).stdout.decode()
    lines = text.splitlines()
    maya = next(i for i, ln in enumerate(lines) if ln.startswith("Maya Patel"))
    assert lines[maya + 3].startswith("    ↳ Jo Evans")
    assert "    ↳ Jo Evans" in text and "In reply to" not in text
    shown = cli_json(home, "show", str(post["id"]))
    comments = shown["comments"]
    assert [c["author"] for c in comments] == ["Maya Patel", "Tom Reilly", "Jo Evans"]
    assert comments[2]["parent"] == comments[0]["id"]
    assert comments[0]["published"] == "2026-03-11T09:00:00Z"
    assert set(comments[0]) >= {"id", "guid", "link", "author", "published", "text", "parent"}
    listed = next(e for e in cli_json(home, "entries") if e["id"] == post["id"])
    assert (listed["comments_cached"], listed["new_comments"]) == (3, 0)
    cached = cli_json(home, "comments", str(post["id"]), "--cached")
    assert len(cached["comments"]) == 3 and cached["error"] is None
    hits = feed_server.hits("/2026/03/respite-waiting-lists/feed/")
    assert hits == 1  # --cached made no request


def test_cli_poll_comments(tmp_path: Path, feed_server: FeedServer):
    home = make_home(tmp_path / "home")
    url = serve_wordpress(feed_server, dates=recent())
    run_cli(home, "add", url)
    report = cli_json(home, "poll", "--comments")
    assert [(c["status"], c["new"]) for c in report["comments"]] == [("ok", 3)]
    text = run_cli(home, "poll", "--comments").stdout.decode()
    assert "comments: 1 posts refreshed, 0 failed; 0 new comments" in text


def test_a_non_http_comment_feed_is_refused_out_loud(tmp_path: Path, feed_server: FeedServer):
    """wfw:commentRss file:///etc/passwd is neither fetched nor silently dropped: the post
    keeps the address, and every view of its comments says "comment feed refused: …"."""
    home = make_home(tmp_path / "home")
    url = serve_wordpress(feed_server, comment_feeds=("file:///etc/passwd", "javascript:x()"))
    run_cli(home, "add", url)
    refused = "comment feed refused: not http(s) (file: URL)"
    entries = cli_json(home, "entries")
    post = next(e for e in entries if e["title"].startswith("Respite"))
    other = next(e for e in entries if e["title"].startswith("Day centre"))
    assert post["comments_feed"].startswith("file:")  # kept (feedparser folds the ///)
    shown = cli_json(home, "show", str(post["id"]))
    assert shown["comments_error"] == refused and shown["comments"] == []
    assert cli_json(home, "show", str(other["id"]))["comments_error"] == (
        "comment feed refused: not http(s) (javascript: URL)"
    )
    assert refused in run_cli(home, "show", str(post["id"])).stdout.decode()
    result = run_cli(home, "comments", str(post["id"]))
    assert result.stderr.decode().strip().endswith(refused)
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert cli_json(home, "comments", str(post["id"]), "--cached")["error"] == refused
    assert cli_json(home, "comments", str(post["id"]))["error"] == refused
    assert {r.path for r in feed_server.requests} == {"/feed/"}  # nothing else was asked for
