"""The cache: one SQLite file that the poller writes and the readers read, at the same time.

Why it is built this way:

* WAL mode, ``busy_timeout`` and ``BEGIN IMMEDIATE`` for every write, so the reader (TUI)
  and ``carefeed poll`` in another process both make progress; writes are short (one feed
  per transaction) so nobody waits long.
* One transaction per polled feed (posts + full-text index + feed row): a poll killed at
  any instant leaves either the old state or the new one for each feed, never half.
* The schema carries ``application_id`` and ``user_version``: a file that is not ours, or a
  newer carefeed's, is refused untouched rather than "migrated".
* Read/starred are columns the poller never names in an update, so they survive every
  rewrite of a post.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carefeed.comments import PostRef, comment_key, site_of
from carefeed.errors import (
    CorruptCacheError,
    EntryNotFoundError,
    FeedNotFoundError,
    QueryError,
    SchemaVersionError,
    StoreError,
)
from carefeed.model import (
    AllOf,
    AnyOf,
    Comment,
    CommentData,
    CommentState,
    CommentTarget,
    Entry,
    EntryData,
    EntryFilter,
    EntryIntent,
    EntryState,
    Feed,
    FeedIntent,
    LabelCount,
    Not,
    QueryNode,
    Subscription,
    Term,
    Text,
    TopicMatch,
)
from carefeed.text import one_line_error

APPLICATION_ID = 0x43524644  # "CRFD"
TAXONOMY_KEY = "taxonomy"  # meta: fingerprint of the taxonomy that tagged the cache
SQLITE_HEADER = b"SQLite format 3\x00"


def to_ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def from_ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


# --------------------------------------------------------------------------- schema

_V1 = """
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',       -- what the feed calls itself
    user_title TEXT,                      -- what the OPML / the user called it (wins)
    site_url TEXT,
    generator TEXT,
    added INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_fetch INTEGER,
    last_ok INTEGER,
    error TEXT,
    warning TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    next_due INTEGER,
    interval INTEGER,
    gone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE feed_tags (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (feed_id, tag)
) WITHOUT ROWID;
CREATE INDEX feed_tags_by_tag ON feed_tags(tag COLLATE NOCASE);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    link TEXT,
    title TEXT NOT NULL,
    author TEXT,
    published INTEGER NOT NULL,
    dated INTEGER NOT NULL,
    updated INTEGER,
    sort_time INTEGER NOT NULL,           -- published, but never later than first seen
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    categories TEXT NOT NULL,             -- JSON array, as the blog wrote them, in order
    comments_url TEXT,
    comments_feed TEXT,
    comment_count INTEGER,
    hash TEXT NOT NULL,
    hash_changes INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    starred INTEGER NOT NULL DEFAULT 0,
    UNIQUE (feed_id, guid)
);
CREATE INDEX entries_by_time ON entries(sort_time DESC, id DESC);
CREATE INDEX entries_by_feed_time ON entries(feed_id, sort_time DESC, id DESC);
CREATE INDEX entries_unread ON entries(read, sort_time DESC, id DESC);
CREATE TABLE entry_categories (
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (entry_id, name)
) WITHOUT ROWID;
CREATE INDEX entry_categories_by_name ON entry_categories(name);
CREATE VIRTUAL TABLE entries_fts USING fts5(
    title, summary, content, categories,
    content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts(rowid, title, summary, content, categories)
    VALUES (new.id, new.title, new.summary, new.content, new.categories);
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary, content, categories)
    VALUES ('delete', old.id, old.title, old.summary, old.content, old.categories);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, summary, content, categories ON entries
BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary, content, categories)
    VALUES ('delete', old.id, old.title, old.summary, old.content, old.categories);
    INSERT INTO entries_fts(rowid, title, summary, content, categories)
    VALUES (new.id, new.title, new.summary, new.content, new.categories);
END;
"""


def _split_statements(script: str) -> Iterator[str]:
    """executescript() commits first; inside our migration transaction we feed statements
    one by one instead, using sqlite3.complete_statement to find their ends."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in _split_statements(script):
        db.execute(statement)


# Each step takes the schema from version i to i+1, inside the same transaction as the
# user_version bump, so a failed migration leaves the file exactly as it was.
_V2 = """
CREATE INDEX entries_starred ON entries(starred, sort_time DESC, id DESC);
"""

# Comments (issue 4): one row per comment; one row per post whose comment feed was
# fetched or whose comments were read (validators, last error, "seen" for "3 new").
# ``parent_guid`` is kept, not a row id: a reply may arrive before the comment it answers.
_V3 = """
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    link TEXT,
    author TEXT,
    author_link TEXT,
    published INTEGER NOT NULL,
    dated INTEGER NOT NULL,
    text TEXT NOT NULL,
    parent_guid TEXT,
    first_seen INTEGER NOT NULL,
    UNIQUE (entry_id, guid)
);
CREATE TABLE comment_feeds (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch INTEGER,
    error TEXT,
    count_at_fetch INTEGER,               -- the post's comment count when last fetched
    stored INTEGER NOT NULL DEFAULT 0,    -- comments in the cache for this post
    seen_at INTEGER,
    seen_count INTEGER
);
"""

# Topics and cross-posts (issue 5). ``entry_topics`` holds each post's canonical topics in
# taxonomy order (``position``); ``meta`` remembers which taxonomy tagged the cache, so a
# changed topics.toml re-tags it. ``dup_of`` points a cross-posted copy (the same link in
# another feed) at the row the lists show.
_V4 = """
CREATE TABLE entry_topics (
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    inferred INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entry_id, topic)
) WITHOUT ROWID;
CREATE INDEX entry_topics_by_topic ON entry_topics(topic, entry_id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
ALTER TABLE entries ADD COLUMN dup_of INTEGER REFERENCES entries(id) ON DELETE SET NULL;
CREATE INDEX entries_by_link ON entries(link) WHERE link IS NOT NULL;
CREATE INDEX entries_copies ON entries(dup_of) WHERE dup_of IS NOT NULL;
"""

# Search and filter speed (issues 3 and 5), measured on a 100,000-post cache:
# * prefix indexes for 1-3 characters: a search typed letter by letter asks for "s"*,
#   "sa"*, "saf"*, which FTS5 otherwise answers by merging the doclists of every word with
#   that beginning (50-120 ms for one letter; ~1 ms with the index);
# * the listed rows (``dup_of IS NULL``) get partial indexes, so a count or a page never
#   reads the (large) table rows just to learn that a post is not a cross-posted copy
#   (count of all posts: 85 ms → 2 ms).
_V5 = """
DROP TABLE entries_fts;
CREATE VIRTUAL TABLE entries_fts USING fts5(
    title, summary, content, categories,
    content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
    prefix='1 2 3'
);
INSERT INTO entries_fts(entries_fts) VALUES ('rebuild');
CREATE INDEX entries_listed ON entries(sort_time DESC, id DESC) WHERE dup_of IS NULL;
CREATE INDEX entries_listed_unread ON entries(read, sort_time DESC, id DESC)
    WHERE dup_of IS NULL;
CREATE INDEX entries_listed_starred ON entries(starred, sort_time DESC, id DESC)
    WHERE dup_of IS NULL;
"""

# Search index writes batched (issue 2, cold-poll speed): a post's row used to reach the
# index through an AFTER INSERT trigger, one FTS5 insert per post. FTS5 flushes its pending
# terms at every statement that opens a savepoint around a virtual-table write, so each post
# became an index segment of its own, merged again and again: ≈7 ms of the writer's ≈9 ms
# per feed (bench/poll.py feeds). Now the posts a transaction inserts are indexed by one
# INSERT … SELECT just before it commits (``Store._index_new_posts``), ≈2.7 ms per feed.
# The delete/update triggers act only on posts already in the index (a row in the FTS5
# docsize table, which FTS5 writes at once): a post inserted and then changed or removed in
# the same transaction is indexed as it stands at the commit, or not at all.
_V6 = """
DROP TRIGGER entries_fts_insert;
DROP TRIGGER entries_fts_delete;
DROP TRIGGER entries_fts_update;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries
WHEN EXISTS (SELECT 1 FROM entries_fts_docsize WHERE id = old.id)
BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary, content, categories)
    VALUES ('delete', old.id, old.title, old.summary, old.content, old.categories);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, summary, content, categories ON entries
WHEN EXISTS (SELECT 1 FROM entries_fts_docsize WHERE id = old.id)
BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, summary, content, categories)
    VALUES ('delete', old.id, old.title, old.summary, old.content, old.categories);
    INSERT INTO entries_fts(rowid, title, summary, content, categories)
    VALUES (new.id, new.title, new.summary, new.content, new.categories);
END;
"""

# A site-wide comments feed whose comments wait for their post used to be fetched and read
# in full at every poll (no validators kept), for as long as any waited: on a real blog,
# whose comments feed names posts older than its post feed shows, that was every poll
# forever. Now its validators are kept, and ``orphans_upto`` records the newest post of its
# site when it was read; it is read in full again only once the site has a newer post.
_V7 = """
ALTER TABLE feeds ADD COLUMN orphans_upto INTEGER;
"""

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda db: _run_script(db, _V1),
    lambda db: _run_script(db, _V2),  # the Starred view on a big cache: 180 ms → ~1 ms
    lambda db: _run_script(db, _V3),  # comments
    lambda db: _run_script(db, _V4),  # topics, cross-posts
    lambda db: _run_script(db, _V5),  # search prefixes, indexes of the listed posts
    lambda db: _run_script(db, _V6),  # search index written once per transaction
    lambda db: _run_script(db, _V7),  # comments waiting for their post
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class UpdateCounts:
    new: int
    updated: int


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_query(text: str) -> str:
    """A user's search words as an FTS5 query: every word must appear (prefix match on
    each), quotes keep phrases; FTS5 syntax characters in the input are never operators."""
    terms: list[str] = []
    phrase: list[str] = []
    in_quote = False
    for chunk in text.replace("\u201c", '"').replace("\u201d", '"').split('"'):
        words = [w for w in "".join(c if c.isalnum() else " " for c in chunk).split() if w]
        if in_quote and words:
            phrase.append('"' + " ".join(words) + '"')
        else:
            terms.extend('"' + w + '"*' for w in words)
        in_quote = not in_quote
    return " ".join(terms + phrase)


# --------------------------------------------------------------------------- filters → SQL

_FTS_IDS = "SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?"
# a blog category of the post, or a tag of its feed or of a feed that carries a copy
_TAG_SQL = (
    "EXISTS (SELECT 1 FROM entry_categories c WHERE c.entry_id = e.id AND c.name = ?)"
    " OR EXISTS (SELECT 1 FROM feed_tags t WHERE t.feed_id = e.feed_id"
    " AND t.tag = ? COLLATE NOCASE)"
    " OR EXISTS (SELECT 1 FROM entries d JOIN feed_tags t ON t.feed_id = d.feed_id"
    " WHERE d.dup_of = e.id AND t.tag = ? COLLATE NOCASE)"
)
_TOPIC_SQL = "EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = e.id AND t.topic = ?)"
_FLAG_SQL = {"unread": "(e.read = 0)", "read": "(e.read = 1)", "starred": "(e.starred = 1)"}


def _fts_expr(node: QueryNode) -> str | None:
    """A subtree made only of free words and phrases as one FTS5 expression (every word
    quoted, so nothing the user typed is FTS5 syntax); None if it tests anything else.
    "" for words with nothing searchable in them (they match every post)."""
    if isinstance(node, Text):
        found = fts_query(f'"{node.value}"' if node.phrase else node.value)
        return f"({found})" if found else ""
    if isinstance(node, AnyOf) and node.parts:
        parts = [_fts_expr(p) for p in node.parts]
        if any(p is None for p in parts):
            return None
        if "" in parts:
            return ""
        return "(" + " OR ".join(p for p in parts if p) + ")"
    if isinstance(node, AllOf) and node.parts:
        match, rest = _split_text(node.parts)
        return _fts_and(match) if match and not rest else None
    return None


def _split_text(parts: Sequence[QueryNode]) -> tuple[list[str], list[QueryNode]]:
    """ANDed parts → (FTS5 expressions to AND into one MATCH, the other parts). A
    negated text part joins the MATCH as NOT when a positive one is there to hold it."""
    positive: list[str] = []
    negative: list[tuple[str, QueryNode]] = []
    rest: list[QueryNode] = []
    for part in parts:
        text = _fts_expr(part)
        if text is not None:
            if text:
                positive.append(text)
            continue
        inner = _fts_expr(part.part) if isinstance(part, Not) else None
        if inner:
            negative.append((inner, part))
        else:
            rest.append(part)
    if not positive:
        return [], rest + [part for _, part in negative]
    return positive + [f"NOT {n}" for n, _ in negative], rest


def _fts_and(match: Sequence[str]) -> str:
    """ANDed FTS5 expressions; items starting with "NOT " subtract from what precedes."""
    expr = " AND ".join(m for m in match if not m.startswith("NOT "))
    for m in match:
        if m.startswith("NOT "):
            expr = f"({expr}) {m}"
    return f"({expr})"


def _epoch(field: str, value: str) -> int:
    """A resolved since:/before: value (ISO date or date-time) as epoch seconds."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{field}:{value} is not a date (resolve the query first)") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp())


class Store:
    """The cache file. One instance per thread; open with :meth:`open`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        # (data_version, {MATCH: its posts' ids, None if many}): see _fts_matches
        self._fts_estimates: tuple[int, dict[str, list[int] | None]] = (-1, {})
        self._held: Path | None = None  # this file in _HELD, while open
        # posts inserted by the open write transaction, indexed just before it commits
        self._unindexed: list[int] = []

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: Path, *, timeout: float = 5.0) -> Store:
        """Open or create the cache; refuse a damaged, foreign or newer file untouched."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        held = _hold(path)  # checks the header, unless this process has the file open
        try:
            db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            _release(held)
            raise StoreError(f"cannot open {path}: {exc}") from None
        try:
            store = cls(db, path)
            store._held = held
            store._check_owner()  # before anything that writes, such as journal_mode
            store._configure(timeout)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            db.close()
            _release(held)
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"{path} is busy: another carefeed is upgrading it") from None
            raise CorruptCacheError(_damaged(path)) from None
        except BaseException:
            db.close()
            _release(held)
            raise
        return store

    def _configure(self, timeout: float) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        # Test-only hook (HOSTILE.md case 60): cap this connection's file at N pages, so a
        # test meets SQLITE_FULL ("disk full") a few pages into a poll. Never set it in use.
        max_pages = os.environ.get("CAREFEED_TEST_MAX_PAGES", "")
        if max_pages.isdigit():
            db.execute(f"PRAGMA max_page_count = {int(max_pages)}")

    def _check_owner(self) -> None:
        """Refuse another program's database or a newer carefeed's, without a write."""
        db = self._db
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        has_tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        if app_id != APPLICATION_ID and (has_tables or app_id != 0):
            raise SchemaVersionError(
                f"{self.path} belongs to another program, not carefeed: "
                "choose another --home or move it away"
            )
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} was written by a newer carefeed (schema {version}, this one "
                f"knows {SCHEMA_VERSION}): upgrade carefeed"
            )

    def _migrate(self) -> None:
        db = self._db
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # re-read under lock
            for step in MIGRATIONS[version:]:
                step(db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
        if self._held is not None:
            _release(self._held)
            self._held = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; taken IMMEDIATE so it waits for the lock up front
        instead of failing with "database is locked" halfway through."""
        db = self._db
        if db.in_transaction:  # inside batch(): all or nothing still, as a savepoint
            db.execute("SAVEPOINT write")
            inserted_before = len(self._unindexed)
            try:
                yield db
            except BaseException:
                if db.in_transaction:  # SQLITE_FULL has already rolled it all back
                    db.execute("ROLLBACK TO write")
                    db.execute("RELEASE write")
                    del self._unindexed[inserted_before:]
                raise
            db.execute("RELEASE write")
            return
        db.execute("BEGIN IMMEDIATE")
        self._unindexed.clear()
        try:
            yield db
            self._index_new_posts(db)
            db.execute("COMMIT")
        except BaseException as exc:
            self._unindexed.clear()
            if db.in_transaction:  # SQLITE_FULL has already rolled it back
                db.execute("ROLLBACK")
            if (
                isinstance(exc, sqlite3.OperationalError)
                and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
            ):
                raise StoreError(
                    f"cache is full: no room to write {self.path} (disk full?); "
                    "what was stored before is kept"
                ) from None
            raise

    def _index_new_posts(self, db: sqlite3.Connection) -> None:
        """Add the posts this transaction inserted to the search index, in one statement
        (see _V6 for why not a trigger per post). Rows since removed are skipped; a row
        changed since it was inserted is indexed as it now stands."""
        if not self._unindexed:
            return
        db.execute(
            "INSERT INTO entries_fts(rowid, title, summary, content, categories)"
            " SELECT id, title, summary, content, categories FROM entries"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(self._unindexed),),
        )
        self._unindexed.clear()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several writes in one transaction, each still all or nothing (a savepoint).

        A poll's writer thread stores the feeds that finished together this way: a commit
        per feed cost more than the feed's rows, mostly in the search index, which FTS5
        flushes at every commit (bench/poll.py: 10.3 → 8.5 ms of CPU per feed).
        """
        with self._write():
            yield

    # ----------------------------------------------------------------- feeds

    def add_feed(self, sub: Subscription, now: datetime) -> tuple[int, bool]:
        """Subscribe; return (feed id, created). An existing feed gains the new tags."""
        with self._write() as db:
            row = db.execute("SELECT id FROM feeds WHERE url = ?", (sub.url,)).fetchone()
            created = row is None
            if created:
                cur = db.execute(
                    "INSERT INTO feeds (url, user_title, site_url, added) VALUES (?, ?, ?, ?)",
                    (sub.url, sub.title or None, sub.site_url, to_ts(now)),
                )
                feed_id = int(cur.lastrowid or 0)
            else:
                feed_id = int(row[0])
            self._add_tags(db, feed_id, sub.tags)
        return feed_id, created

    def add_feeds(
        self, subs: Sequence[Subscription], now: datetime
    ) -> tuple[list[Subscription], list[Subscription]]:
        """Subscribe to many in one transaction (OPML import); return (added, existing)."""
        added: list[Subscription] = []
        existing: list[Subscription] = []
        with self._write() as db:
            for sub in subs:
                row = db.execute("SELECT id FROM feeds WHERE url = ?", (sub.url,)).fetchone()
                if row is None:
                    cur = db.execute(
                        "INSERT INTO feeds (url, user_title, site_url, added) VALUES (?,?,?,?)",
                        (sub.url, sub.title or None, sub.site_url, to_ts(now)),
                    )
                    feed_id = int(cur.lastrowid or 0)
                    added.append(sub)
                else:
                    feed_id = int(row[0])
                    existing.append(sub)
                self._add_tags(db, feed_id, sub.tags)
        return added, existing

    @staticmethod
    def _add_tags(db: sqlite3.Connection, feed_id: int, tags: Iterable[str]) -> None:
        start = db.execute(
            "SELECT coalesce(max(position), -1) + 1 FROM feed_tags WHERE feed_id = ?", (feed_id,)
        ).fetchone()[0]
        for offset, tag in enumerate(t for t in tags if t):
            db.execute(
                "INSERT OR IGNORE INTO feed_tags (feed_id, tag, position) VALUES (?, ?, ?)",
                (feed_id, tag, start + offset),
            )

    # Read, unstarred posts older than a cut-off that their feed no longer lists: its
    # newest ``last_seen`` is when it was last read in full (every post it listed then got
    # that time), so an older ``last_seen`` means the post has left the feed and will not
    # come back as a new unread post (times are whole seconds: one last seen in the same
    # second as that read is kept). A post other feeds carry as copies stays.
    _PRUNABLE = """
        SELECT e.id FROM entries e
        JOIN (SELECT feed_id, max(last_seen) AS listed FROM entries GROUP BY feed_id) l
            ON l.feed_id = e.feed_id
        WHERE e.read = 1 AND e.starred = 0 AND e.sort_time < ? AND e.last_seen < l.listed
          AND NOT EXISTS (SELECT 1 FROM entries c WHERE c.dup_of = e.id)
    """

    def prune(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete the posts :attr:`_PRUNABLE` names (their comments, topics and search
        entries go with them); how many there were."""
        cutoff = to_ts(before)
        if dry_run:
            row = self._db.execute(f"SELECT count(*) FROM ({self._PRUNABLE})", (cutoff,))
            return int(row.fetchone()[0])
        with self._write() as db:
            deleted = db.execute(f"DELETE FROM entries WHERE id IN ({self._PRUNABLE})", (cutoff,))
            return int(deleted.rowcount)

    def remove_feed(self, feed_id: int) -> None:
        with self._write() as db:
            # A post this feed shared with others lives on as the oldest remaining copy.
            for (original,) in db.execute(
                "SELECT DISTINCT c.dup_of FROM entries c JOIN entries o ON o.id = c.dup_of"
                " WHERE o.feed_id = ?",
                (feed_id,),
            ).fetchall():
                heir = db.execute(
                    "SELECT min(id) FROM entries WHERE dup_of = ? AND feed_id != ?",
                    (original, feed_id),
                ).fetchone()[0]
                db.execute("UPDATE entries SET dup_of = NULL WHERE id = ?", (heir,))
                db.execute(
                    "UPDATE entries SET dup_of = ? WHERE dup_of = ? AND id != ?",
                    (heir, original, heir),
                )
            if db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount == 0:
                raise FeedNotFoundError(f"no feed with id {feed_id}")

    _FEED_COLUMNS = """
        f.id, f.url, coalesce(f.user_title, f.title), f.site_url, f.added, f.last_fetch,
        f.last_ok, f.error, f.error_count, f.next_due, f.interval, f.gone, f.etag,
        f.last_modified, f.body_hash, f.warning,
        (SELECT group_concat(tag, char(31)) FROM
            (SELECT tag FROM feed_tags t WHERE t.feed_id = f.id ORDER BY position)),
        f.orphans_upto
    """

    def _feed_from_row(self, row: Sequence[Any], counts: tuple[int, int] = (0, 0)) -> Feed:
        return Feed(
            id=row[0],
            url=row[1],
            title=row[2] or "",
            site_url=row[3],
            added=from_ts(row[4]) or datetime.fromtimestamp(0, UTC),
            last_fetch=from_ts(row[5]),
            last_ok=from_ts(row[6]),
            error=row[7],
            error_count=row[8],
            next_due=from_ts(row[9]),
            interval=row[10],
            gone=bool(row[11]),
            etag=row[12],
            last_modified=row[13],
            body_hash=row[14],
            warning=row[15],
            tags=tuple(row[16].split("\x1f")) if row[16] else (),
            orphans_upto=row[17],
            entry_count=counts[0],
            unread_count=counts[1],
        )

    def _unmuted(self, mute: Sequence[QueryNode]) -> tuple[str, list[Any]]:
        """`` AND NOT (rule)`` for each mute rule, over ``e``: counts then agree with
        the lists, which hide muted posts."""
        params: list[Any] = []
        sql = "".join(f" AND NOT {self._sql(rule, params)}" for rule in mute)
        return sql, params

    def feeds(self, *, with_counts: bool = True, mute: Sequence[QueryNode] = ()) -> list[Feed]:
        counts: dict[int, tuple[int, int]] = {}
        if with_counts:
            unmuted, params = self._unmuted(mute)
            for feed_id, total, unread in self._db.execute(
                f"SELECT e.feed_id, count(*), sum(e.read = 0) FROM entries e WHERE 1{unmuted}"
                " GROUP BY e.feed_id",
                params,
            ):
                counts[feed_id] = (total, unread or 0)
        rows = self._db.execute(
            f"SELECT {self._FEED_COLUMNS} FROM feeds f ORDER BY "
            "lower(coalesce(f.user_title, nullif(f.title, ''), f.url)), f.id"
        ).fetchall()
        return [self._feed_from_row(r, counts.get(r[0], (0, 0))) for r in rows]

    def feed(self, feed_id: int) -> Feed:
        row = self._db.execute(
            f"SELECT {self._FEED_COLUMNS} FROM feeds f WHERE f.id = ?", (feed_id,)
        ).fetchone()
        if row is None:
            raise FeedNotFoundError(f"no feed with id {feed_id}")
        return self._feed_from_row(row)

    def find_feed(self, key: str) -> Feed:
        """A feed by id, exact URL, or a unique case-insensitive part of its title/URL."""
        if key.isdigit():
            return self.feed(int(key))
        row = self._db.execute("SELECT id FROM feeds WHERE url = ?", (key,)).fetchone()
        if row:
            return self.feed(row[0])
        pattern = f"%{_like_escape(key)}%"
        rows = self._db.execute(
            "SELECT id FROM feeds WHERE coalesce(user_title, title) LIKE ? ESCAPE '\\' "
            "OR url LIKE ? ESCAPE '\\'",
            (pattern, pattern),
        ).fetchall()
        if len(rows) == 1:
            return self.feed(rows[0][0])
        if not rows:
            raise FeedNotFoundError("no feed matches that id, URL or title")
        raise FeedNotFoundError(f"{len(rows)} feeds match; give more of the title, or the id")

    def feed_id_for_url(self, url: str) -> int | None:
        row = self._db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
        return None if row is None else int(row[0])

    def feeds_to_poll(
        self, now: datetime, *, due_only: bool, force: bool, feed_ids: Sequence[int] | None
    ) -> list[Feed]:
        """Feeds a poll should fetch: never gone ones; unless forced, not those deferred by
        back-off or Retry-After; with ``due_only``, only those whose own time has come."""
        clauses = ["f.gone = 0"]
        params: list[Any] = []
        if feed_ids is not None:
            clauses.append(f"f.id IN ({','.join('?' * len(feed_ids))})")
            params.extend(feed_ids)
        elif not force:
            if due_only:
                clauses.append("(f.next_due IS NULL OR f.next_due <= ?)")
            else:
                clauses.append("(f.error_count = 0 OR f.next_due IS NULL OR f.next_due <= ?)")
            params.append(to_ts(now))
        rows = self._db.execute(
            f"SELECT {self._FEED_COLUMNS} FROM feeds f WHERE {' AND '.join(clauses)} ORDER BY f.id",
            params,
        ).fetchall()
        return [self._feed_from_row(r) for r in rows]

    def count_deferred(self, now: datetime) -> int:
        return int(
            self._db.execute(
                "SELECT count(*) FROM feeds WHERE gone = 1 OR (error_count > 0 AND next_due > ?)",
                (to_ts(now),),
            ).fetchone()[0]
        )

    def set_feed_gone(self, feed_id: int, gone: bool) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE feeds SET gone = ?, error_count = 0, next_due = NULL WHERE id = ?",
                (int(gone), feed_id),
            )

    # ----------------------------------------------------------------- polling writes

    def entry_states(self, feed_id: int) -> dict[str, EntryState]:
        return {
            guid: EntryState(guid=guid, hash=h, updated=from_ts(upd), hash_changes=changes)
            for guid, h, upd, changes in self._db.execute(
                "SELECT guid, hash, updated, hash_changes FROM entries WHERE feed_id = ?",
                (feed_id,),
            )
        }

    def apply_update(
        self,
        feed: FeedIntent,
        entries: Sequence[EntryIntent],
        seen_guids: Sequence[str] = (),
    ) -> UpdateCounts:
        """Write one feed's poll: posts, search index and feed row, all or nothing.

        Insert-or-update is decided again here (ON CONFLICT) because another process may
        have written the same post since the decision was made.
        """
        now = to_ts(feed.fetched_at)
        new = updated = 0
        with self._write() as db:
            if db.execute("SELECT 1 FROM feeds WHERE id = ?", (feed.feed_id,)).fetchone() is None:
                raise FeedNotFoundError("feed removed during the poll")
            for intent in entries:
                inserted = self._upsert_entry(db, feed.feed_id, intent, now or 0)
                if inserted is not None:
                    self._unindexed.append(inserted)
                    new += 1
                else:
                    updated += 1
            if seen_guids:
                written = {intent.data.guid for intent in entries}  # last_seen set above
                db.executemany(
                    "UPDATE entries SET last_seen = ? WHERE feed_id = ? AND guid = ?",
                    ((now, feed.feed_id, g) for g in seen_guids if g not in written),
                )
            self._write_feed_row(db, feed)
        return UpdateCounts(new=new, updated=updated)

    @staticmethod
    def _upsert_entry(
        db: sqlite3.Connection, feed_id: int, intent: EntryIntent, now: int
    ) -> int | None:
        """Insert or rewrite one post; the new row's id when it was inserted, else None."""
        e = intent.data
        published = to_ts(e.published or e.updated)
        dated = published is not None
        row = db.execute(
            "SELECT id, first_seen FROM entries WHERE feed_id = ? AND guid = ?", (feed_id, e.guid)
        ).fetchone()
        first_seen = row[1] if row else now
        if published is None:
            published = first_seen
        sort_time = min(published, first_seen)
        values = (
            e.link,
            e.title,
            e.author,
            published,
            int(dated),
            to_ts(e.updated),
            sort_time,
            e.summary,
            e.content,
            json.dumps(list(e.categories), ensure_ascii=False),
            e.comments_url,
            e.comments_feed,
            e.comment_count,
            intent.hash,
            intent.hash_changes,
            now,
        )
        if row is None:
            original = Store._cross_post_original(db, feed_id, e)
            cur = db.execute(
                "INSERT INTO entries (link, title, author, published, dated, updated, sort_time,"
                " summary, content, categories, comments_url, comments_feed, comment_count,"
                " hash, hash_changes, last_seen, feed_id, guid, first_seen, dup_of, read,"
                " starred)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, feed_id, e.guid, now, *(original or (None, 0, 0))),
            )
            entry_id = int(cur.lastrowid or 0)
        else:
            entry_id = int(row[0])
            db.execute(
                "UPDATE entries SET link=?, title=?, author=?, published=?, dated=?, updated=?,"
                " sort_time=?, summary=?, content=?, categories=?, comments_url=?,"
                " comments_feed=?, comment_count=?, hash=?, hash_changes=?, last_seen=?"
                " WHERE id = ?",
                (*values, entry_id),
            )
            db.execute("DELETE FROM entry_categories WHERE entry_id = ?", (entry_id,))
        db.executemany(
            "INSERT OR IGNORE INTO entry_categories (entry_id, name) VALUES (?, ?)",
            ((entry_id, c) for c in e.categories),
        )
        Store._write_topics(db, entry_id, intent.topics, replace=row is not None)
        return entry_id if row is None else None

    @staticmethod
    def _cross_post_original(
        db: sqlite3.Connection, feed_id: int, e: EntryData
    ) -> tuple[int, int, int] | None:
        """The post another feed already carries under the same address (its link, or a
        guid that is itself a URL): (id, read, starred), so the copy joins it, or None.

        Only URLs count: a bare guid such as "1234" is unique within one feed only.
        """
        keys = [k for k in (e.link, e.guid) if k and "://" in k]
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        row = db.execute(
            "SELECT o.id, o.read, o.starred FROM entries c"
            " JOIN entries o ON o.id = coalesce(c.dup_of, c.id)"
            f" WHERE c.link IN ({marks}) AND c.feed_id != ? ORDER BY c.id LIMIT 1",
            (*keys, feed_id),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    @staticmethod
    def _write_topics(
        db: sqlite3.Connection, entry_id: int, topics: Sequence[TopicMatch], *, replace: bool
    ) -> None:
        if replace:
            db.execute("DELETE FROM entry_topics WHERE entry_id = ?", (entry_id,))
        db.executemany(
            "INSERT OR IGNORE INTO entry_topics (entry_id, topic, inferred, position)"
            " VALUES (?, ?, ?, ?)",
            ((entry_id, t.name, int(t.inferred), i) for i, t in enumerate(topics)),
        )

    @staticmethod
    def _write_feed_row(db: sqlite3.Connection, feed: FeedIntent) -> None:
        sets = [
            "last_fetch = :fetched",
            "next_due = :next_due",
            "error = :error",
            "error_count = :error_count",
            "gone = :gone",
        ]
        params: dict[str, Any] = {
            "id": feed.feed_id,
            "fetched": to_ts(feed.fetched_at),
            "next_due": to_ts(feed.next_due),
            "error": feed.error,
            "error_count": feed.error_count,
            "gone": int(feed.gone),
        }
        if feed.ok:
            sets += [
                "last_ok = :fetched",
                "etag = :etag",
                "last_modified = :last_modified",
                "warning = :warning",
            ]
            params.update(etag=feed.etag, last_modified=feed.last_modified, warning=feed.warning)
            if feed.body_hash is not None:
                sets.append("body_hash = :body_hash")
                params["body_hash"] = feed.body_hash
        if feed.feed_data is not None:
            sets += [
                "title = :title",
                "site_url = coalesce(:site, site_url)",
                "generator = :gen",
                "orphans_upto = :orphans_upto",  # read in full: what waits is known anew
            ]
            params.update(
                title=feed.feed_data.title,
                site=feed.feed_data.site_url,
                gen=feed.feed_data.generator,
                orphans_upto=feed.orphans_upto,
            )
        if feed.new_url is not None:
            taken = db.execute(
                "SELECT 1 FROM feeds WHERE url = ? AND id != ?", (feed.new_url, feed.feed_id)
            ).fetchone()
            if taken is None:
                sets.append("url = :new_url")
                params["new_url"] = feed.new_url
        db.execute(f"UPDATE feeds SET {', '.join(sets)} WHERE id = :id", params)

    # ----------------------------------------------------------------- entries

    _ENTRY_COLUMNS = """
        e.id, e.feed_id, coalesce(f.user_title, nullif(f.title, ''), f.url), e.guid, e.title,
        e.link, e.author, e.published, e.updated, e.summary, e.content, e.categories,
        e.comments_url, e.comments_feed, e.comment_count, e.read, e.starred, e.first_seen,
        e.dated, e.sort_time,
        (SELECT cf.stored FROM comment_feeds cf WHERE cf.entry_id = e.id),
        (SELECT cf.seen_count FROM comment_feeds cf WHERE cf.entry_id = e.id),
        (SELECT group_concat(topic || char(30) || inferred, char(31)) FROM
            (SELECT topic, inferred FROM entry_topics t WHERE t.entry_id = e.id
             ORDER BY position)),
        (SELECT group_concat(title, char(31)) FROM
            (SELECT coalesce(fc.user_title, nullif(fc.title, ''), fc.url) AS title
             FROM entries c JOIN feeds fc ON fc.id = c.feed_id
             WHERE c.dup_of = coalesce(e.dup_of, e.id) AND c.id != e.id
             UNION ALL
             SELECT coalesce(fo.user_title, nullif(fo.title, ''), fo.url)
             FROM entries o JOIN feeds fo ON fo.id = o.feed_id WHERE o.id = e.dup_of))
    """

    @staticmethod
    def _entry_from_row(row: Sequence[Any]) -> Entry:
        return Entry(
            id=row[0],
            feed_id=row[1],
            feed_title=row[2],
            guid=row[3],
            title=row[4],
            link=row[5],
            author=row[6],
            published=from_ts(row[7]) or datetime.fromtimestamp(0, UTC),
            updated=from_ts(row[8]),
            summary=row[9],
            content=row[10],
            categories=tuple(json.loads(row[11])),
            comments_url=row[12],
            comments_feed=row[13],
            comment_count=row[14],
            read=bool(row[15]),
            starred=bool(row[16]),
            first_seen=from_ts(row[17]) or datetime.fromtimestamp(0, UTC),
            dated=bool(row[18]),
            sort_time=row[19],
            comments_stored=row[20] or 0,
            comments_seen=row[21],
            topics=tuple(
                TopicMatch(name, inferred == "1")
                for name, _, inferred in (t.partition("\x1e") for t in row[22].split("\x1f"))
            )
            if row[22]
            else (),
            also_in=tuple(row[23].split("\x1f")) if row[23] else (),
        )

    def _where(self, flt: EntryFilter) -> tuple[list[str], list[Any]]:
        """The WHERE clauses (ANDed) and their parameters for a filter.

        Every part compiles to a boolean SQL expression that is never NULL, so ``and``,
        ``or`` and ``-`` of the query language compose as plain AND/OR/NOT. Free words
        ANDed at the top (``--search`` and the query's own) become one FTS5 MATCH, whose
        plan is chosen by how many posts it matches (see :meth:`_fts_clause`).
        """
        clauses: list[str] = ["e.dup_of IS NULL"]  # a cross-post is listed once
        params: list[Any] = []
        if flt.feed is not None:
            clauses.append(
                "(e.feed_id = ? OR EXISTS (SELECT 1 FROM entries d WHERE d.dup_of = e.id"
                " AND d.feed_id = ?))"
            )
            params += [self.find_feed(flt.feed).id] * 2
        for tag in flt.tags:
            clauses.append(f"({_TAG_SQL})")
            params += [tag, tag, tag]
        for topic in flt.topics:
            clauses.append(self._topic_clause(topic, params))
        if flt.unread:
            clauses.append("e.read = 0")
        if flt.starred:
            clauses.append("e.starred = 1")
        top: list[QueryNode] = []
        if flt.query is not None:
            top = list(flt.query.parts) if isinstance(flt.query, AllOf) else [flt.query]
        match, rest = _split_text(top)
        if flt.search and fts_query(flt.search):
            match = [f"({fts_query(flt.search)})", *match]
        for node in rest:
            if isinstance(node, Term) and node.field == "topic":
                clauses.append(self._topic_clause(node.value, params))
            else:
                clauses.append(self._sql(node, params))
        if match:
            others = bool(flt.feed or flt.tags or flt.topics or rest or flt.mute)
            clauses.append(self._fts_clause(_fts_and(match), params, others=others))
        for mute in flt.mute:
            clauses.append(f"NOT {self._sql(mute, params)}")
        return clauses, params

    # A search that matches at least this many posts is "common": the list walks the
    # date index and probes the matches (the first page stops after ~200 rows); below
    # it, the matches drive and are sorted (a rare word never walks 100k rows).
    FTS_COMMON = 2000

    def _fts_clause(self, match: str, params: list[Any], *, others: bool) -> str:
        """The top-level full-text test and its plan.

        100,000-post cache, first page of 200: a word in every post costs ~11 ms walking
        the listed posts' date index and probing the matches ("+e.id" keeps SQLite from
        driving by the matches) against ~110 ms sorting all matches. A word in one post
        costs ~5 ms walking (index only) against 0.02 ms driven by the matches. So a
        search alone (with unread/starred at most) always walks; with other tests that
        read rows (tags, feeds, topics, query terms), walking to the end for a rare word
        can cost far more, and a bounded read of the matches (1-10 ms: FTS5 merges a
        prefix's words in full) chooses. When it found them all (fewer than
        FTS_COMMON), those ids drive the listing, and FTS5 is not asked twice.
        """
        found = self._fts_matches(match) if others else None
        if found is None:
            params.append(match)
            return f"+e.id IN ({_FTS_IDS})"
        params.append(json.dumps(found))
        return "e.id IN (SELECT value FROM json_each(?))"

    def _fts_matches(self, match: str) -> list[int] | None:
        """Every post ``match`` finds, or None when there are FTS_COMMON or more;
        remembered (the pages and the count of one listing ask again) until the cache
        changes: ``data_version`` moves when any other connection commits."""
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        seen, cache = self._fts_estimates
        if seen != version or len(cache) > 64:
            cache = {}
            self._fts_estimates = (version, cache)
        if match not in cache:
            rows = self._db.execute(f"{_FTS_IDS} LIMIT ?", (match, self.FTS_COMMON)).fetchall()
            cache[match] = None if len(rows) >= self.FTS_COMMON else [r[0] for r in rows]
        return cache[match]

    def _topic_clause(self, topic: str, params: list[Any]) -> str:
        """A topic ANDed at the top: a rare one drives the listing through its index (a
        walk of the date index to the end costs ~60 ms at 100,000 posts), a common one is
        probed post by post as the date index is walked (no sort of every match)."""
        params.append(topic)
        found = self._db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM entry_topics WHERE topic = ? LIMIT ?)",
            (topic, self.FTS_COMMON),
        ).fetchone()[0]
        if found < self.FTS_COMMON:
            return "e.id IN (SELECT entry_id FROM entry_topics WHERE topic = ?)"
        return f"({_TOPIC_SQL})"

    def _sql(self, node: QueryNode, params: list[Any]) -> str:
        """One query node as a parenthesised boolean SQL expression over ``e``."""
        if isinstance(node, Term):
            return self._term_sql(node, params)
        if isinstance(node, Not):
            return f"(NOT {self._sql(node.part, params)})"
        text = _fts_expr(node)
        if text is not None:
            if text == "":
                return "(1)"
            params.append(text)
            return f"(+e.id IN ({_FTS_IDS}))"
        if isinstance(node, AnyOf):
            if not node.parts:
                return "(0)"
            return "(" + " OR ".join(self._sql(p, params) for p in node.parts) + ")"
        assert isinstance(node, AllOf)
        match, rest = _split_text(node.parts)
        parts = [self._sql(p, params) for p in rest]
        if match:
            params.append(_fts_and(match))
            parts.append(f"+e.id IN ({_FTS_IDS})")
        return "(" + " AND ".join(parts) + ")" if parts else "(1)"

    def _term_sql(self, term: Term, params: list[Any]) -> str:
        field, value = term.field, term.value
        if field == "topic":
            params.append(value)
            return f"({_TOPIC_SQL})"
        if field == "tag":
            params += [value, value, value]
            return f"({_TAG_SQL})"
        if field == "feed":
            pattern = f"%{_like_escape(value)}%"
            feeds = (
                "SELECT id FROM feeds WHERE coalesce(user_title, '') LIKE ? ESCAPE '\\'"
                " OR title LIKE ? ESCAPE '\\' OR url LIKE ? ESCAPE '\\' OR id = ?"
            )
            ident = int(value) if value.isdigit() else -1
            params += [pattern, pattern, pattern, ident] * 2
            return (
                f"(e.feed_id IN ({feeds}) OR EXISTS (SELECT 1 FROM entries d"
                f" WHERE d.dup_of = e.id AND d.feed_id IN ({feeds})))"
            )
        if field == "author":
            params.append(f"%{_like_escape(value)}%")
            return "(coalesce(e.author, '') LIKE ? ESCAPE '\\')"
        if field == "is" and value in _FLAG_SQL:
            return _FLAG_SQL[value]
        if field == "has" and value == "comments":
            return (
                "(coalesce(e.comment_count, 0) > 0 OR EXISTS (SELECT 1 FROM comment_feeds cf"
                " WHERE cf.entry_id = e.id AND cf.stored > 0))"
            )
        if field in ("since", "before"):
            params.append(_epoch(field, value))
            return "(e.sort_time >= ?)" if field == "since" else "(e.sort_time < ?)"
        raise QueryError(f"{field}:{value} cannot be used in a filter")

    def entries(
        self,
        flt: EntryFilter = EntryFilter(),
        *,
        limit: int | None = 50,
        before: tuple[int, int] | None = None,
    ) -> list[Entry]:
        """Newest first; ``before`` is the (sort_time, id) key of the last row of the
        previous page (keyset paging: page 500 costs what page 1 costs)."""
        clauses, params = self._where(flt)
        if before is not None:
            clauses.append("(e.sort_time, e.id) < (?, ?)")
            params += list(before)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT {self._ENTRY_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id "
            f"{where} ORDER BY e.sort_time DESC, e.id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._entry_from_row(r) for r in self._db.execute(sql, params)]

    def page_key_at(self, flt: EntryFilter, index: int) -> tuple[int, int] | None:
        """The keyset key of the ``index``-th post (0-based) of a listing, so a reader can
        jump to any page (End, a scrollbar drag) without reading the pages before it."""
        clauses, params = self._where(flt)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        row = self._db.execute(
            f"SELECT e.sort_time, e.id FROM entries e {where} "
            "ORDER BY e.sort_time DESC, e.id DESC LIMIT 1 OFFSET ?",
            [*params, index],
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def count_entries(self, flt: EntryFilter = EntryFilter()) -> int:
        clauses, params = self._where(flt)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return int(
            self._db.execute(f"SELECT count(*) FROM entries e {where}", params).fetchone()[0]
        )

    def entry(self, entry_id: int) -> Entry:
        row = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id "
            "WHERE e.id = ?",
            (entry_id,),
        ).fetchone()
        if row is None:
            raise EntryNotFoundError(f"no post with id {entry_id}")
        return self._entry_from_row(row)

    def set_flags(
        self, entry_ids: Sequence[int], *, read: bool | None = None, starred: bool | None = None
    ) -> int:
        sets = []
        if read is not None:
            sets.append(f"read = {int(read)}")
        if starred is not None:
            sets.append(f"starred = {int(starred)}")
        if not sets or not entry_ids:
            return 0
        # A cross-posted post is one post: marking any copy marks them all.
        with self._write() as db:
            db.executemany(
                f"UPDATE entries SET {', '.join(sets)} WHERE dup_of = "
                "(SELECT coalesce(dup_of, id) FROM entries WHERE id = ?)",
                ((i,) for i in entry_ids),
            )
            return db.executemany(
                f"UPDATE entries SET {', '.join(sets)} WHERE id = "
                "(SELECT coalesce(dup_of, id) FROM entries WHERE id = ?) OR id = ?",
                ((i, i) for i in entry_ids),
            ).rowcount

    def _label_counts(self, sql: str, mute: Sequence[QueryNode]) -> list[LabelCount]:
        """(name, posts, unread) rows of ``sql``, whose ``{unmuted}`` takes the mute test."""
        unmuted, params = self._unmuted(mute)
        rows = self._db.execute(sql.format(unmuted=unmuted), params).fetchall()
        return [LabelCount(name, total, unread) for name, total, unread in rows]

    def tag_counts(self, mute: Sequence[QueryNode] = ()) -> list[LabelCount]:
        """Feed tags (OPML folders, --tag) with post counts, alphabetically."""
        return self._label_counts(
            "SELECT t.tag, count(e.id), coalesce(sum(e.read = 0), 0) FROM feed_tags t "
            "LEFT JOIN entries e ON e.feed_id = t.feed_id{unmuted} GROUP BY t.tag COLLATE NOCASE "
            "ORDER BY lower(t.tag)",
            mute,
        )

    def topic_counts(self, mute: Sequence[QueryNode] = ()) -> list[LabelCount]:
        """Canonical topics with post and unread counts (cross-posts once), by name."""
        return self._label_counts(
            "SELECT t.topic, count(*), coalesce(sum(e.read = 0), 0) FROM entry_topics t"
            " JOIN entries e ON e.id = t.entry_id WHERE e.dup_of IS NULL{unmuted}"
            " GROUP BY t.topic ORDER BY t.topic",
            mute,
        )

    # ----------------------------------------------------------------- topics

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def retag(
        self,
        classify: Callable[[Sequence[str], str, str], Sequence[TopicMatch]],
        fingerprint: str,
        *,
        batch: int = 2000,
        topic_chars: int = 1000,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Give every cached post its topics again under a changed taxonomy.

        Batches of short transactions, so a poll or the reader writing at the same time
        waits milliseconds, not the whole run. The fingerprint is recorded last: a run
        that is interrupted is simply done again next time. ``topic_chars``: how much of
        the content stands in for a missing summary (decide.topic_text, which the
        poller uses, must agree).
        """
        total = int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])
        done = 0
        last_id = -1
        while True:
            rows = self._db.execute(
                "SELECT id, categories, title, CASE WHEN summary != '' THEN summary"
                " ELSE substr(content, 1, ?) END FROM entries WHERE id > ? ORDER BY id LIMIT ?",
                (topic_chars, last_id, batch),
            ).fetchall()
            if not rows:
                break
            tagged = [
                (entry_id, classify(tuple(json.loads(cats)), title, summary))
                for entry_id, cats, title, summary in rows
            ]
            with self._write() as db:
                db.execute(
                    "DELETE FROM entry_topics WHERE entry_id BETWEEN ? AND ?",
                    (rows[0][0], rows[-1][0]),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO entry_topics (entry_id, topic, inferred, position)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        (entry_id, t.name, int(t.inferred), i)
                        for entry_id, topics in tagged
                        for i, t in enumerate(topics)
                    ),
                )
            last_id = rows[-1][0]
            done += len(rows)
            if progress is not None:
                progress(done, total)
        self.set_meta(TAXONOMY_KEY, fingerprint)
        return done

    def category_counts(
        self, limit: int | None = None, mute: Sequence[QueryNode] = ()
    ) -> list[LabelCount]:
        """Blog categories as written (case folded together), most used first; a
        cross-post counts once."""
        unmuted, params = self._unmuted(mute)
        sql = (
            "SELECT min(c.name), count(*), coalesce(sum(e.read = 0), 0) FROM entry_categories c "
            f"JOIN entries e ON e.id = c.entry_id WHERE e.dup_of IS NULL{unmuted} "
            "GROUP BY c.name ORDER BY count(*) DESC, lower(c.name)"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [LabelCount(n, t, u) for n, t, u in self._db.execute(sql, params)]

    # ----------------------------------------------------------------- comments

    def comment_state(self, entry_id: int) -> CommentState:
        row = self._db.execute(
            "SELECT url, etag, last_modified, last_fetch, error, seen_at, seen_count, stored"
            " FROM comment_feeds WHERE entry_id = ?",
            (entry_id,),
        ).fetchone()
        if row is None:
            return CommentState(entry_id=entry_id)
        return CommentState(
            entry_id=entry_id,
            feed_url=row[0],
            etag=row[1],
            last_modified=row[2],
            last_fetch=from_ts(row[3]),
            error=row[4],
            seen_at=from_ts(row[5]),
            seen_count=row[6],
            stored=row[7],
        )

    def comment_source(self, entry_id: int) -> tuple[Entry, str, str | None]:
        """A post with its feed's URL and generator (where its comment feed may be)."""
        entry = self.entry(entry_id)
        row = self._db.execute(
            "SELECT url, generator FROM feeds WHERE id = ?", (entry.feed_id,)
        ).fetchone()
        return entry, row[0], row[1]

    def comment_candidates(
        self, *, since: datetime, limit: int
    ) -> list[tuple[Entry, str, str | None, CommentState]]:
        """Posts whose comments a poll should refresh, newest first: younger than
        ``since``, or whose comment count changed since their comment feed was last
        fetched. Posts the feed says have no comments are left alone."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS}, f.url, f.generator FROM entries e"
            " JOIN feeds f ON f.id = e.feed_id"
            " LEFT JOIN comment_feeds c ON c.entry_id = e.id"
            " WHERE (e.comments_feed IS NOT NULL OR (e.link IS NOT NULL AND"
            "   lower(coalesce(f.generator, '')) LIKE '%wordpress%'))"
            " AND coalesce(e.comment_count, -1) != 0"
            " AND (e.sort_time >= ? OR (e.comment_count IS NOT NULL"
            "   AND e.comment_count IS NOT c.count_at_fetch))"
            " ORDER BY e.sort_time DESC, e.id DESC LIMIT ?",
            (to_ts(since), limit),
        ).fetchall()
        out = []
        for row in rows:
            entry = self._entry_from_row(row)
            out.append((entry, row[-2], row[-1], self.comment_state(entry.id)))
        return out

    def comments(self, entry_id: int) -> list[Comment]:
        """A post's comments, oldest first, each with its parent's id (or None)."""
        rows = self._db.execute(
            "SELECT id, entry_id, guid, link, author, author_link, published, text,"
            " parent_guid, first_seen FROM comments WHERE entry_id = ?"
            " ORDER BY published, id",
            (entry_id,),
        ).fetchall()
        ids = {row[2]: row[0] for row in rows}
        # a parent named by its #comment-N (another feed's guid for the same comment, or
        # a reply whose parent was only in an earlier fetch) is found by that key
        keys: dict[str, int] = {}
        for row in rows:
            for value in (row[2], row[3]):
                key = comment_key(value)
                if key is not None:
                    keys.setdefault(key, row[0])

        def parent(ref: str | None) -> int | None:
            if ref is None:
                return None
            found = ids.get(ref)
            if found is None:
                key = comment_key(ref)
                found = keys.get(key) if key is not None else None
            return found

        epoch = datetime.fromtimestamp(0, UTC)
        return [
            Comment(
                id=row[0],
                entry_id=row[1],
                guid=row[2],
                link=row[3],
                author=row[4],
                author_link=row[5],
                published=from_ts(row[6]) or epoch,
                text=row[7],
                parent=parent(row[8]),
                first_seen=from_ts(row[9]) or epoch,
            )
            for row in rows
        ]

    def write_comments(
        self,
        target: CommentTarget,
        fetched_at: datetime,
        *,
        comments: Sequence[CommentData] | None = None,
        parents: dict[str, str | None] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
        ok: bool = True,
    ) -> int:
        """Write one comment feed's fetch (all or nothing); return how many comments are new.

        ``comments`` None: nothing to parse (304) or a failure; ``ok`` False keeps the old
        validators so the next try is still conditional. Comments are never deleted: a
        feed that shows only the newest few must not make older ones vanish.
        """
        now = to_ts(fetched_at) or 0
        new = 0
        parents = parents or {}
        with self._write() as db:
            if (
                db.execute("SELECT 1 FROM entries WHERE id = ?", (target.entry_id,)).fetchone()
                is None
            ):
                raise EntryNotFoundError(f"no post with id {target.entry_id}")
            new = self._upsert_comments(db, target.entry_id, comments or (), parents, now)
            stored = db.execute(
                "SELECT count(*) FROM comments WHERE entry_id = ?", (target.entry_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO comment_feeds (entry_id) VALUES (?) ON CONFLICT DO NOTHING",
                (target.entry_id,),
            )
            sets = "url = ?, last_fetch = ?, error = ?, stored = ?"
            params: list[Any] = [target.url, now, error, stored]
            if ok:
                sets += ", etag = ?, last_modified = ?, count_at_fetch = ?"
                params += [etag, last_modified, target.comment_count]
            db.execute(
                f"UPDATE comment_feeds SET {sets} WHERE entry_id = ?",
                (*params, target.entry_id),
            )
        return new

    @staticmethod
    def _upsert_comments(
        db: sqlite3.Connection,
        entry_id: int,
        comments: Iterable[CommentData],
        parents: dict[str, str | None],
        now: int,
    ) -> int:
        """Insert or update one post's comments; return how many are new. A comment is
        the same one when its guid is, or when both end in the same ``#comment-N``
        (WordPress gives one comment different guids in its per-post and site-wide
        feeds, and links on old permalinks)."""
        new = 0
        for c in comments:
            published = to_ts(c.published)
            values = (c.link, c.author, c.author_link, c.text, parents.get(c.guid))
            row = db.execute(
                "SELECT id FROM comments WHERE entry_id = ? AND guid = ?", (entry_id, c.guid)
            ).fetchone()
            key = comment_key(c.guid) or comment_key(c.link)
            if row is None and key is not None:
                row = db.execute(
                    "SELECT id FROM comments WHERE entry_id = ? AND (guid LIKE ? OR link LIKE ?)"
                    " ORDER BY id LIMIT 1",
                    (entry_id, f"%#{key}", f"%#{key}"),
                ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO comments (link, author, author_link, text, parent_guid,"
                    " entry_id, guid, published, dated, first_seen)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        *values,
                        entry_id,
                        c.guid,
                        published if published is not None else now,
                        int(published is not None),
                        now,
                    ),
                )
                new += 1
            else:
                db.execute(
                    "UPDATE comments SET link=coalesce(?, link), author=?, author_link=?,"
                    " text=?, parent_guid=coalesce(?, parent_guid),"
                    " published=coalesce(?, published) WHERE id = ?",
                    (*values, published, row[0]),
                )
        return new

    def comment_posts_near(self, feed_url: str) -> list[PostRef]:
        """Posts a site-wide comments feed at ``feed_url`` may attach comments to: those
        of feeds on its host, and those whose link is on it (a blog whose posts come
        through FeedBurner). comments.attach_site_comments checks the site exactly."""
        near = self._near_site(feed_url)
        if near is None:
            return []
        test, params = near
        rows = self._db.execute(
            "SELECT e.id, e.guid, e.link, e.title, f.url FROM entries e"
            f" JOIN feeds f ON f.id = e.feed_id WHERE {test}",
            params,
        ).fetchall()
        return [PostRef(*row) for row in rows]

    def newest_post_near(self, feed_url: str) -> int:
        """The highest post id among :meth:`comment_posts_near` (0 when there is none):
        a site-wide comments feed's waiting comments may attach once this has grown."""
        near = self._near_site(feed_url)
        if near is None:
            return 0
        test, params = near
        row = self._db.execute(
            f"SELECT max(e.id) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE {test}",
            params,
        ).fetchone()
        return int(row[0] or 0)

    @staticmethod
    def _near_site(feed_url: str) -> tuple[str, tuple[str, ...]] | None:
        site = site_of(feed_url)
        if site is None:
            return None
        patterns = [f"%://{h}{end}" for h in (site[0], "www." + site[0]) for end in ("/%", ":%")]
        test = " OR ".join(["f.url LIKE ?"] * 4 + ["e.link LIKE ?"] * 4)
        return test, (*patterns, *patterns)

    def attach_comments(
        self,
        feed_id: int,
        groups: dict[int, tuple[Sequence[CommentData], dict[str, str | None]]],
        now: datetime,
    ) -> int:
        """Write the comments a site-wide comments feed (``feed_id``) gave to each post
        (entry id → (comments, their parent refs)), all or nothing; return how many are
        new. The comments feed adds no posts (any it has from before it was recognised
        stay, with their marks: nothing is deleted behind the user's back); a post's own
        comment-feed state is left alone."""
        ts = to_ts(now) or 0
        new = 0
        with self._write() as db:
            for entry_id, (comments, parents) in groups.items():
                if db.execute("SELECT 1 FROM entries WHERE id = ?", (entry_id,)).fetchone() is None:
                    continue  # removed meanwhile
                new += self._upsert_comments(db, entry_id, comments, parents, ts)
                db.execute(
                    "INSERT INTO comment_feeds (entry_id) VALUES (?) ON CONFLICT DO NOTHING",
                    (entry_id,),
                )
                db.execute(
                    "UPDATE comment_feeds SET stored ="
                    " (SELECT count(*) FROM comments WHERE entry_id = ?) WHERE entry_id = ?",
                    (entry_id, entry_id),
                )
        return new

    def mark_comments_seen(self, entry_id: int, now: datetime) -> None:
        """The reader has seen this post's comments as they are now."""
        with self._write() as db:
            stored = db.execute(
                "SELECT count(*) FROM comments WHERE entry_id = ?", (entry_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO comment_feeds (entry_id, stored, seen_at, seen_count)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (entry_id) DO UPDATE SET"
                " stored = excluded.stored, seen_at = excluded.seen_at,"
                " seen_count = excluded.seen_count",
                (entry_id, stored, to_ts(now), stored),
            )

    # ----------------------------------------------------------------- health

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def search_index_check(self) -> str:
        """ "ok", or why the search index no longer matches the cached posts.

        FTS5's own check, compared against the posts themselves (rank 1), because the index
        is written apart from the rows (see _V6): a bug there would show as search results
        that are missing or wrong, never as a damaged file. It re-reads every post: about
        as long as a rebuild's reading (0.13 s per 2,000 bench posts).
        """
        try:
            self._db.execute(
                "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)"
            )
        except sqlite3.DatabaseError as exc:
            # SQLite says "database disk image is malformed" even when only the index is off
            return one_line_error(f"does not match the cached posts (SQLite: {exc})")
        return "ok"

    def rebuild_search_index(self) -> None:
        """Index every cached post again from its row (read/starred and topics untouched)."""
        with self._write() as db:
            db.execute("INSERT INTO entries_fts(entries_fts) VALUES ('rebuild')")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def size_bytes(self) -> int:
        """The database and its write-ahead log, as they sit on disk."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())


# Cache files this process has open, and how many times. POSIX drops *every* lock a
# process holds on a file when it closes any descriptor of that file, so reading the
# header while another connection of ours has the cache open would silently unlock that
# connection; a `carefeed poll` in another process could then checkpoint and delete the
# WAL under the reader (sqlite.org/howtocorrupt.html 2.2; HOSTILE.md case 55).
_HELD: dict[Path, int] = {}
_HELD_LOCK = threading.Lock()


def _hold(path: Path) -> Path:
    """Count one more open of ``path``; the first one checks the SQLite header."""
    key = path.resolve()
    with _HELD_LOCK:
        if not _HELD.get(key) and path.exists() and path.stat().st_size > 0:
            with path.open("rb") as fh:
                if fh.read(16) != SQLITE_HEADER:
                    raise CorruptCacheError(_damaged(path))
        _HELD[key] = _HELD.get(key, 0) + 1
    return key


def _release(key: Path) -> None:
    with _HELD_LOCK:
        left = _HELD.get(key, 0) - 1
        if left > 0:
            _HELD[key] = left
        else:
            _HELD.pop(key, None)


def _damaged(path: Path) -> str:
    return (
        f"{path} is not a carefeed database or is damaged; it was left untouched "
        "(move it away to start a new cache)"
    )
