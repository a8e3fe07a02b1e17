"""Themes from Textual's picker (ctrl+p, "theme"): the reader follows them, and its quiet
text (dates, counts, hints) stays readable in light themes too."""

from __future__ import annotations

import pytest
from textual.color import Color
from textual.command import CommandList
from textual.pilot import Pilot

from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.main import MainScreen
from carefeed.tui.widgets.entry_list import EntryList
from carefeed.tui.widgets.sidebar import Sidebar
from conftest import settle

pytestmark = pytest.mark.tui

SIZE = (120, 30)


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(widget: EntryList | Sidebar, component: str) -> float:
    """WCAG contrast of a render.py style on the widget's background."""
    background = widget.background_colors[1]
    color = widget.get_component_styles(component).color
    shown = background + color  # blends a translucent colour over the background
    high, low = sorted((_luminance(shown), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def palette_done(app: CarefeedApp, pilot: Pilot[None]) -> None:
    """Until the palette has gathered its hits (a worker, in batches)."""
    palette = app.screen
    for _ in range(100):
        await pilot.pause(0.05)
        await palette.workers.wait_for_complete()
        await pilot.pause()
        commands = palette.query_one(CommandList)
        if commands.option_count and not any(w.is_running for w in palette.workers):
            return


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord", "atom-one-light"])
async def test_quiet_text_is_readable_in_every_theme(app: CarefeedApp, theme: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.theme = theme
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for widget in (screen.entries, screen.sidebar):
            for component in ("cf--date", "cf--count", "cf--muted", "cf--read", "cf--feed"):
                assert contrast(widget, component) >= 3.0, (theme, component)


async def test_the_theme_picker_changes_the_theme(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"theme")
        await palette_done(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press(*"textual-light")
        await palette_done(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.theme == "textual-light"
        assert isinstance(app.screen, MainScreen)
        assert len(app.screen.entries.render_line(0).text.strip()) > 0
