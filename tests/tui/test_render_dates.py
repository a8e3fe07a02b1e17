"""Dates in the post list fit its 7-cell column, whatever the year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carefeed.tui.render import relative_date

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "full", "compact"),
    [
        (NOW - timedelta(seconds=20), "now", "now"),
        (NOW - timedelta(hours=3), "3h", "3h"),
        (NOW - timedelta(days=3), "3d", "3d"),
        (datetime(2026, 1, 31, tzinfo=UTC), "31 Jan", "31 Jan"),
        (datetime(2012, 8, 23, tzinfo=UTC), "23 Aug 2012", "Aug '12"),
        (datetime(1999, 12, 30, tzinfo=UTC), "30 Dec 1999", "Dec '99"),
    ],
)
def test_relative_dates(when: datetime, full: str, compact: str) -> None:
    assert relative_date(when, NOW) == full
    shown = relative_date(when, NOW, compact=True)
    assert shown == compact and len(shown) <= 7
