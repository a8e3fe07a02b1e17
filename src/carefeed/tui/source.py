"""What the post list shows (a :class:`View`) and how its rows come out of the cache.

The view is the one piece of screen state (STYLE.md §3.3): the sidebar, the ``t`` picker,
``/`` search and ``u`` all produce a new View, and the list re-lists from it.

Several tags combine with AND ("Dementia" + "Carers": posts filed under both). The core's
:class:`~carefeed.model.EntryFilter` takes one tag, so the first goes to SQLite and the
others are checked here, on each keyset page, against the post's categories and its
feed's tags (the same case-insensitive rule the store uses). Pages stay full (200 rows)
by reading on until they are, so the list's row → page arithmetic holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from carefeed.api import Carefeed
from carefeed.model import Entry, EntryFilter

PAGE = 200  # rows per keyset page (bench/reader.py: ~5 ms on a 100,000-post cache)
_SUPPORTS_TAGS = "tags" in getattr(EntryFilter, "__dataclass_fields__", {})


@dataclass(frozen=True)
class View:
    """Which posts the list shows, in the reader's words."""

    feed_id: int | None = None
    feed_title: str | None = None
    tags: tuple[str, ...] = ()
    unread: bool = False
    starred: bool = False
    search: str = ""
    # feed id → its tags, for checking extra tags on the client side
    feed_tags: Mapping[int, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def to_filter(self) -> EntryFilter:
        if _SUPPORTS_TAGS and len(self.tags) > 1:  # pragma: no cover - core without it yet
            return EntryFilter(
                feed=None if self.feed_id is None else str(self.feed_id),
                tags=self.tags,  # type: ignore[call-arg,unused-ignore]
                unread=self.unread,
                starred=self.starred,
                search=self.search.strip() or None,
            )
        return EntryFilter(
            feed=None if self.feed_id is None else str(self.feed_id),
            tag=self.tags[0] if self.tags else None,
            unread=self.unread,
            starred=self.starred,
            search=self.search.strip() or None,
        )

    @property
    def extra_tags(self) -> tuple[str, ...]:
        """Tags the store was not asked about, checked on each row here."""
        return () if _SUPPORTS_TAGS else self.tags[1:]

    @property
    def is_slow(self) -> bool:
        """Would a page take more than a few ms on a big cache? (bench/reader.py: search
        ~250 ms, starred ~180 ms without an index, several tags read many pages.)"""
        return bool(self.search.strip()) or self.starred or bool(self.extra_tags)

    @property
    def is_filtered(self) -> bool:
        return self != View()

    def with_tags(self, tags: tuple[str, ...]) -> View:
        return replace(self, tags=tags)

    def _matches_extra(self, entry: Entry) -> bool:
        if not self.extra_tags:
            return True
        have = {c.casefold() for c in entry.categories}
        have.update(t.casefold() for t in self.feed_tags.get(entry.feed_id, ()))
        return all(tag.casefold() in have for tag in self.extra_tags)


def fetch_page(
    api: Carefeed, view: View, before: tuple[int, int] | None, limit: int = PAGE
) -> list[Entry]:
    """Up to ``limit`` posts after the keyset position ``before``, newest first."""
    flt = view.to_filter()
    if not view.extra_tags:
        return api.entries(flt, limit=limit, before=before)
    rows: list[Entry] = []
    while len(rows) < limit:
        raw = api.entries(flt, limit=PAGE, before=before)
        if not raw:
            break
        for entry in raw:
            if view._matches_extra(entry):
                rows.append(entry)
                if len(rows) == limit:
                    break
        before = raw[-1].page_key
        if len(raw) < PAGE:
            break
    return rows


def count(api: Carefeed, view: View) -> int:
    """How many posts the view holds (the list's virtual height)."""
    if not view.extra_tags:
        return api.count_entries(view.to_filter())
    total = 0
    before: tuple[int, int] | None = None
    flt = view.to_filter()
    while True:
        raw = api.entries(flt, limit=1000, before=before)
        total += sum(1 for e in raw if view._matches_extra(e))
        if len(raw) < 1000:
            return total
        before = raw[-1].page_key


def page_keys(
    api: Carefeed, view: View, after_page: int, after_key: tuple[int, int] | None, upto: int
) -> dict[int, tuple[int, int]]:
    """Walk forward from a known page to find the keyset key that ends each page up to
    ``upto`` (a jump to the end of a long list). Costs a page read per 200 rows."""
    keys: dict[int, tuple[int, int]] = {}
    before = after_key
    for page in range(after_page + 1, upto + 1):
        rows = fetch_page(api, view, before)
        if not rows:
            break
        before = rows[-1].page_key
        keys[page] = before
        if len(rows) < PAGE:
            break
    return keys
