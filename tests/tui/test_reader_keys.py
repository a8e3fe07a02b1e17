"""Pilot tests: each key of the reader against a cache filled in a private home."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from textual import events

from carefeed.api import Carefeed
from carefeed.model import EntryFilter
from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.feed_errors import FeedErrorsScreen
from carefeed.tui.screens.help import HelpScreen
from carefeed.tui.screens.main import MainScreen
from carefeed.tui.screens.tag_picker import TagPicker
from carefeed.tui.screens.welcome import WelcomeScreen
from carefeed.tui.widgets.entry_list import EntryList
from carefeed.tui.widgets.post_view import PostView
from conftest import NOW, FeedSpec, Post, fixed_clock, list_rows, screen_text, seed, settle
from screens import browser_script
from screens import main_screen as main
from screens import status_text as status

pytestmark = pytest.mark.tui

SIZE = (120, 40)


def post_text(app: CarefeedApp) -> str:
    post = app.screen.query_one(PostView)
    return "\n".join(str(s.render()) for s in post.query("Static"))


async def fill_input(app: CarefeedApp, text: str) -> None:
    """Put ``text`` in the focused input at once (typing a long path key by key is slow)."""
    from textual.widgets import Input

    box = app.focused
    assert isinstance(box, Input)
    box.value = text


def notes(app: CarefeedApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_list_is_newest_first_with_unread_glyphs(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        rows = list_rows(app)
        assert "Hospital discharge: what changes" in rows[0]
        assert "Carers' breaks survey" in rows[1]
        assert rows[0].startswith("●")
        assert len(rows) == 11
        assert "11 posts" in status(app)
        assert "All posts" in status(app)
        assert "30m" in rows[0] and "1h" in rows[1]
        # the post pane previews the post under the cursor
        assert "Hospital discharge: what changes this winter" in post_text(app)


async def test_j_k_move_and_enter_opens_and_marks_read(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        entries = app.screen.query_one(EntryList)
        await pilot.press("j", "j")
        assert entries.cursor == 2
        await pilot.press("k")
        assert entries.cursor == 1
        await pilot.press("down")
        assert entries.cursor == 2
        await pilot.press("up")
        current = entries.current
        assert current is not None and current.title == "Carers' breaks survey results"
        await settle(app, pilot)
        assert "Carers' breaks survey results" in post_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.focused is app.screen.query_one(PostView)
        assert app.api.entry(current.id).read
        assert not list_rows(app)[1].startswith("●")
        # q goes back to the list, not out of the app
        await pilot.press("q")
        assert app.is_running
        assert app.focused is entries


async def test_tab_cycles_panes(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = main(app)
        assert app.focused is screen.entries
        await pilot.press("tab")
        assert app.focused is screen.post
        await pilot.press("tab")
        assert app.focused is screen.sidebar
        await pilot.press("tab")
        assert app.focused is screen.entries
        await pilot.press("shift+tab")
        assert app.focused is screen.sidebar


async def test_t_picks_a_tag(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, TagPicker)
        await pilot.press(*"dementia")
        await settle(app, pilot)
        # the topic first, then the blogs' own category of that name
        assert [kind for _, kind in picker.shown] == ["topic", "category"]
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        rows = list_rows(app)
        assert len(rows) == 2
        assert any("Dementia and the carer" in r for r in rows)
        assert any("Supervision that helps" in r for r in rows)
        assert "tag Dementia" in status(app)
        assert "2 posts" in status(app)


async def test_t_combines_several_with_space(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        # topics come first: "down" moves past the topic to the tag / category
        await pilot.press(*"carers", "down", "space", "backspace", "backspace", "backspace")
        await pilot.press("backspace", "backspace", "backspace", *"dementia", "down", "space")
        await pilot.press("enter")
        await settle(app, pilot)
        rows = list_rows(app)
        assert len(rows) == 1 and "Dementia and the carer" in rows[0]
        assert "tags Carers + Dementia" in status(app)
        # a feed tag (OPML folder) works like a category
        await pilot.press("escape", "t", *"adult")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, TagPicker)
        assert [kind for _, kind in picker.shown] == ["topic", "tag"]
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert len(list_rows(app)) == 4


async def test_slash_searches_as_you_type_and_escape_clears(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"reablement")
        await settle(app, pilot)
        rows = list_rows(app)
        assert len(rows) == 1 and "Hospital discharge" in rows[0]
        assert "search “reablement”" in status(app)
        await pilot.press("enter")
        assert app.focused is main(app).entries
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(list_rows(app)) == 11
        assert "All posts" in status(app)


async def test_keys_typed_in_a_burst_after_slash_land_in_the_search(app: CarefeedApp) -> None:
    """A fast typist or a paste: every key arrives before "/" has moved the focus."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for key, char in [("slash", "/"), *((c, c) for c in "reab")]:
            app.post_message(events.Key(key, char))
        await settle(app, pilot)
        assert main(app).search_input.value == "reab"
        assert "search “reab”" in status(app)
        assert len(list_rows(app)) == 1


async def test_u_shows_unread_only(app: CarefeedApp) -> None:
    first = app.api.entries(EntryFilter(), limit=1)[0]
    app.api.set_read([first.id])
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert len(list_rows(app)) == 10
        assert "Unread" in status(app)
        assert all(r.startswith("●") for r in list_rows(app))
        await pilot.press("u")
        await settle(app, pilot)
        assert len(list_rows(app)) == 11


async def test_r_and_s_toggle_read_and_star(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        entry = main(app).entries.current
        assert entry is not None
        await pilot.press("r")
        await settle(app, pilot)
        assert app.api.entry(entry.id).read
        assert list_rows(app)[0].startswith(" ")
        await pilot.press("r")
        assert not app.api.entry(entry.id).read
        await pilot.press("s")
        await settle(app, pilot)
        assert app.api.entry(entry.id).starred
        assert "★" in list_rows(app)[0]
        assert "★ starred" in post_text(app)


async def test_o_opens_http_links_only(
    app: CarefeedApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, log = browser_script(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        assert log.read_text().splitlines() == ["https://example.org/1/0"]
        # the javascript: post: refused with a one-line reason, nothing launched
        log.unlink()
        entries = main(app).entries
        for index in range(entries.total):
            entry = entries.entry_at(index)
            if entry is not None and entry.link == "javascript:alert(1)":
                entries._move_to(index)
                break
        else:
            pytest.fail("the javascript: post is missing")
        await pilot.press("o")
        await settle(app, pilot)
        assert not log.exists()
        assert any("Not opened" in n for n in notes(app))


@pytest.mark.parametrize(
    "link",
    [
        "data:text/html,x",
        "file:///etc/passwd",
        "--renderer-cmd-prefix=/bin/sh",
        "feed:x",
        "http://example.com/%action",
    ],
)
async def test_o_refuses_dangerous_links(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str
) -> None:
    script, log = browser_script(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))
    with Carefeed.open(home) as api:
        seed(api, [FeedSpec("F", [Post("One", 5, link=link)])])
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("o")
            await settle(app, pilot)
            assert not log.exists()
            assert app.is_running


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Care News</title>
<link>http://127.0.0.1/</link>
<item><title>Fresh from the loopback server</title><guid>lb-1</guid>
<link>https://example.org/lb/1</link><pubDate>Thu, 12 Mar 2026 09:00:00 +0000</pubDate>
<category>Loopback</category><description>Hello.</description></item>
<item><title>Second loopback post</title><guid>lb-2</guid>
<link>https://example.org/lb/2</link><pubDate>Thu, 12 Mar 2026 08:00:00 +0000</pubDate>
<description>Again.</description></item>
</channel></rss>"""


async def test_R_polls_and_the_list_updates(home: Path, feed_server: object) -> None:
    from feedserver import FeedServer

    assert isinstance(feed_server, FeedServer)
    url = feed_server.url("/loop.xml")
    feed_server.add("/loop.xml", RSS)
    with Carefeed.open(home) as api:
        seed(api, [FeedSpec("Loopback", [], url=url)])
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert list_rows(app) == []
            await pilot.press("R")
            for _ in range(100):
                await settle(app, pilot)
                if not main(app).is_polling:
                    break
            await settle(app, pilot)
            rows = list_rows(app)
            assert len(rows) == 2 and "Fresh from the loopback server" in rows[0]
            assert "polled just now" in status(app)
            assert any("Polled 1 feeds: 2 new posts" in n for n in notes(app))
            assert feed_server.hits("/loop.xml") == 1


async def test_R_reports_a_poll_running_elsewhere(app: CarefeedApp) -> None:
    with app.api.paths.poll_lock.open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("R")
            await settle(app, pilot)
            assert app.is_running
            assert any("already running" in n for n in notes(app))
            assert len(list_rows(app)) == 11


async def test_a_adds_a_feed(home: Path, feed_server: object) -> None:
    from feedserver import FeedServer

    assert isinstance(feed_server, FeedServer)
    url = feed_server.add("/added.xml", RSS)
    with Carefeed.open(home) as api:
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            if isinstance(app.screen, WelcomeScreen):  # first run: no subscriptions
                await pilot.press("escape")
            await pilot.press("a")
            await settle(app, pilot)
            await fill_input(app, url)
            await pilot.press("enter")
            for _ in range(100):
                await settle(app, pilot)
                if len(list_rows(app)) == 2:
                    break
            assert "Fresh from the loopback server" in list_rows(app)[0]
            assert any("Added Loopback Care News: 2 posts" in n for n in notes(app))


async def test_a_with_a_bad_address_notifies(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await fill_input(app, "javascript:alert(1)")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.is_running
        assert any("only http and https" in n for n in notes(app))


async def test_i_imports_opml_and_reports_bad_files(
    app: CarefeedApp, tmp_path: Path, feed_server: object
) -> None:
    from feedserver import FeedServer

    assert isinstance(feed_server, FeedServer)
    url = feed_server.add("/imported.xml", RSS)
    good = tmp_path / "subs.opml"
    good.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        f'<outline text="Loop"><outline type="rss" text="Imported" xmlUrl="{url}"/></outline>'
        "</body></opml>"
    )
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("i")
        await settle(app, pilot)
        await fill_input(app, str(bad))
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.is_running
        assert any("Import failed" in (n.title or "") for n in app._notifications)
        await pilot.press("i")
        await fill_input(app, str(good))
        await pilot.press("enter")
        for _ in range(100):
            await settle(app, pilot)
            if not main(app).is_polling and len(list_rows(app)) == 13:
                break
        assert any("Imported 1 feeds from subs.opml" in n for n in notes(app))
        assert len(list_rows(app)) == 13
        assert any(f.url == url and f.tags == ("Loop",) for f in app.api.feeds())


async def test_escape_clears_the_filter(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("u", "t", *"funding", "enter")
        await settle(app, pilot)
        assert len(list_rows(app)) == 4
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(list_rows(app)) == 11
        assert "All posts" in status(app)


async def test_q_quits(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_question_mark_shows_every_key(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for words in ("open the post", "tags and categories", "poll every feed", "command palette"):
            assert words in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_ctrl_p_palette_runs_reader_actions(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        await pilot.press(*"unread")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert "Unread" in status(app)


async def test_e_shows_feed_errors(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "⚠ Workforce Bulletin" in text
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, FeedErrorsScreen)
        assert "not a feed (HTML page)" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_sidebar_filters_by_feed(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("tab", "tab")  # to the sidebar
        sidebar = main(app).sidebar
        for _ in range(30):
            place = sidebar.highlighted_place
            if place is not None and place.kind == "feed" and place.name == "Carers Voice":
                break
            await pilot.press("j")
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(list_rows(app)) == 3
        assert "feed Carers Voice" in status(app)


async def test_hostile_titles_are_literal_and_inert(app: CarefeedApp) -> None:
    quits: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_quit = lambda: quits.append("quit")  # type: ignore[method-assign]
        rows = list_rows(app)
        text = screen_text(app)
        assert "[@click=app.quit]x[/]" in text
        assert "Budget [/bold] cuts" in text
        assert "Adult social care [Green Paper] response" in text
        index = next(i for i, r in enumerate(rows) if "[@click=app.quit]x[/]" in r)
        entries = main(app).entries
        await pilot.click(EntryList, offset=(8, index))
        await pilot.click(EntryList, offset=(6, index))
        await settle(app, pilot)
        assert app.is_running and not quits
        assert entries.cursor == index
        shown = post_text(app)
        assert "[@click=app.quit]x[/]" in shown
        assert "[Archive]" in shown
        await pilot.press("j", "j")
        await settle(app, pilot)
        assert "[/] Anon" in post_text(app)
        assert app.is_running


async def test_escape_sequences_never_reach_the_screen(home: Path) -> None:
    with Carefeed.open(home) as api:
        seed(api, [FeedSpec("F", [Post("Care\x1b]0;pwned\x07 news \x1b[2J\u009b31m", 5)])])
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            row = list_rows(app)[0]
            assert "Care" in row and "\x1b" not in row and "\u009b" not in row
            assert "pwned" not in row


async def test_first_run_offers_the_bundled_feeds(empty_api: Carefeed) -> None:
    app = CarefeedApp(empty_api, clock=fixed_clock, preview_delay=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "feeds.opml" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert "You have no subscriptions yet" in post_text(app)


async def test_narrow_terminal_puts_the_post_below(app: CarefeedApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = main(app)
        assert screen.has_class("-narrow")
        assert screen.post.region.y > screen.entries.region.y
        assert screen.post.region.x == screen.entries.region.x


async def test_big_list_pages_and_jumps(home: Path) -> None:
    """1,000 posts: five keyset pages; End walks to the last, Home comes back."""
    posts = [Post(f"Post number {n:04d}", n + 5) for n in range(1000)]
    with Carefeed.open(home) as api:
        seed(api, [FeedSpec("Many", posts)])
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            entries = main(app).entries
            assert entries.total == 1000
            await pilot.press("end")
            await settle(app, pilot)
            await settle(app, pilot)
            assert entries.cursor == 999
            current = entries.current
            assert current is not None and current.title == "Post number 0999"
            assert any("Post number 0999" in r for r in list_rows(app))
            await pilot.press("pageup", "home")
            await settle(app, pilot)
            assert entries.current is not None
            assert entries.current.title == "Post number 0000"


async def test_read_state_is_kept_in_the_cache(app: CarefeedApp, home: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "q", "j", "s", "q")
        await pilot.pause()
    with Carefeed.open(home) as again:
        entries = again.entries(EntryFilter(), limit=2)
        assert entries[0].read and entries[1].starred
        assert again.count_entries(EntryFilter()) == 11
    assert NOW.year == 2026
    assert os.environ.get("BROWSER") is None or True
