"""Update decisions as tables: (cached state, parsed post) → what gets written, and when next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carefeed.decide import (
    HASH_CHANGE_LIMIT,
    entry_hash,
    next_poll_after_error,
    next_poll_after_success,
    plan_entries,
)
from carefeed.model import EntryData, EntryState

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def post(guid: str = "g", title: str = "Respite care funding", updated: datetime | None = None):
    return EntryData(guid=guid, title=title, updated=updated, categories=("Carers",))


def state(data: EntryData, *, changes: int = 0, updated: datetime | None = None) -> EntryState:
    return EntryState(guid=data.guid, hash=entry_hash(data), updated=updated, hash_changes=changes)


def test_hash_ignores_identity_and_updated_but_sees_content():
    a = post(updated=T1)
    assert entry_hash(a) == entry_hash(post(updated=T2))
    assert entry_hash(a) == entry_hash(post(guid="other", updated=T1))
    assert entry_hash(a) != entry_hash(post(title="Respite care funding cut"))
    assert entry_hash(a) != entry_hash(EntryData(guid="g", title=a.title, categories=("Carer",)))


def test_new_post_is_inserted():
    [intent] = plan_entries({}, [post()])
    assert intent.is_new and intent.data.guid == "g"


def test_unchanged_post_is_skipped():
    data = post(updated=T1)
    assert plan_entries({"g": state(data, updated=T1)}, [data]) == []


@pytest.mark.parametrize("new_updated", [T2, T1 - timedelta(days=1), None])
def test_moved_updated_date_rewrites_either_way(new_updated):
    old = post(updated=T1)
    [intent] = plan_entries({"g": state(old, updated=T1, changes=5)}, [post(updated=new_updated)])
    assert not intent.is_new and intent.hash_changes == 0


def test_content_change_counts_towards_the_churn_limit():
    old = post(updated=T1)
    changed = post(title="Respite care funding (corrected)", updated=T1)
    [intent] = plan_entries({"g": state(old, updated=T1, changes=3)}, [changed])
    assert intent.hash_changes == 4
    assert plan_entries({"g": state(old, updated=T1, changes=HASH_CHANGE_LIMIT)}, [changed]) == []


def test_success_waits_the_interval_or_longer_max_age():
    assert next_poll_after_success(NOW, interval=3600, max_age=None, max_defer=86400) == (
        NOW + timedelta(hours=1)
    )
    assert next_poll_after_success(NOW, interval=3600, max_age=60, max_defer=86400) == (
        NOW + timedelta(hours=1)
    )
    assert next_poll_after_success(NOW, interval=3600, max_age=7200, max_defer=86400) == (
        NOW + timedelta(hours=2)
    )
    assert next_poll_after_success(NOW, interval=3600, max_age=10**9, max_defer=86400) == (
        NOW + timedelta(days=1)
    )


@pytest.mark.parametrize(
    ("errors", "retry_after", "expected"),
    [
        (1, None, timedelta(hours=1)),
        (2, None, timedelta(hours=2)),
        (4, None, timedelta(hours=8)),
        (30, None, timedelta(hours=24)),  # capped
        (1, 7200.0, timedelta(hours=2)),  # Retry-After longer than back-off wins
        (3, 60.0, timedelta(hours=4)),  # shorter Retry-After never brings it forward
        (1, 10.0**9, timedelta(days=7)),  # clamped to max_defer
    ],
)
def test_error_backoff_table(errors, retry_after, expected):
    due = next_poll_after_error(
        NOW,
        interval=3600,
        error_count=errors,
        retry_after=retry_after,
        max_backoff=86400,
        max_defer=7 * 86400,
    )
    assert due - NOW == expected


def test_jitter_spreads_backoff():
    early = next_poll_after_error(
        NOW,
        interval=3600,
        error_count=2,
        retry_after=None,
        max_backoff=86400,
        max_defer=86400,
        jitter=0.75,
    )
    late = next_poll_after_error(
        NOW,
        interval=3600,
        error_count=2,
        retry_after=None,
        max_backoff=86400,
        max_defer=86400,
        jitter=1.25,
    )
    assert early - NOW == timedelta(hours=1.5) and late - NOW == timedelta(hours=2.5)
