"""Pilot tests: the "/" bar speaks the filter language (query.py) as you type."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from carefeed.model import EntryFilter
from carefeed.tui.app import CarefeedApp
from conftest import list_rows, settle
from screens import main_screen as main
from screens import status_text as status

pytestmark = pytest.mark.tui

SIZE = (120, 40)


async def type_query(app: CarefeedApp, pilot: object, text: str) -> None:
    """Put ``text`` in the search box at once, as a paste would, and let the list settle."""
    box = app.focused
    assert isinstance(box, Input)
    box.value = text
    await settle(app, pilot)


async def test_slash_takes_a_query(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"feed:carers -dementia")
        await settle(app, pilot)
        rows = list_rows(app)
        assert len(rows) == 2, rows
        assert any("Carers' breaks survey" in r for r in rows)
        assert any("Young carers at college" in r for r in rows)
        assert "search “feed:carers -dementia”" in status(app)
        await type_query(app, pilot, "(tag:safeguarding or tag:workforce) -unread or budget")
        rows = list_rows(app)
        assert len(rows) == 1 and "Budget" in rows[0], rows  # every post is unread
        await type_query(app, pilot, "tag:carers -(breaks or college)")
        rows = list_rows(app)
        assert len(rows) == 1 and "Dementia and the carer" in rows[0], rows
        await type_query(app, pilot, "since:2d -tag:funding")  # two days before the clock
        rows = list_rows(app)
        assert len(rows) == 4, rows
        assert any("Direct payments" in r for r in rows)  # 30 hours ago
        assert not any("Dementia and the carer" in r for r in rows)  # 50 hours ago


async def test_a_malformed_query_keeps_the_results_and_says_where(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await type_query(app, pilot, "funding")
        funding = list_rows(app)
        expected = app.api.entries(EntryFilter(search="funding"), limit=None)
        assert len(funding) == len(expected) >= 3
        await type_query(app, pilot, "funding or")
        assert list_rows(app) == funding  # the last good results stay
        assert "Search: 'or' needs a term after it, at column 9 (“or”)" in status(app)
        assert main(app).search_input.has_class("-invalid")
        await type_query(app, pilot, 'funding "care homes')
        assert "unclosed quote" in status(app) and "column 9" in status(app)
        await type_query(app, pilot, "nope:x")
        assert "unknown field 'nope:'" in status(app)
        assert list_rows(app) == funding
        await type_query(app, pilot, "funding or survey")
        rows = list_rows(app)
        assert len(rows) == len(funding) + 1 and any("breaks survey" in r for r in rows)
        assert not main(app).search_input.has_class("-invalid")
        assert "search “funding or survey”" in status(app)
        await type_query(app, pilot, "(")
        await pilot.press("escape")  # clears the search and the error
        await settle(app, pilot)
        assert len(list_rows(app)) == 11
        assert "Search:" not in status(app)
        assert not main(app).search_input.has_class("-invalid")


async def test_plain_words_search_as_before(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        for text in ("care homes", '"discharge fund"', "carer's", "reab"):
            await type_query(app, pilot, text)
            expected = app.api.entries(EntryFilter(search=text), limit=None)
            rows = list_rows(app)
            assert len(rows) == len(expected) > 0, text
            assert all(e.title[:12] in r for e, r in zip(expected, rows, strict=True)), text
