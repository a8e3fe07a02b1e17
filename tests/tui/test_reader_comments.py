"""Pilot tests of comments in the reader: open a post, press c, read the thread."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.model import Subscription, utc_now
from carefeed.tui.app import CarefeedApp
from carefeed.tui.widgets.entry_list import EntryList
from carefeed.tui.widgets.post_view import CommentTree, PostView
from commentfeeds import RESPITE, C, wordpress_comments, wordpress_site
from conftest import fixed_clock, list_rows, screen_text, settle, static_text
from feedserver import FeedServer
from homes import make_home

pytestmark = pytest.mark.tui

SIZE = (180, 50)
HOSTILE = "[@click=app.quit]x[/]"
COMMENTS = "/2026/03/respite-waiting-lists/feed/"


def serve(server: FeedServer, comments: list[C]) -> str:
    base = server.base_url
    server.add(COMMENTS, wordpress_comments(base, "respite-waiting-lists", comments))
    return server.add("/feed/", wordpress_site(base))


async def subscribed(home: Path, url: str) -> Carefeed:
    api = Carefeed.open(make_home(home))
    api.store.add_feed(Subscription(url=url), utc_now())
    async for _ in api.poll():
        pass
    return api


async def open_respite(app: CarefeedApp, pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await settle(app, pilot)
    entries = app.screen.query_one(EntryList)
    while entries.current is None or not entries.current.title.startswith("Respite"):
        await pilot.press("j")
    await pilot.press("enter")
    await settle(app, pilot)


async def test_c_shows_the_thread_with_replies_indented(tmp_path: Path, feed_server: FeedServer):
    hostile = C(5, HOSTILE, 11 * 60, "A [bold]bracketed[/] comment, kept as it is.", 1)
    url = serve(feed_server, [*RESPITE, hostile])
    api = await subscribed(tmp_path / "home", url)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_respite(app, pilot)
        assert feed_server.hits(COMMENTS) == 1  # opening the post fetched its comments
        await pilot.press("c")
        await settle(app, pilot)
        tree = app.screen.query_one(CommentTree)
        assert app.focused is tree
        top = [n.label.plain for n in tree.root.children]
        assert [t.split(" · ")[0] for t in top] == ["Maya Patel", "Tom Reilly"]
        maya = tree.root.children[0]
        replies = [n.label.plain.split(" · ")[0] for n in maya.children if n.data is not None]
        assert replies == ["Jo Evans", HOSTILE]
        text = screen_text(app)
        lines = text.splitlines()
        maya_row = next(ln for ln in lines if "Maya Patel ·" in ln)
        jo_row = next(ln for ln in lines if "Jo Evans ·" in ln)
        assert jo_row.index("Jo Evans") > maya_row.index("Maya Patel")  # indented under her
        assert HOSTILE + " ·" in text  # literal, not markup
        assert "[bold]bracketed[/]" in text
        # the feed said 3, the comment feed holds 4: the larger number is shown
        assert static_text(app, "#post-comments").startswith("Comments (4)")
        # enter folds Maya's thread: her replies leave the screen
        await pilot.press("enter")
        await settle(app, pilot)
        assert not maya.is_expanded
        assert "Jo Evans ·" not in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert maya.is_expanded
        # the hostile author is a plain Text label: no span carries an action
        [hostile_node] = [n for n in maya.children if n.label.plain.startswith(HOSTILE)]
        assert all(
            isinstance(span.style, str) or not span.style.meta for span in hostile_node.label.spans
        )
        await pilot.press("q")  # q from the comments goes back to the list, not out
        await settle(app, pilot)
        assert app.is_running and app.focused is app.screen.query_one(EntryList)


async def test_broken_comment_feed_is_one_line_and_the_post_reads(
    tmp_path: Path, feed_server: FeedServer
):
    url = serve(feed_server, RESPITE)
    feed_server.error(COMMENTS, 404)
    api = await subscribed(tmp_path / "home", url)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_respite(app, pilot)
        post = app.screen.query_one(PostView)
        assert post.comment_error is not None and "404" in post.comment_error
        text = screen_text(app)
        assert "Respite care waiting lists grow again" in text
        assert "Short summary of respite care" in text
        await pilot.press("c")
        await settle(app, pilot)
        assert app.is_running


async def test_list_marks_posts_with_new_comments(tmp_path: Path, feed_server: FeedServer):
    url = serve(feed_server, RESPITE)
    api = await subscribed(tmp_path / "home", url)
    respite = next(e for e in api.entries() if e.title.startswith("Respite"))
    await api.refresh_comments(respite.id)
    api.mark_comments_seen(respite.id)
    more = [
        *RESPITE,
        C(6, "Dee Clarke", 11 * 60, "Ask for a carer's assessment first.", 2),
        C(7, "Ola Ade", 12 * 60, "Thank you, that helps."),
    ]
    feed_server.set(
        COMMENTS, wordpress_comments(feed_server.base_url, "respite-waiting-lists", more)
    )
    await api.refresh_comments(respite.id)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        row = next(r for r in list_rows(app) if "Respite" in r)
        assert "2 new" in row and "❝5" in row
        await open_respite(app, pilot)
        row = next(r for r in list_rows(app) if "Respite" in r)
        assert "new" not in row  # read now
        labels = [n.label.plain for n in app.screen.query_one(CommentTree).root.children]
        assert any(label.startswith("Ola Ade") for label in labels)


def words(n: int) -> str:
    return " ".join(f"word{i:02d}" for i in range(1, n + 1))


async def test_comment_text_rewraps_when_the_pane_narrows(tmp_path: Path, feed_server: FeedServer):
    """Filled in a wide pane, the tree wraps again when the terminal narrows (and widens):
    every word of a long comment stays on the screen, none cut at the pane's edge."""
    long = C(30, "Lin Hale", 8 * 60, words(40))  # the oldest: first in the thread
    url = serve(feed_server, [long, *RESPITE])
    api = await subscribed(tmp_path / "home", url)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_respite(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        tree = app.screen.query_one(CommentTree)
        lin = tree.root.children[0]
        assert lin.label.plain.startswith("Lin Hale")
        wide_lines = len([n for n in lin.children if n.data is None])
        for width in (110, 180):
            await pilot.resize_terminal(width, SIZE[1])
            await settle(app, pilot)
            post = app.screen.query_one(PostView)
            post.focus_comments()
            await settle(app, pilot)
            text = screen_text(app)
            missing = [w for w in words(40).split() if not re.search(rf"\b{w}\b", text)]
            assert missing == [], f"cut at {width} columns: {missing}"
            lin = tree.root.children[0]
            lines = [n.label.plain for n in lin.children if n.data is None]
            assert " ".join(lines) == words(40)
            if width == 110:
                assert len(lines) > wide_lines  # narrower pane, more lines
            else:
                assert len(lines) == wide_lines


async def poll_with_r(app: CarefeedApp, pilot: object) -> None:
    from textual.pilot import Pilot

    from carefeed.tui.screens.main import MainScreen

    assert isinstance(pilot, Pilot)
    await pilot.press("R")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, MainScreen)
    for _ in range(200):
        if not screen.is_polling:
            break
        await pilot.pause(0.05)
    await settle(app, pilot)


def recent_site(server: FeedServer, comments: list[C]) -> str:
    from email.utils import format_datetime

    now = utc_now()
    dates = tuple(format_datetime(now - timedelta(hours=h), usegmt=True) for h in (3, 5))
    base = server.base_url
    server.add(COMMENTS, wordpress_comments(base, "respite-waiting-lists", comments))
    return server.add("/feed/", wordpress_site(base, dates=dates))  # type: ignore[arg-type]


@pytest.mark.parametrize("poll_comments", [True, False])
async def test_r_also_polls_comment_feeds_when_the_setting_says_so(
    tmp_path: Path, feed_server: FeedServer, poll_comments: bool
):
    url = recent_site(feed_server, RESPITE)
    home = tmp_path / "home"
    api = await subscribed(home, url)
    if not poll_comments:  # as the user writes it in config.toml
        config = home / "config.toml"
        config.write_text(config.read_text() + "\n[reader]\npoll_comments = false\n")
        api.close()
        api = Carefeed.open(home)
    assert api.settings.reader_poll_comments is poll_comments
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await poll_with_r(app, pilot)
        assert feed_server.hits("/feed/") == 2  # subscribed(), then R
        row = next(r for r in list_rows(app) if "Respite" in r)
        if poll_comments:
            assert feed_server.hits(COMMENTS) == 1  # the post was never opened
            assert api.entry(list_entry_id(app, "Respite")).comments_stored == 3
        else:
            assert feed_server.hits(COMMENTS) == 0
            assert api.entry(list_entry_id(app, "Respite")).comments_stored == 0
        assert "Respite" in row


def list_entry_id(app: CarefeedApp, start: str) -> int:
    return next(e.id for e in app.api.entries(limit=None) if e.title.startswith(start))


async def test_r_brings_new_comments_into_the_open_post(tmp_path: Path, feed_server: FeedServer):
    url = recent_site(feed_server, RESPITE)
    api = await subscribed(tmp_path / "home", url)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_respite(app, pilot)
        tree = app.screen.query_one(CommentTree)
        assert len(tree.root.children) == 2  # Maya (with Jo under her), Tom
        more = [*RESPITE, C(6, "Dee Clarke", 11 * 60, "Ask for a carer's assessment first.")]
        feed_server.set(
            COMMENTS, wordpress_comments(feed_server.base_url, "respite-waiting-lists", more)
        )
        await poll_with_r(app, pilot)
        labels = [n.label.plain for n in tree.root.children]
        assert [label.split(" · ")[0] for label in labels] == [
            "Maya Patel",
            "Tom Reilly",
            "Dee Clarke",
        ]
        assert static_text(app, "#post-comments").startswith("Comments (4)")


async def test_a_refused_comment_feed_says_why(tmp_path: Path, feed_server: FeedServer):
    base = feed_server.base_url
    url = feed_server.add(
        "/feed/", wordpress_site(base, comment_feeds=("file:///etc/passwd", None))
    )
    api = await subscribed(tmp_path / "home", url)
    app = CarefeedApp(api, clock=fixed_clock, preview_delay=0, close_api=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_respite(app, pilot)
        post = app.screen.query_one(PostView)
        assert post.comment_error == "comment feed refused: not http(s) (file: URL)"
        assert "comment feed refused: not http(s) (file: URL)" in screen_text(app)
        assert [r.path for r in feed_server.requests if r.path != "/feed/"] == []
