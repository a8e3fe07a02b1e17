"""The cache on a real SQLite file: writes, user state, search, paging, refusal of bad files."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carefeed import store as store_module
from carefeed.decide import plan_entries
from carefeed.errors import CorruptCacheError, FeedNotFoundError, SchemaVersionError
from carefeed.model import EntryData, EntryFilter, FeedData, FeedIntent, Subscription
from carefeed.store import SCHEMA_VERSION, Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "cache.db")
    yield s
    s.close()


def write(store: Store, feed_id: int, posts: list[EntryData], when: datetime = NOW):
    intents = plan_entries(store.entry_states(feed_id), posts)
    return store.apply_update(
        FeedIntent(
            feed_id=feed_id,
            fetched_at=when,
            next_due=when + timedelta(hours=1),
            ok=True,
            feed_data=FeedData(title="Practice notes"),
        ),
        intents,
        [p.guid for p in posts],
    )


def sample(n: int, *, prefix: str = "p", start: datetime = NOW) -> list[EntryData]:
    return [
        EntryData(
            guid=f"{prefix}{i}",
            title=f"Supervision notes {i}",
            published=start - timedelta(hours=i),
            categories=("Social work practice", "Mental health") if i % 2 else ("Funding",),
            summary=f"Reflections on caseloads number {i}",
            content="Our team discussed the Care Act duties and eligibility.",
        )
        for i in range(n)
    ]


def test_new_file_gets_schema_and_wal(tmp_path: Path):
    s = Store.open(tmp_path / "c.db")
    s.close()
    db = sqlite3.connect(tmp_path / "c.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == store_module.APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_subscribe_twice_merges_tags(store: Store):
    fid, created = store.add_feed(
        Subscription(url="https://a.example/feed/", title="A", tags=("Sector news",)), NOW
    )
    fid2, created2 = store.add_feed(
        Subscription(url="https://a.example/feed/", tags=("Practice blogs",)), NOW
    )
    assert (created, created2, fid) == (True, False, fid2)
    assert store.feed(fid).tags == ("Sector news", "Practice blogs")


def test_poll_write_then_update_keeps_read_and_starred(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    counts = write(store, fid, sample(3))
    assert (counts.new, counts.updated) == (3, 0)
    first = store.entries(EntryFilter(), limit=None)
    store.set_flags([first[0].id], read=True, starred=True)
    changed = [
        EntryData(
            guid="p0", title="Supervision notes 0 (revised)", published=NOW, categories=("Funding",)
        )
    ]
    counts = write(store, fid, changed, NOW + timedelta(hours=2))
    assert (counts.new, counts.updated) == (0, 1)
    again = store.entry(first[0].id)
    assert again.title == "Supervision notes 0 (revised)"
    assert again.read and again.starred
    assert again.first_seen == first[0].first_seen


def test_posts_that_leave_the_feed_stay(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, sample(10))
    write(store, fid, sample(3), NOW + timedelta(hours=1))
    assert store.count_entries() == 10


def test_filters_and_full_text_search(store: Store):
    a, _ = store.add_feed(
        Subscription(url="https://a.example/feed/", tags=("Practice blogs",)), NOW
    )
    b, _ = store.add_feed(Subscription(url="https://b.example/feed/", title="Council news"), NOW)
    write(store, a, sample(4))
    write(
        store,
        b,
        [
            EntryData(
                guid="x",
                title="Budget [Green Paper] response",
                published=NOW,
                categories=("Finance & funding",),
                content="Deprivation of liberty safeguards were discussed.",
            )
        ],
    )
    assert store.count_entries(EntryFilter(tags=("mental HEALTH",))) == 2
    assert store.count_entries(EntryFilter(tags=("practice blogs",))) == 4
    assert store.count_entries(EntryFilter(feed="council")) == 1
    assert store.count_entries(EntryFilter(search="safeguard")) == 1  # prefix match
    assert store.count_entries(EntryFilter(search='"liberty safeguards"')) == 1
    assert store.count_entries(EntryFilter(search="caseloads")) == 4
    assert store.count_entries(EntryFilter(search='Green" OR "x* NEAR(')) == 0  # no FTS syntax
    store.set_flags([store.entries(limit=1)[0].id], read=True)
    assert store.count_entries(EntryFilter(unread=True)) == 4


def test_keyset_pages_cover_everything_once(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, sample(25))
    seen: list[int] = []
    before = None
    while page := store.entries(limit=10, before=before):
        seen += [e.id for e in page]
        last = page[-1]
        row = store._db.execute("SELECT sort_time FROM entries WHERE id = ?", (last.id,)).fetchone()
        before = (row[0], last.id)
    assert len(seen) == len(set(seen)) == 25


def test_future_dates_do_not_stay_on_top(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(
        store, fid, [EntryData(guid="future", title="Dated 2031", published=NOW.replace(year=2031))]
    )
    write(
        store,
        fid,
        [EntryData(guid="later", title="Arrived later", published=NOW + timedelta(hours=1))],
        NOW + timedelta(hours=2),
    )
    assert [e.guid for e in store.entries()] == ["later", "future"]


def test_undated_post_takes_first_seen_and_is_marked(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, [EntryData(guid="nodate", title="No date")])
    entry = store.entries()[0]
    assert entry.published == NOW and entry.dated is False


def test_removing_a_feed_removes_its_posts(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, sample(2))
    store.remove_feed(fid)
    assert store.count_entries() == 0
    assert store.count_entries(EntryFilter(search="caseloads")) == 0
    with pytest.raises(FeedNotFoundError):
        store.remove_feed(fid)


def test_permanent_redirect_moves_url_unless_taken(store: Store):
    a, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    b, _ = store.add_feed(Subscription(url="https://b.example/feed/"), NOW)
    store.apply_update(
        FeedIntent(
            feed_id=a, fetched_at=NOW, next_due=None, ok=True, new_url="https://a.example/new-feed/"
        ),
        (),
    )
    assert store.feed(a).url == "https://a.example/new-feed/"
    store.apply_update(
        FeedIntent(
            feed_id=b, fetched_at=NOW, next_due=None, ok=True, new_url="https://a.example/new-feed/"
        ),
        (),
    )
    assert store.feed(b).url == "https://b.example/feed/"


def test_failed_poll_keeps_posts_and_validators(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    store.apply_update(
        FeedIntent(
            feed_id=fid,
            fetched_at=NOW,
            next_due=None,
            ok=True,
            etag='"v1"',
            last_modified="Mon, 02 Mar 2026 08:00:00 GMT",
        ),
        plan_entries({}, sample(2)),
    )
    store.apply_update(
        FeedIntent(
            feed_id=fid,
            fetched_at=NOW,
            next_due=NOW,
            ok=False,
            error="HTTP 500 Internal Server Error",
            error_count=1,
        ),
        (),
    )
    feed = store.feed(fid)
    assert feed.etag == '"v1"' and feed.error == "HTTP 500 Internal Server Error"
    assert store.count_entries() == 2


def test_deferred_feeds_are_skipped_unless_forced(store: Store):
    ok, _ = store.add_feed(Subscription(url="https://ok.example/feed/"), NOW)
    sick, _ = store.add_feed(Subscription(url="https://sick.example/feed/"), NOW)
    gone, _ = store.add_feed(Subscription(url="https://gone.example/feed/"), NOW)
    store.apply_update(
        FeedIntent(feed_id=ok, fetched_at=NOW, next_due=NOW + timedelta(hours=1), ok=True), ()
    )
    store.apply_update(
        FeedIntent(
            feed_id=sick,
            fetched_at=NOW,
            ok=False,
            error="HTTP 503",
            error_count=1,
            next_due=NOW + timedelta(hours=1),
        ),
        (),
    )
    store.apply_update(
        FeedIntent(feed_id=gone, fetched_at=NOW, ok=False, error="gone", gone=True, next_due=None),
        (),
    )

    def ids(**kw):
        return {f.id for f in store.feeds_to_poll(NOW + timedelta(minutes=5), feed_ids=None, **kw)}

    assert ids(due_only=False, force=False) == {ok}
    assert ids(due_only=True, force=False) == set()
    assert ids(due_only=False, force=True) == {ok, sick}
    assert {
        f.id
        for f in store.feeds_to_poll(
            NOW + timedelta(hours=2), due_only=True, force=False, feed_ids=None
        )
    } == {ok, sick}


def test_hostile_text_is_stored_literally(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, [EntryData(guid="m", title="[@click=app.quit]x[/]", categories=("[/]",))])
    entry = store.entries()[0]
    assert entry.title == "[@click=app.quit]x[/]" and entry.categories == ("[/]",)


@pytest.mark.parametrize(
    "content",
    [b"\x00garbage" * 1000, b"<?xml version='1.0'?><opml version='2.0'></opml>\n" * 40],
)
def test_garbage_file_is_refused_untouched(tmp_path: Path, content: bytes):
    path = tmp_path / "cache.db"
    path.write_bytes(content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(CorruptCacheError, match="not a carefeed database"):
        Store.open(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_truncated_database_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "cache.db"
    s = Store.open(path)
    fid, _ = s.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(s, fid, sample(300))
    s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(CorruptCacheError):
        Store.open(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_foreign_and_newer_databases_are_refused(tmp_path: Path):
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    with pytest.raises(SchemaVersionError, match="another program"):
        Store.open(foreign)
    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(SchemaVersionError, match="newer carefeed"):
        Store.open(newer)


def test_failed_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration step failed")

    monkeypatch.setattr(store_module, "MIGRATIONS", [broken])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with pytest.raises(RuntimeError):
        Store.open(tmp_path / "c.db")
    db = sqlite3.connect(tmp_path / "c.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_several_tags_must_all_match(store: Store):
    a, _ = store.add_feed(
        Subscription(url="https://a.example/feed/", tags=("Practice blogs",)), NOW
    )
    write(store, a, sample(6))
    assert store.count_entries(EntryFilter(tags=("Mental health", "Social work practice"))) == 3
    assert store.count_entries(EntryFilter(tags=("Mental health", "practice BLOGS"))) == 3
    assert store.count_entries(EntryFilter(tags=("Mental health", "Funding"))) == 0


def test_page_key_at_finds_any_position(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example/feed/"), NOW)
    write(store, fid, sample(30))
    listing = store.entries(limit=None)
    assert store.page_key_at(EntryFilter(), 0) == listing[0].page_key
    assert store.page_key_at(EntryFilter(), 29) == listing[29].page_key
    assert store.page_key_at(EntryFilter(), 30) is None
    after = store.entries(limit=5, before=store.page_key_at(EntryFilter(), 19))
    assert [e.id for e in after] == [e.id for e in listing[20:25]]


def test_version_one_cache_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "cache.db"
    db = sqlite3.connect(path, isolation_level=None)
    store_module.MIGRATIONS[0](db)
    db.execute(f"PRAGMA application_id = {store_module.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (url, added) VALUES ('https://old.example/feed/', 0)")
    db.close()
    s = Store.open(path)
    assert [f.url for f in s.feeds()] == ["https://old.example/feed/"]
    names = {r[0] for r in s._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "entries_starred" in names
    s.close()


def test_a_batch_writes_feeds_together_and_keeps_each_one_whole(store: Store):
    a, _ = store.add_feed(Subscription(url="https://a.example.org/feed/"), NOW)
    b, _ = store.add_feed(Subscription(url="https://b.example.org/feed/"), NOW)
    with store.batch():
        write(store, a, sample(3, prefix="a"))
        with pytest.raises(FeedNotFoundError):  # undone alone: a savepoint, not the batch
            write(store, 9999, sample(2, prefix="x"))
        write(store, b, sample(2, prefix="b"))
    assert {f.id: f.last_ok for f in store.feeds()} == {a: NOW, b: NOW}
    assert store.count_entries() == 5

    with pytest.raises(RuntimeError), store.batch():  # a batch that fails writes nothing
        write(store, a, sample(4, prefix="c"))
        raise RuntimeError("killed")
    assert store.count_entries() == 5


def index_is_whole(store: Store) -> None:
    """FTS5's own check of the search index against the posts (raises when they differ)."""
    store._db.execute("INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)")


def found(store: Store, words: str) -> set[str]:
    return {e.guid for e in store.entries(EntryFilter(search=words), limit=100)}


def test_search_index_follows_a_batch_its_undone_feed_and_later_changes(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    a, _ = store.add_feed(Subscription(url="https://a.example.org/feed/"), NOW)
    b, _ = store.add_feed(Subscription(url="https://b.example.org/feed/"), NOW)
    c, _ = store.add_feed(Subscription(url="https://c.example.org/feed/"), NOW)
    real_write_topics = Store._write_topics

    def fail_on_b(db: sqlite3.Connection, entry_id: int, topics, *, replace: bool) -> None:
        guid = db.execute("SELECT guid FROM entries WHERE id = ?", (entry_id,)).fetchone()[0]
        if guid == "b1":  # b0 is already inserted when b1 fails
            raise sqlite3.OperationalError("simulated failure halfway through feed b")
        real_write_topics(db, entry_id, topics, replace=replace)

    monkeypatch.setattr(Store, "_write_topics", staticmethod(fail_on_b))
    with store.batch():
        write(store, a, sample(3, prefix="a"))
        with pytest.raises(sqlite3.OperationalError):
            write(store, b, sample(3, prefix="b"))
        write(store, c, sample(2, prefix="c"))
    monkeypatch.undo()
    index_is_whole(store)
    assert found(store, "caseloads") == {"a0", "a1", "a2", "c0", "c1"}

    changed = sample(3, prefix="a")
    changed[0] = replace(changed[0], title="Hospital discharge delays", updated=NOW)
    write(store, a, changed, NOW + timedelta(hours=1))
    index_is_whole(store)
    assert found(store, "discharge") == {"a0"}
    assert found(store, "supervision") == {"a1", "a2", "c0", "c1"}

    store.remove_feed(c)
    index_is_whole(store)
    assert found(store, "caseloads") == {"a0", "a1", "a2"}


def test_a_post_inserted_then_changed_in_one_transaction_is_indexed_as_it_ends(store: Store):
    fid, _ = store.add_feed(Subscription(url="https://a.example.org/feed/"), NOW)
    first = sample(1)[0]
    later = replace(first, title="Carers assessment backlog", updated=NOW)
    with store.batch():
        write(store, fid, [first])
        write(store, fid, [later], NOW + timedelta(minutes=5))  # rewrites the unindexed row
    index_is_whole(store)
    assert found(store, "backlog") == {"p0"}
    assert found(store, "supervision") == set()


def test_a_version_five_cache_keeps_its_search_after_the_upgrade(tmp_path: Path):
    path = tmp_path / "cache.db"
    db = sqlite3.connect(path, isolation_level=None)
    for migrate in store_module.MIGRATIONS[:5]:
        migrate(db)
    db.execute(f"PRAGMA application_id = {store_module.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO feeds (id, url, added) VALUES (1, 'https://old.example/feed/', 0)")
    db.execute(
        "INSERT INTO entries (feed_id, guid, title, published, dated, sort_time, summary,"
        " content, categories, hash, first_seen, last_seen)"
        " VALUES (1, 'g', 'Direct payments review', 0, 1, 0, '', '', '[]', 'h', 0, 0)"
    )  # indexed by version 5's trigger
    db.close()
    s = Store.open(path)
    try:
        assert found(s, "payments") == {"g"}
        write(s, 1, sample(2))
        index_is_whole(s)
        assert found(s, "payments") == {"g"}
        assert found(s, "caseloads") == {"p0", "p1"}
    finally:
        s.close()


def test_prune_takes_only_old_read_unstarred_posts_their_feed_no_longer_lists(store: Store):
    a, _ = store.add_feed(Subscription(url="https://a.example.org/feed/"), NOW)
    b, _ = store.add_feed(Subscription(url="https://b.example.org/feed/"), NOW)
    long_ago = NOW - timedelta(days=200)
    posts = sample(6, start=long_ago)
    posts[3] = replace(posts[3], link="https://a.example.org/p3/")
    yesterday = NOW - timedelta(days=1)
    fresh = sample(1, prefix="fresh", start=yesterday)[0]
    write(store, a, posts, long_ago)
    write(store, a, [*posts[:2], fresh], yesterday)
    write(store, a, posts[:2], NOW)  # the feed now lists p0 and p1 only
    write(store, b, [replace(posts[3], guid="b-copy")], NOW)  # p3 is cross-posted by b
    ids = {e.guid: e.id for e in store.entries(EntryFilter(), limit=100)}
    ids["b-copy"] = store._db.execute("SELECT id FROM entries WHERE guid = 'b-copy'").fetchone()[0]
    store.set_flags([ids[g] for g in ("p0", "p2", "p3", "p4", "fresh0")], read=True)
    store.set_flags([ids["p4"]], starred=True)
    # p0: still listed; p1, p5: unread; p3: has a copy; p4: starred; fresh0: recent
    cutoff = NOW - timedelta(days=90)
    assert store.prune(cutoff, dry_run=True) == 1
    assert store.count_entries() == 7  # the dry run deleted nothing
    assert store.prune(cutoff) == 1
    left = {e.guid for e in store.entries(EntryFilter(), limit=100)}
    assert left == {"p0", "p1", "p3", "p4", "p5", "fresh0"}
    index_is_whole(store)
    assert found(store, "caseloads") == left
    assert store.prune(cutoff) == 0
