"""Carefeed: the one object the command line, the reader and the tests hold.

Thin on purpose: each method delegates to the module that owns the job (opml, store,
poller, discover), so there is exactly one way to subscribe, poll or list posts, and the
reader and the CLI cannot drift apart.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from carefeed.comments import comment_feed_url
from carefeed.decide import TOPIC_TEXT_CHARS
from carefeed.errors import (
    CarefeedError,
    FeedError,
    InvalidUrlError,
    OpmlError,
    PollRunningError,
    QueryError,
)
from carefeed.model import (
    AllOf,
    Comment,
    CommentEvent,
    CommentState,
    CommentTarget,
    Entry,
    EntryFilter,
    Feed,
    FetchOutcome,
    FetchStatus,
    LabelCount,
    PollEvent,
    PollStatus,
    QueryNode,
    Refusal,
    Subscription,
    utc_now,
)
from carefeed.paths import Paths, resolve_paths
from carefeed.settings import Settings, load_settings
from carefeed.store import TAXONOMY_KEY, Store
from carefeed.text import clean_name
from carefeed.urls import display_url, validate_feed_url

if TYPE_CHECKING:
    from carefeed.digest import Digest
    from carefeed.poller import Poller
    from carefeed.topics import Taxonomy

TOPICS_FILE = "topics.toml"  # the user's additions to the taxonomy, beside config.toml

# The network and parsing stack (httpx, feedparser, process pools) is imported where it is
# used, not here: listing posts from the shell then starts in a fraction of the time.


@dataclass(frozen=True)
class ImportReport:
    added: tuple[Subscription, ...]
    existing: tuple[Subscription, ...]
    refused: tuple[Refusal, ...]


@dataclass(frozen=True)
class SavedView:
    """A saved filter as the sidebar and ``carefeed filters`` show it."""

    name: str
    query: str
    filter: EntryFilter | None  # None when the query cannot be read (see ``error``)
    error: str | None = None


@dataclass(frozen=True)
class AddResult:
    feed: Feed
    created: bool
    discovered_from: str | None  # the page address the user gave, when we found the feed there
    event: PollEvent | None  # the first poll of the new feed


class Carefeed:
    def __init__(
        self,
        paths: Paths,
        settings: Settings,
        store: Store,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings
        self.store = store
        self._poller: Poller | None = None
        self._taxonomy = taxonomy
        self._mute: tuple[QueryNode, ...] | None = None
        self._mute_errors: tuple[str, ...] = ()

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None) -> Carefeed:
        paths = resolve_paths(home)
        paths.ensure()
        settings = load_settings(paths.config_file)
        return cls(paths, settings, Store.open(paths.database))

    def close(self) -> None:
        if self._poller is not None:
            self._poller.close()
            self._poller = None
        self.store.close()

    def __enter__(self) -> Carefeed:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- subscriptions

    def import_opml(self, source: Path | bytes) -> ImportReport:
        from carefeed.opml import parse_opml

        if isinstance(source, Path):
            try:
                size = source.stat().st_size
                if size > self.settings.limits.opml_cap:
                    raise OpmlError(
                        f"{source.name} is {size // 1048576} MiB; the limit is "
                        f"{self.settings.limits.opml_cap // 1048576} MiB (setting opml_cap)"
                    )
                data = source.read_bytes()
            except OSError as exc:
                raise OpmlError(f"cannot read {source}: {exc.strerror}") from None
        else:
            data = source
        document = parse_opml(data)
        added, existing = self.store.add_feeds(document.subscriptions, utc_now())
        return ImportReport(tuple(added), tuple(existing), document.refused)

    def export_opml(self) -> bytes:
        from carefeed.opml import write_opml

        return write_opml(
            Subscription(url=f.url, title=f.title, site_url=f.site_url, tags=f.tags)
            for f in self.store.feeds(with_counts=False)
        )

    async def add_feed(self, url: str, tags: Sequence[str] = ()) -> AddResult:
        """Subscribe to a feed, or to the feed a web page announces, and poll it once.

        The address is fetched first, as browsers do, so a typo or a page without a feed
        is refused with the reason instead of becoming a subscription that always fails.
        """
        from carefeed.discover import find_feed_links, looks_like_html
        from carefeed.fetch import Fetcher

        url = validate_feed_url(url)
        tags = tuple(t for t in (clean_name(t) for t in tags) if t)
        discovered_from: str | None = None
        async with Fetcher(self.settings.limits) as fetcher:
            outcome = await fetcher.fetch(url)
            if outcome.status is not FetchStatus.OK or outcome.body is None:
                raise FeedError(f"{display_url(url)}: {outcome.error or 'no response'}")
            if looks_like_html(outcome.body, outcome.content_type):
                links = find_feed_links(outcome.body, outcome.final_url or url)
                if not links:
                    raise FeedError(f"{display_url(url)} is a web page that names no feed")
                discovered_from, url = url, validate_feed_url(links[0])
        # the feed itself was fetched: its first poll reads that response, not a second one
        in_hand = outcome if discovered_from is None else None
        existing = {f.url: f for f in self.store.feeds(with_counts=False)}
        if url in existing:
            if tags:
                self.store.add_feed(Subscription(url=url, tags=tags), utc_now())
            return AddResult(self.store.feed(existing[url].id), False, discovered_from, None)
        feed_id, _ = self.store.add_feed(Subscription(url=url, tags=tags), utc_now())
        fetched = {feed_id: in_hand} if in_hand is not None else None
        events = [event async for event in self.poll(feed_ids=[feed_id], fetched=fetched)]
        event = events[0] if events else None
        return AddResult(self.store.feed(feed_id), True, discovered_from, event)

    def remove_feed(self, key: str) -> Feed:
        feed = self.find_feed(key)
        self.store.remove_feed(feed.id)
        return feed

    def find_feed(self, key: str) -> Feed:
        with suppress(InvalidUrlError):
            key = validate_feed_url(key) if "://" in key else key
        return self.store.find_feed(key)

    def feeds(self) -> list[Feed]:
        return self.store.feeds(mute=self.mute_rules())

    # ----------------------------------------------------------------- polling

    @contextmanager
    def _poll_lock(self) -> Iterator[None]:
        """One poll per cache at a time; flock, so a killed poll frees it at once."""
        handle = self.paths.poll_lock.open("a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                pid = handle.read().strip()
                raise PollRunningError(
                    f"a poll is already running{f' (pid {pid})' if pid.isdigit() else ''}"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()

    async def poll(
        self,
        *,
        due_only: bool = False,
        force: bool = False,
        feed_ids: Sequence[int] | None = None,
        fetched: Mapping[int, FetchOutcome] | None = None,
    ) -> AsyncIterator[PollEvent]:
        poller = self._get_poller()
        with self._poll_lock():
            async for event in poller.poll(
                due_only=due_only, force=force, feed_ids=feed_ids, fetched=fetched
            ):
                yield event

    def prune(self, days: int, *, dry_run: bool = False) -> int:
        """Delete read, unstarred posts older than ``days`` that their feed no longer
        lists (see Store.prune); how many (would) go."""
        return self.store.prune(utc_now() - timedelta(days=days), dry_run=dry_run)

    def _get_poller(self) -> Poller:
        if self._poller is None:
            from carefeed.poller import Poller

            self.ensure_topics()
            self._poller = Poller(self.store, self.settings, self.taxonomy.classify)
        return self._poller

    async def poll_comments(
        self, targets: Sequence[CommentTarget] | None = None
    ) -> AsyncIterator[CommentEvent]:
        """Refresh the comment feeds of recent posts and of posts whose comment count
        changed, newest first, at most ``comment_budget`` requests (``targets``: those
        :meth:`comment_targets` chose, when the caller wanted to count them first)."""
        if targets is None:
            targets = self.comment_targets()
        if not targets:
            return
        poller = self._get_poller()
        with self._poll_lock():
            async for event in poller.refresh_comments(targets):
                yield event

    def comment_targets(self) -> list[CommentTarget]:
        """The comment feeds a comment poll would fetch now (and refused ones it records)."""
        since = utc_now() - timedelta(days=self.settings.comment_days)
        budget = self.settings.comment_budget
        targets: list[CommentTarget] = []
        fetches = 0
        for entry, feed_url, generator, state in self.store.comment_candidates(
            since=since, limit=budget * 2
        ):
            target = self._target(entry, feed_url, generator, state)
            if target.url is None:
                continue
            if target.refused is None:
                if fetches >= budget:
                    continue
                fetches += 1
            targets.append(target)
        return targets

    @staticmethod
    def _target(
        entry: Entry, feed_url: str, generator: str | None, state: CommentState
    ) -> CommentTarget:
        url, refused = comment_feed_url(entry.comments_feed, entry.link, generator, feed_url)
        same = url is not None and url == state.feed_url
        return CommentTarget(
            entry_id=entry.id,
            url=url,
            refused=refused,
            etag=state.etag if same else None,
            last_modified=state.last_modified if same else None,
            comment_count=entry.comment_count,
        )

    def comment_target(self, entry_id: int) -> CommentTarget:
        entry, feed_url, generator = self.store.comment_source(entry_id)
        return self._target(entry, feed_url, generator, self.store.comment_state(entry_id))

    async def refresh_comments(self, entry_id: int) -> CommentEvent:
        """Fetch one post's comment feed now (the reader does this when a post opens)."""
        target = self.comment_target(entry_id)
        if target.url is None:
            return CommentEvent(
                entry_id, None, PollStatus.ERROR, error="this post names no comment feed"
            )
        events = [e async for e in self._get_poller().refresh_comments([target])]
        if not events:  # the post was removed meanwhile
            return CommentEvent(entry_id, target.url, PollStatus.ERROR, error="post removed")
        return events[0]

    def comments(self, entry_id: int) -> list[Comment]:
        return self.store.comments(entry_id)

    def comment_error(self, entry_id: int) -> str | None:
        """Why this post's comments cannot be fetched (a refused comment feed: "comment
        feed refused: …"), else what went wrong last time, else None."""
        return self.comment_target(entry_id).refused or self.store.comment_state(entry_id).error

    def comment_state(self, entry_id: int) -> CommentState:
        return self.store.comment_state(entry_id)

    def mark_comments_seen(self, entry_id: int) -> None:
        self.store.mark_comments_seen(entry_id, utc_now())

    def feeds_to_poll(self, *, due_only: bool = False, force: bool = False) -> list[Feed]:
        return self.store.feeds_to_poll(utc_now(), due_only=due_only, force=force, feed_ids=None)

    def count_deferred(self) -> int:
        return self.store.count_deferred(utc_now())

    # ----------------------------------------------------------------- reading

    def entries(
        self,
        flt: EntryFilter = EntryFilter(),
        *,
        limit: int | None = 50,
        before: tuple[int, int] | None = None,
    ) -> list[Entry]:
        return self.store.entries(self._muted(flt), limit=limit, before=before)

    def page_key_at(self, flt: EntryFilter, index: int) -> tuple[int, int] | None:
        return self.store.page_key_at(self._muted(flt), index)

    def reopen(self) -> Carefeed:
        """Another handle on the same cache, for a thread (SQLite connections are per
        thread); close it when done."""
        return Carefeed(self.paths, self.settings, Store.open(self.paths.database), self._taxonomy)

    def count_entries(self, flt: EntryFilter = EntryFilter()) -> int:
        return self.store.count_entries(self._muted(flt))

    def entry(self, entry_id: int) -> Entry:
        return self.store.entry(entry_id)

    def tag_counts(self) -> list[LabelCount]:
        return self.store.tag_counts(self.mute_rules())

    def category_counts(self, limit: int | None = None) -> list[LabelCount]:
        return self.store.category_counts(limit, self.mute_rules())

    # ----------------------------------------------------------------- topics

    @property
    def taxonomy(self) -> Taxonomy:
        """The bundled social care topics, as the user's ``topics.toml`` extends them."""
        if self._taxonomy is None:
            from carefeed.topics import load_taxonomy

            self._taxonomy = load_taxonomy(self.paths.config_dir / TOPICS_FILE)
        return self._taxonomy

    def topics_current(self) -> bool:
        """Whether the cache was tagged by the taxonomy in force (False: re-tag it)."""
        return self.store.meta(TAXONOMY_KEY) == self.taxonomy.fingerprint

    def ensure_topics(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-tag the cache when the taxonomy changed since it was tagged; the posts
        re-tagged (0 when it was current)."""
        if self.topics_current():
            return 0
        taxonomy = self.taxonomy
        return self.store.retag(
            taxonomy.classify,
            taxonomy.fingerprint,
            topic_chars=TOPIC_TEXT_CHARS,
            progress=progress,
        )

    def resolve_topic(self, text: str) -> str:
        """A topic's canonical name from any unambiguous prefix, alias or spelling."""
        return self.taxonomy.resolve(text).name

    def filter_from_query(
        self, text: str, base: EntryFilter = EntryFilter(), *, now: datetime | None = None
    ) -> EntryFilter:
        """``base`` narrowed by a filter query (query.py's language), read and resolved:
        topic prefixes become canonical names, relative dates absolute ones (from ``now``,
        default the clock, in the local time zone: ``today`` is the user's midnight, in the
        CLI as in the reader). Raises QueryError (message, position) for a malformed query
        or an unknown topic."""
        from carefeed.query import parse_query, resolve_query

        node = resolve_query(
            parse_query(text),
            resolve_topic=self.resolve_topic,
            now=now or datetime.now().astimezone(),
            text=text,
        )
        if base.query is not None:
            node = AllOf((base.query, node))
        return replace(base, query=node)

    # ----------------------------------------------------------------- saved filters, mute

    def saved_filters(self) -> list[SavedView]:
        """The ``[filters]`` of config.toml, each read and resolved now (so "since:7d"
        means the last seven days today); a malformed one carries its error instead."""
        views = []
        for saved in self.settings.filters:
            try:
                views.append(
                    SavedView(saved.name, saved.query, self.filter_from_query(saved.query))
                )
            except CarefeedError as exc:
                views.append(SavedView(saved.name, saved.query, None, f"{saved.name}: {exc}"))
        return views

    def saved_filter(self, name: str) -> SavedView:
        """A saved filter by name (case-insensitive; any unambiguous prefix)."""
        views = self.saved_filters()
        folded = name.casefold()
        exact = [v for v in views if v.name.casefold() == folded]
        found = exact or [v for v in views if v.name.casefold().startswith(folded)]
        if len(found) != 1:
            known = ", ".join(f'"{v.name}"' for v in views) or "none (add [filters] to config.toml)"
            which = "several" if found else "no"
            raise QueryError(f'{which} saved filter matches "{name}"; saved filters: {known}')
        return found[0]

    def mute_rules(self) -> tuple[QueryNode, ...]:
        """The ``mute`` queries of config.toml, read once; one that cannot be read is
        left out and reported by :meth:`mute_errors` (reading must never stop on it)."""
        if self._mute is None:
            nodes: list[QueryNode] = []
            errors: list[str] = []
            for rule in self.settings.mute:
                try:
                    query = self.filter_from_query(rule).query
                except CarefeedError as exc:
                    errors.append(f"mute rule {rule!r} ignored: {exc}")
                    continue
                if query is not None:
                    nodes.append(query)
            self._mute, self._mute_errors = tuple(nodes), tuple(errors)
        return self._mute

    def mute_errors(self) -> tuple[str, ...]:
        self.mute_rules()
        return self._mute_errors

    def _muted(self, flt: EntryFilter) -> EntryFilter:
        rules = self.mute_rules()
        return replace(flt, mute=flt.mute + rules) if rules else flt

    def digest(self, flt: EntryFilter, *, title: str, limit: int = 200) -> Digest:
        """A reading list of the newest ``limit`` posts of ``flt``, grouped by topic
        (digest.py; the CLI's ``digest`` and the reader's palette)."""
        from carefeed.digest import build_digest, query_topics

        entries = self.entries(flt, limit=limit)
        matched = self.count_entries(flt) if len(entries) >= limit else None
        return build_digest(
            entries,
            [t.name for t in self.taxonomy.topics],
            title=title,
            generated_at=utc_now(),
            focus=[*flt.topics, *query_topics(flt.query)],
            matched=matched,
        )

    def topic_counts(self) -> list[LabelCount]:
        """Every topic of the taxonomy, in its order, with post and unread counts."""
        counts = {c.name: c for c in self.store.topic_counts(self.mute_rules())}
        return [counts.get(t.name, LabelCount(t.name, 0, 0)) for t in self.taxonomy.topics]

    def set_read(self, entry_ids: Sequence[int], read: bool = True) -> None:
        self.store.set_flags(entry_ids, read=read)

    def set_starred(self, entry_ids: Sequence[int], starred: bool = True) -> None:
        self.store.set_flags(entry_ids, starred=starred)


def summarise(events: Sequence[PollEvent]) -> dict[str, int]:
    """Totals for the end of a poll: what the CLI prints and --json reports."""
    return {
        "feeds": len(events),
        "ok": sum(e.status is PollStatus.UPDATED for e in events),
        "not_modified": sum(
            e.status in (PollStatus.NOT_MODIFIED, PollStatus.UNCHANGED) for e in events
        ),
        "failed": sum(e.status in (PollStatus.ERROR, PollStatus.GONE) for e in events),
        "new": sum(e.new for e in events),
        "updated": sum(e.updated for e in events),
    }


__all__ = ["AddResult", "Carefeed", "CarefeedError", "ImportReport", "summarise"]
