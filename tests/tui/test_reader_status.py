"""The status line: the active filter in words, the number of posts, and the poll:
"polled 3 min ago" at rest, "polling 2 of 3" while R runs."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.main import MainScreen
from conftest import FeedSpec, fixed_clock, list_rows, seed, settle
from screens import status_text as status

pytestmark = pytest.mark.tui

SIZE = (120, 30)


def rss(name: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>
<link>http://127.0.0.1/</link>
<item><title>{name} news</title><guid>{name}-1</guid><link>https://example.org/{name}</link>
<pubDate>Thu, 12 Mar 2026 09:00:00 +0000</pubDate><description>Hi.</description></item>
</channel></rss>""".encode()


async def test_status_says_when_the_cache_was_polled(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        line = status(app)
        assert line.startswith("All posts")
        assert line.rstrip().endswith("11 posts · polled 3 min ago")
        await pilot.press("u")
        await settle(app, pilot)
        assert status(app).startswith("Unread")


async def test_status_counts_a_poll_as_feeds_finish(home: Path, feed_server: object) -> None:
    from feedserver import FeedServer

    assert isinstance(feed_server, FeedServer)
    release = threading.Event()

    def answer_when_released(handler: BaseHTTPRequestHandler) -> None:
        """The slow feed answers once the test has seen the other two counted (parser
        start-up on a loaded machine can take longer than any fixed delay)."""
        release.wait(30)
        body = rss("c")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    specs = [
        FeedSpec("Fast one", [], url=feed_server.add("/a.xml", rss("a"))),
        FeedSpec("Fast two", [], url=feed_server.add("/b.xml", rss("b"))),
        FeedSpec("Slow", [], url=feed_server.handler("/c.xml", answer_when_released)),
    ]
    with Carefeed.open(home) as api:
        seed(api, specs)
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("R")
            seen: set[str] = set()
            for _ in range(1500):  # up to 30 s on a loaded machine
                await pilot.pause(0.02)
                line = status(app)
                if "polling" in line:
                    seen.add(line.split("· ")[-1].strip())
                if "polling 2 of 3" in line:
                    release.set()
                screen = app.screen
                assert isinstance(screen, MainScreen)
                if not screen.is_polling and seen:
                    break
            release.set()
            assert "polling 2 of 3" in seen, seen
            await settle(app, pilot)
            assert status(app).rstrip().endswith("polled just now")
            assert len(list_rows(app)) == 3


async def test_a_failing_feed_says_so_and_e_says_why(app: CarefeedApp) -> None:
    from carefeed.tui.screens.feed_errors import FeedErrorsScreen
    from carefeed.tui.widgets.sidebar import Place

    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert "⚠ Workforce Bulletin" in "\n".join(
            str(screen.sidebar.get_option_at_index(i).prompt)
            for i in range(screen.sidebar.option_count)
        )
        feed = next(f for f in screen.sidebar.feeds if f.title == "Workforce Bulletin")
        screen.sidebar.highlight_place(Place("feed", feed.display_title, feed))
        await pilot.press("tab", "tab", "enter")  # to the sidebar, list that feed
        await settle(app, pilot)
        assert isinstance(app.focused, type(screen.entries))
        line = status(app)
        assert line.startswith("feed Workforce Bulletin  ⚠ its last poll failed · e: why")
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, FeedErrorsScreen)
        await pilot.press("escape", "escape")
        await settle(app, pilot)
        assert status(app).startswith("All posts ")
        assert "⚠" not in status(app)
