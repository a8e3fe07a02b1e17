"""First run: no subscriptions, so the reader offers the bundled feeds.opml, a feed by
address, or an OPML file, each one key away (the keys [reader.keys] says)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.add_feed import AddFeedScreen
from carefeed.tui.screens.import_opml import ImportOpmlScreen
from carefeed.tui.screens.welcome import WelcomeScreen
from conftest import fixed_clock, screen_text, settle

pytestmark = pytest.mark.tui

SIZE = (80, 24)


async def test_welcome_names_its_keys_and_i_imports_a_file(empty_api: Carefeed) -> None:
    app = CarefeedApp(empty_api, clock=fixed_clock, preview_delay=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        text = screen_text(app)
        assert "I imports and polls · a adds a feed · i imports an OPML" in text
        await pilot.press("i")
        await settle(app, pilot)
        assert isinstance(app.screen, ImportOpmlScreen)


async def test_welcome_follows_moved_keys(home: Path) -> None:
    (home / "config.toml").write_text('[reader.keys]\nadd = "A"\n', encoding="utf-8")
    with Carefeed.open(home) as api:
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, WelcomeScreen)
            assert "A adds a feed" in screen_text(app)
            await pilot.press("a")
            assert isinstance(app.screen, WelcomeScreen)
            await pilot.press("A")
            await settle(app, pilot)
            assert isinstance(app.screen, AddFeedScreen)
