"""The reader (pilot) under hostile feed text: HOSTILE.md §3 cases 1-4, 12, 13 and 15.

The cache comes from reader_kit.seed_hostile: raw hostile strings in every field, as an
older carefeed might have stored them, so tui/render.py's own cleaning is what is tested.
Two spies watch for a feed string turning into an action: ``App.action_quit`` (what the
payloads ask for) and ``App._broker_event`` (Textual's one door from a ``@click`` style in
rendered text to an action; it returns True when it ran one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reader_kit import (
    BIDI,
    BRACKETS,
    MARKUP_ACTION,
    MARKUP_BYPASS,
    MARKUP_CRASH,
    NOW,
    STYLE_MARKUP,
    browser_script,
    screen_text,
    seed_hostile,
)
from reader_kit import settle as _settle

from carefeed.api import Carefeed
from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.feed_errors import FeedErrorsScreen
from carefeed.tui.screens.main import MainScreen
from carefeed.tui.screens.tag_picker import TagPicker
from carefeed.tui.widgets.post_view import PostView
from commentfeeds import C, wordpress_comments
from feedserver import FeedServer
from homes import make_home, opml_for, run_cli
from screens import main_screen as main

pytestmark = pytest.mark.tui

SIZE = (130, 40)
WIDE = (220, 50)  # for the checks of whole titles in the list and the post pane


def clock() -> Any:
    return NOW


class Spies:
    """Record every action that came out of rendered text, and every app.quit."""

    def __init__(self, app: CarefeedApp) -> None:
        self.from_text: list[str] = []
        self.quits = 0
        broker = app._broker_event

        async def spy_broker(name: str, event: Any, default_namespace: Any) -> bool:
            handled = await broker(name, event, default_namespace)
            if handled:
                self.from_text.append(f"{name}: {getattr(event, 'style', None)!r}")
            return handled

        def spy_quit() -> None:
            self.quits += 1

        app._broker_event = spy_broker  # type: ignore[method-assign]
        app.action_quit = spy_quit  # type: ignore[method-assign]

    def assert_inert(self, app: CarefeedApp) -> None:
        assert app.is_running
        assert self.quits == 0 and self.from_text == [], (self.quits, self.from_text)


async def settle(app: CarefeedApp, pilot: Any) -> None:
    await _settle(app, pilot)


async def click_every(app: CarefeedApp, pilot: Any, needle: str, *, limit: int = 2) -> int:
    """Click the first and middle cell of the first ``limit`` places ``needle`` shows on
    screen (each click repaints, so a few places per screen)."""
    clicks = 0
    lines = screen_text(app).splitlines()
    spots = []
    for y, line in enumerate(lines):
        at = line.find(needle)
        while at >= 0 and len(spots) < limit:
            spots.append((y, at))
            at = line.find(needle, at + len(needle))
    for y, x in spots:
        for dx in (0, len(needle) // 2):
            await pilot.click(offset=(x + dx, y))
            clicks += 1
    await settle(app, pilot)
    return clicks


def notes(app: CarefeedApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_guid(app: CarefeedApp, pilot: Any, guid: str, *, enter: bool = True) -> None:
    """Put the list's cursor on ``guid`` (and open it)."""
    entries = main(app).entries
    for index in range(entries.total):
        entry = entries.entry_at(index)
        if entry is not None and entry.guid == guid:
            entries._move_to(index)
            break
    else:
        pytest.fail(f"{guid} is not in the list")
    await pilot.pause()
    if enter:
        await pilot.press("enter")
    await settle(app, pilot)


@pytest.fixture
def hostile_api(tmp_path: Path) -> Any:
    seed_hostile(tmp_path / "home")
    api = Carefeed.open(tmp_path / "home")
    yield api
    api.close()


async def _markup_is_inert(api: Carefeed, needles: list[str]) -> None:
    app = CarefeedApp(api, clock=clock, preview_delay=0)
    async with app.run_test(size=SIZE) as pilot:
        spies = Spies(app)
        await settle(app, pilot)
        clicks = 0
        # list rows, chips, feed names, the sidebar's feed titles and folder tags
        for needle in needles:
            assert needle in screen_text(app), needle
            clicks += await click_every(app, pilot, needle)
            spies.assert_inert(app)
        # the post (title, author, categories, body) and its comments (author, text)
        await open_guid(app, pilot, "with-comments")
        await pilot.press("c")
        await settle(app, pilot)
        text = screen_text(app)
        assert MARKUP_ACTION in text
        for needle in needles:
            if needle in text:
                clicks += await click_every(app, pilot, needle)
        spies.assert_inert(app)
        # the feed-errors screen (feed title and error message)
        await pilot.press("escape", "e")
        await settle(app, pilot)
        assert isinstance(app.screen, FeedErrorsScreen)
        for needle in needles:
            if needle in screen_text(app):
                clicks += await click_every(app, pilot, needle)
        spies.assert_inert(app)
        assert clicks >= 8, clicks  # the clicks landed on hostile text, many times


@pytest.mark.case(1, "markup action in title/feed/author/comment", "literal; clicking runs nothing")
async def test_markup_actions_are_literal_and_inert(hostile_api: Carefeed):
    await _markup_is_inert(hostile_api, [MARKUP_ACTION])


@pytest.mark.case(3, "escape()-bypass markup actions", "literal; clicking runs nothing")
async def test_escape_bypass_markup_is_literal_and_inert(hostile_api: Carefeed):
    await _markup_is_inert(hostile_api, MARKUP_BYPASS)


@pytest.mark.case(2, "markup that crashes (MarkupError)", "literal; list, post, picker, palette")
async def test_crashing_markup_is_literal(hostile_api: Carefeed):
    app = CarefeedApp(hostile_api, clock=clock, preview_delay=0)
    async with app.run_test(size=SIZE) as pilot:
        spies = Spies(app)
        await settle(app, pilot)
        text = screen_text(app)
        for title in MARKUP_CRASH:
            assert title in text, title
        # each post with one of them, opened
        for guid in ("m1", "m2", "m3", "m4"):  # each previewed in the post pane
            await open_guid(app, pilot, guid, enter=False)
            post = app.screen.query_one(PostView).query("Static")
            shown = "\n".join(str(s.render()) for s in post)
            assert any(t in shown for t in MARKUP_CRASH), shown[:500]
        # the tag picker lists them as categories; typing narrows to them
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TagPicker)
        await pilot.press(*"Budget")
        await settle(app, pilot)
        assert "Budget [/bold] cuts" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        # the palette searched for them (it offers no feed text, and must not break)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await pilot.press(*"Budget [/bold] cuts [/")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        # the search box too
        await pilot.press("slash", *"[/", "enter")
        await settle(app, pilot)
        spies.assert_inert(app)
        assert isinstance(app.screen, MainScreen)


@pytest.mark.case(4, "ordinary brackets in titles, categories", "brackets and words on screen")
async def test_ordinary_brackets_are_shown(hostile_api: Carefeed):
    app = CarefeedApp(hostile_api, clock=clock, preview_delay=0)
    async with app.run_test(size=WIDE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert BRACKETS in text
        rows = [main(app).entries.render_line(y).text for y in range(main(app).entries.size.height)]
        # a narrow list cuts the title, but what shows keeps its bracket (F3 dropped
        # "[Green Paper]" and left "Adult social care  response")
        row = next(r for r in rows if "Adult social care" in r)
        assert "Adult social care [Gre" in row, row
        assert any("[Archive]" in r for r in rows), rows
        await open_guid(app, pilot, "m7")
        post = "\n".join(str(s.render()) for s in app.screen.query_one(PostView).query("Static"))
        assert BRACKETS in post and "[Archive]" in post
        # style markup is text too: shown with its brackets, and it styles nothing
        await open_guid(app, pilot, "m10")
        assert STYLE_MARKUP in screen_text(app)


@pytest.mark.case(12, "bidi and zero-width in the reader", "no overrides on screen or in the link")
async def test_bidi_never_reaches_the_post_view(tmp_path: Path):
    seed_hostile(
        tmp_path / "home",
        links=["http://example.org/\u202efdp.exe", "http://example.org/a\u200bb/\u2066x\u2069"],
    )
    with Carefeed.open(tmp_path / "home") as api:
        app = CarefeedApp(api, clock=clock, preview_delay=0)
        async with app.run_test(size=WIDE) as pilot:
            await settle(app, pilot)
            for guid in ("m0", "m1"):
                await open_guid(app, pilot, guid)
                text = screen_text(app)
                for ch in ("\u202e", "\u2066", "\u2069", "\u200b"):
                    assert ch not in text, (guid, ch)
                post = app.screen.query_one(PostView).query("Static")
                shown = "\n".join(str(s.render()) for s in post)
                for ch in ("\u202e", "\u2066", "\u2069", "\u200b"):
                    assert ch not in shown, (guid, ch)
                assert "Invoice gnp.exe" in shown  # the override went, the words stayed
                assert "funding" in shown
                await pilot.press("q")
            assert BIDI[0] not in screen_text(app)


DANGEROUS = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "--renderer-cmd-prefix=/bin/sh",
    "-https://example.org/x",
    "http://example.com/%action",
    "feed:http://example.org/feed",
    "vbscript:msgbox(1)",
    " JAVASCRIPT:alert(1)",
]


@pytest.mark.case(13, "dangerous links: o in the reader", "refused in one line; browser never run")
async def test_o_refuses_dangerous_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    script, log = browser_script(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))
    fine = "https://example.org/fine?a=1"
    seeded = seed_hostile(tmp_path / "home", links=[*DANGEROUS, fine])
    guids = [f"m{i}" for i in range(len(DANGEROUS) + 1)]
    with Carefeed.open(seeded.home) as api:
        app = CarefeedApp(api, clock=clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            spies = Spies(app)
            await settle(app, pilot)
            for guid, link in zip(guids, [*DANGEROUS, fine], strict=True):
                await open_guid(app, pilot, guid, enter=False)  # previewed, not opened
                before = len(notes(app))
                await pilot.press("o")
                await settle(app, pilot)
                await app.workers.wait_for_complete()
                if link is fine:
                    continue
                assert not log.exists(), (link, log.read_text())
                said = notes(app)[before:]
                assert len(said) == 1 and said[0].startswith("Not opened"), (link, said)
                assert "\n" not in said[0] and len(said[0]) <= 200
                # shown as inert text, never as a link line
                post = screen_text(app)
                assert "Link: javascript" not in post and "Link: data" not in post
            spies.assert_inert(app)
    # the one http(s) link went to the browser, as one re-serialised argument
    assert log.read_text().splitlines() == [fine]


# --------------------------------------------------------------------------- case 15


def _elsewhere_feed(base: str, other: str) -> bytes:
    targets = {
        "other-origin": f"{other}/admin/reboot",
        "other-port-same-host": other.rsplit(":", 1)[0] + ":9/admin/reboot",
        "file": "file:///etc/passwd",
        "not-a-url": "this is the new val",
        "javascript": "javascript:alert(1)",
    }
    items = "".join(
        f"<item><title>Post {key}</title><link>{base}/p/{key}/</link>"
        f"<guid isPermaLink='false'>{key}</guid>"
        f"<pubDate>Wed, 11 Mar 2026 1{n}:00:00 +0000</pubDate>"
        f"<description>About {key}.</description>"
        f"<wfw:commentRss>{url}</wfw:commentRss><slash:comments>3</slash:comments></item>"
        for n, (key, url) in enumerate(targets.items())
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0' "
        "xmlns:wfw='http://wellformedweb.org/CommentAPI/' "
        "xmlns:slash='http://purl.org/rss/1.0/modules/slash/'><channel>"
        f"<title>Elsewhere</title><link>{base}/</link>{items}</channel></rss>"
    ).encode()


@pytest.mark.case(15, "comment feed pointing elsewhere", "never fetched; 'refused: different site'")
async def test_comment_feed_on_another_site_is_never_fetched(
    tmp_path: Path, server: FeedServer, feed_server: FeedServer
):
    other = feed_server  # a second loopback server: another origin (port)
    other.add("/admin/reboot", wordpress_comments(other.base_url, "x", [C(1, "Evil", 60, "hi")]))
    url = server.add("/elsewhere.xml", _elsewhere_feed(server.base_url, other.base_url))
    home = make_home(tmp_path / "home")
    opml = tmp_path / "elsewhere.opml"
    opml.write_bytes(opml_for({"Elsewhere": url}))
    run_cli(home, "import", str(opml))
    polled = run_cli(home, "poll", "--comments", "--json")
    assert b"Traceback" not in polled.stderr
    refused = {e["entry_id"]: e for e in _json(polled.stdout).get("comments", [])}
    with Carefeed.open(home) as api:
        entries = {e.guid: e.id for e in api.entries(limit=None)}
    assert len(entries) == 5
    # the poll's comment pass reports the other-origin feed refused, and fetches nothing
    event = refused.get(entries["other-origin"])
    assert event is None or event["error"] == "comment feed refused: different site", event
    shown = _json(run_cli(home, "comments", str(entries["other-origin"]), "--json").stdout)
    assert shown["error"] == "comment feed refused: different site"
    assert shown["comments"] == []
    # the reader opening each post asks for its comments: still nothing fetched elsewhere
    with Carefeed.open(home) as api:
        app = CarefeedApp(api, clock=clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await open_guid(app, pilot, "other-origin")
            assert "comment feed refused: different site" in screen_text(app)
            for key in ("other-port-same-host", "file", "not-a-url", "javascript"):
                await pilot.press("q")
                await open_guid(app, pilot, key)
            assert app.is_running
    assert other.hits("/admin/reboot") == 0
    assert other.requests == [], other.requests
    # only the feed itself was asked for on its own server: nothing guessed or followed
    paths = {r.path for r in server.requests}
    assert paths == {"/elsewhere.xml"}, paths


def _json(data: bytes) -> Any:
    import json

    return json.loads(data)
