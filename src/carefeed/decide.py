"""Pure update decisions: what one poll writes, and when the feed is asked again.

Kept apart from the poller (reader's Decider/Pipeline split) so the rules can be tested
as tables, with a fixed clock and no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any

from carefeed.model import EntryData, EntryIntent, EntryState, TopicMatch

HASH_VERSION = "1"
# A post whose bytes change on every fetch (an embedded clock, a view counter) is rewritten
# at most this many times without its ``updated`` date moving (reader issues #179, #225).
HASH_CHANGE_LIMIT = 24
_HASHED_FIELDS = tuple(f.name for f in fields(EntryData) if f.name not in {"guid", "updated"})


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def entry_hash(entry: EntryData) -> str:
    """A stable digest of what the reader would see; empty fields are left out so that
    adding a field to EntryData later does not make every cached post look changed."""
    # getattr over the field names, not dataclasses.asdict: asdict deep-copies every
    # value and was a third of the store's time per feed in bench/poll.py
    values = {k: getattr(entry, k) for k in _HASHED_FIELDS}
    kept = {k: _canonical(v) for k, v in values.items() if v not in (None, "", (), [])}
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return HASH_VERSION + hashlib.sha256(blob.encode()).hexdigest()[:31]


TOPIC_TEXT_CHARS = 1000  # of the content, for a post without a summary


def topic_text(data: EntryData) -> str:
    """The text topics are inferred from beside the title (store.retag uses the same rule)."""
    return data.summary or data.content[:TOPIC_TEXT_CHARS]


# categories, title, summary → topics (topics.Taxonomy.classify); pure, so it may run anywhere
Classifier = Callable[[Sequence[str], str, str], Sequence[TopicMatch]]


def plan_entries(
    cached: Mapping[str, EntryState],
    parsed: Sequence[EntryData],
    classify: Classifier | None = None,
) -> list[EntryIntent]:
    """New posts are inserted; a cached post is rewritten when its ``updated`` date moved
    (either way: we trust the feed) or its content changed, within the churn limit.
    Only posts that are written get their topics worked out."""
    intents: list[EntryIntent] = []
    for data in parsed:
        digest = entry_hash(data)
        old = cached.get(data.guid)
        if old is None:
            intent = EntryIntent(data=data, hash=digest, is_new=True)
        elif data.updated != old.updated:
            intent = EntryIntent(data=data, hash=digest, is_new=False, hash_changes=0)
        elif digest != old.hash and old.hash_changes < HASH_CHANGE_LIMIT:
            intent = EntryIntent(
                data=data, hash=digest, is_new=False, hash_changes=old.hash_changes + 1
            )
        else:
            continue
        if classify is not None:
            topics = tuple(classify(data.categories, data.title, topic_text(data)))
            intent = replace(intent, topics=topics)
        intents.append(intent)
    return intents


def next_poll_after_success(
    now: datetime, *, interval: int, max_age: float | None, max_defer: int
) -> datetime:
    """A server may ask us (Cache-Control max-age) to come back later, never sooner."""
    wait = float(interval)
    if max_age is not None:
        wait = max(wait, min(max_age, float(max_defer)))
    return now + timedelta(seconds=wait)


def next_poll_after_error(
    now: datetime,
    *,
    interval: int,
    error_count: int,
    retry_after: float | None,
    max_backoff: int,
    max_defer: int,
    jitter: float = 1.0,
) -> datetime:
    """Exponential back-off from the feed's interval (×2 per consecutive failure, capped),
    spread by ``jitter`` (0.75-1.25) so a sick host is not hit by every client at once;
    a Retry-After (429/503) wins when it asks for longer, within ``max_defer``."""
    exponent = max(0, min(error_count - 1, 30))
    backoff = min(float(interval) * (2**exponent), float(max_backoff)) * jitter
    wait = backoff
    if retry_after is not None:
        wait = max(wait, min(retry_after, float(max_defer)))
    return now + timedelta(seconds=wait)
