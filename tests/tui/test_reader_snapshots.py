"""Snapshots of the reader at 80×24 and 160×48, with a fixed clock (see conftest).

Regenerate after a deliberate change with ``pytest tests/tui --snapshot-update`` and look
at the SVGs in ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from carefeed.tui.app import CarefeedApp
from conftest import settle

pytestmark = pytest.mark.tui

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def after(app: CarefeedApp, *keys: str) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, app: CarefeedApp, size: tuple[int, int]) -> None:
    """Sidebar with counts and the failing feed's ⚠, the list with ● and chips, a preview."""
    assert snap_compare(app, run_before=after(app), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_post_with_long_body(snap_compare: Any, app: CarefeedApp, size: tuple[int, int]) -> None:
    """An opened post: header, list and quote styling, references, the comments section."""
    assert snap_compare(app, run_before=after(app, "enter"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_tag_picker(snap_compare: Any, app: CarefeedApp, size: tuple[int, int]) -> None:
    """Tags then categories with counts; one ticked, the typed filter highlighted."""
    assert snap_compare(app, run_before=after(app, "t", "space", "c", "a"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: Any, app: CarefeedApp, size: tuple[int, int]) -> None:
    """Every key and glyph."""
    assert snap_compare(app, run_before=after(app, "question_mark"), terminal_size=size)
