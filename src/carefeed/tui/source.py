"""What the post list shows (a :class:`View`) and how its rows come out of the cache.

The view is the one piece of screen state (STYLE.md §3.3): the sidebar, the ``t`` picker,
``/`` search and ``u`` all produce a new View, and the list re-lists from it. Several
tags combine with AND ("Dementia" + "Carers": posts filed under both).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from carefeed.api import Carefeed
from carefeed.model import AllOf, Entry, EntryFilter, QueryNode

PAGE = 200  # rows per keyset page (bench/reader.py: ~5 ms on a 100,000-post cache)


@dataclass(frozen=True)
class View:
    """Which posts the list shows, in the reader's words."""

    feed_id: int | None = None
    feed_title: str | None = None
    tags: tuple[str, ...] = ()
    unread: bool = False
    starred: bool = False
    search: str = ""
    topics: tuple[str, ...] = ()  # canonical topic names
    saved: str | None = None  # the name of a saved filter (its query is ``query``)
    query: QueryNode | None = None  # a resolved filter-language query
    search_query: QueryNode | None = None  # ``search`` read as a query (the "/" bar)

    def to_filter(self) -> EntryFilter:
        return EntryFilter(
            feed=None if self.feed_id is None else str(self.feed_id),
            tags=self.tags,
            topics=self.topics,
            query=_both(self.query, self.search_query),
            unread=self.unread,
            starred=self.starred,
            search=None if self.search_query is not None else self.search.strip() or None,
        )

    @property
    def is_slow(self) -> bool:
        """Would a page take more than a few ms on a big cache? (bench/reader.py: a
        full-text search can take a few hundred ms.)"""
        return bool(self.search.strip())

    @property
    def is_filtered(self) -> bool:
        return self != View()

    def with_tags(self, tags: tuple[str, ...]) -> View:
        return replace(self, tags=tags)


def _both(a: QueryNode | None, b: QueryNode | None) -> QueryNode | None:
    return a if b is None else b if a is None else AllOf((a, b))


def fetch_page(
    api: Carefeed, view: View, before: tuple[int, int] | None, limit: int = PAGE
) -> list[Entry]:
    """Up to ``limit`` posts after the keyset position ``before``, newest first."""
    return api.entries(view.to_filter(), limit=limit, before=before)


def count(api: Carefeed, view: View) -> int:
    """How many posts the view holds (the list's virtual height)."""
    return api.count_entries(view.to_filter())


def page_keys(api: Carefeed, view: View, upto: int) -> dict[int, tuple[int, int]]:
    """The keyset key that ends page ``upto`` (a jump to the end of a long list), found
    in one query whatever the distance, so End costs what Home costs."""
    key = api.page_key_at(view.to_filter(), (upto + 1) * PAGE - 1)
    return {} if key is None else {upto: key}
