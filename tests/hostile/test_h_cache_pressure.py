"""HOSTILE.md §3e under pressure: a full disk mid-poll (case 60) and the reader open while
``carefeed poll`` writes in another process (case 55).

Disk full is simulated the way SQLite itself allows (F18): ``PRAGMA max_page_count`` on
the poll's connection, set through the test-only ``CAREFEED_TEST_MAX_PAGES`` variable
(read in ``Store._configure``), so a write meets ``SQLITE_FULL`` a few pages in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_kit import (
    GOOD_GUIDS,
    LIMITS,
    Victim,
    assert_clean_line,
    assert_db_ok,
    assert_inert,
    control_feed,
    db_rows,
    item,
    rss,
    run_poll,
)

from feedserver import FeedServer
from homes import make_home

MAX_PAGES_ENV = "CAREFEED_TEST_MAX_PAGES"


def _pages(home: Path) -> int:
    db = sqlite3.connect(home / "cache.db")
    try:
        return int(db.execute("PRAGMA page_count").fetchone()[0])
    finally:
        db.close()


def _poll_process(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("CAREFEED_HOME", MAX_PAGES_ENV)}
    return subprocess.Popen(
        [sys.executable, "-m", "carefeed", "--home", str(home), "poll", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _cli(
    home: Path, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("CAREFEED_HOME", MAX_PAGES_ENV)}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "carefeed", "--home", str(home), *args],
        capture_output=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _big_feed() -> bytes:
    # ~400 KB of posts: hundreds of pages, far more than the few the cap leaves
    body = "Care homes report staffing pressure across the region. " * 60
    return rss(
        "Victim Care Blog", [item(f"big-{n}", f"Big post {n}", body=body) for n in range(120)]
    )


@pytest.mark.case(60, "disk full mid-poll (max_page_count)", "one clear error, exit 1, cache kept")
def test_disk_full_mid_poll(victim: Victim):
    home = victim.home
    before = {
        (f, g): (r, s)
        for f, g, r, s in db_rows(home, "SELECT feed_id, guid, read, starred FROM entries")
    }
    victim.server.set("/victim", _big_feed())
    victim.server.set("/control", control_feed("ctl-full"))
    cap = {MAX_PAGES_ENV: str(_pages(home) + 2)}
    polled = _cli(home, "poll", "--json", env_extra=cap)
    err = polled.stderr.decode()
    assert polled.returncode == 1, (polled.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert_clean_line(lines[0].removeprefix("carefeed: "), "cache is full")
    assert_inert(polled.stdout)
    assert_inert(polled.stderr)
    # consistent, and every post and flag it had is still there
    assert_db_ok(home)
    after = {
        (f, g): (r, s)
        for f, g, r, s in db_rows(home, "SELECT feed_id, guid, read, starred FROM entries")
    }
    for key, flags in before.items():
        assert after.get(key) == flags, f"{key} lost or changed"
    # one transaction per feed: the big feed is stored whole or not at all
    big = db_rows(home, "SELECT count(*) FROM entries WHERE guid LIKE 'big-%'")[0][0]
    assert big in (0, 120), big
    assert big == 0  # 120 posts cannot fit in two pages
    # reading still works while the disk is full
    listed = _cli(home, "entries", "--json", env_extra=cap)
    assert listed.returncode == 0, listed.stderr
    # with room again, the next poll stores everything
    again = run_poll(home)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert again.event(victim.url)["status"] == "ok"
    assert db_rows(home, "SELECT count(*) FROM entries WHERE guid LIKE 'big-%'")[0][0] == 120
    stored = db_rows(home, "SELECT guid FROM entries WHERE feed_id = ?", victim.template.victim_id)
    assert set(GOOD_GUIDS) <= {g for (g,) in stored}
    assert_db_ok(home)


# --------------------------------------------------------------------------- case 55

FEEDS_55 = 20
ITEMS_55 = 500  # 20 x 500 = 10,000 posts written by the poll while the reader marks


def _busy_feed(n: int, count: int, prefix: str) -> bytes:
    return rss(
        f"Busy feed {n}",
        [
            item(f"{prefix}-{n}-{i}", f"{prefix} post {i} of feed {n}", body="care work " * 12)
            for i in range(count)
        ],
    )


@pytest.mark.tui
@pytest.mark.case(55, "reader open while poll writes 10,000 posts", "both progress; no 'locked'")
async def test_reader_marks_posts_while_a_poll_writes(server: FeedServer, tmp_path: Path):
    from reader_kit import settle

    from carefeed.api import Carefeed
    from carefeed.decide import plan_entries
    from carefeed.model import EntryData, FeedIntent, Subscription, utc_now
    from carefeed.tui.app import CarefeedApp
    from carefeed.tui.screens.main import MainScreen

    home = make_home(
        tmp_path / "home", **(LIMITS | {"parse_workers": 2, "parse_timeout": 20, "deadline": 20})
    )
    # 200 posts for the reader to mark, written through the store as a poll would
    with Carefeed.open(home) as api:
        for n in range(FEEDS_55):
            url = server.add(f"/busy/{n}", _busy_feed(n, 10, "seed"))
            feed_id, _ = api.store.add_feed(Subscription(url=url, title=f"Busy {n}"), utc_now())
            seeds = [
                EntryData(guid=f"seed-{n}-{i}", title=f"Seed {i}", published=utc_now())
                for i in range(10)
            ]
            ok = FeedIntent(feed_id=feed_id, fetched_at=utc_now(), ok=True, next_due=utc_now())
            api.store.apply_update(ok, plan_entries({}, seeds))
    # each answer waits a little, so the poll lasts seconds however fast the machine is
    # (two at a time from one host: ≥ 2.5 s) and the reader has time to mark posts
    for n in range(FEEDS_55):
        server.set(f"/busy/{n}", _busy_feed(n, ITEMS_55, "big"), delay=0.25)
    expected: dict[int, tuple[bool, bool]] = {}
    marks_during_poll = 0
    with Carefeed.open(home) as api:
        app = CarefeedApp(api, preview_delay=0)
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, MainScreen)
            entries = screen.entries
            assert entries.total == 10 * FEEDS_55
            poll = _poll_process(home, "--json", "--force")
            started = time.monotonic()
            try:
                # every 50 ms: r and s on the post under the cursor (the keys' own
                # actions, called directly so the rate is not the pilot's), then down
                while poll.poll() is None and time.monotonic() - started < 60:
                    screen.action_toggle_read()
                    screen.action_toggle_star()
                    current = entries.current
                    if current is not None:
                        expected[current.id] = (current.read, current.starred)
                        marks_during_poll += 1
                    entries._move_to((entries.cursor + 1) % entries.total)
                    await pilot.pause(0.05)
                out, err = poll.communicate(timeout=60)
            finally:
                if poll.poll() is None:
                    poll.kill()
                    poll.communicate()
            # both made progress: the reader marked posts while the poll wrote them all
            assert poll.returncode == 0, err.decode()[-2000:]
            assert b"locked" not in err and b"Traceback" not in err, err.decode()[-2000:]
            report = json.loads(out)
            assert report["summary"]["failed"] == 0, report["summary"]
            assert report["summary"]["new"] == FEEDS_55 * ITEMS_55
            assert not any("locked" in (f["error"] or "") for f in report["feeds"])
            assert marks_during_poll >= 10, marks_during_poll
            assert app.is_running
            said = [n.message for n in app._notifications]
            assert not any("locked" in m or "busy" in m for m in said), said
            # the reader idles: it holds no read transaction that would stop a checkpoint
            await settle(app, pilot)
            db = sqlite3.connect(home / "cache.db", timeout=5)
            try:
                try:
                    busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                except sqlite3.OperationalError as e:
                    raise AssertionError(
                        (e.sqlite_errorname, os.listdir(home), os.stat(home / "cache.db-wal"))
                    ) from e
            finally:
                db.close()
            assert busy == 0
    # every mark the reader made was persisted, beside the poll's 10,000 posts
    assert_db_ok(home)
    flags = {
        i: (bool(r), bool(s)) for i, r, s in db_rows(home, "SELECT id, read, starred FROM entries")
    }
    for entry_id, want in expected.items():
        assert flags[entry_id] == want, (entry_id, flags[entry_id], want)
    assert len(flags) == FEEDS_55 * (10 + ITEMS_55)


@pytest.mark.case(55, "reader's locks while its threads open the cache", "poll never drops the WAL")
def test_a_second_open_keeps_the_readers_locks(victim: Victim):
    """The reader opens the cache again on every query thread. If that open read the file
    with Python (open/close), POSIX would drop all of the process's SQLite locks on it,
    and a poll ending in another process would think itself the last user: it checkpoints
    and deletes the WAL and shared memory under the reader (SQLITE_IOERR_SHORT_READ, or
    worse). sqlite.org/howtocorrupt.html 2.2."""
    from carefeed.api import Carefeed

    home = victim.home
    with Carefeed.open(home) as reader:
        before = reader.count_entries()
        for _ in range(3):  # what the reader's query threads do
            reader.reopen().close()
        victim.server.set("/victim", rss("Victim Care Blog", [item("fresh", "Fresh post")]))
        run = run_poll(home)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        # the poll saw the reader still there: the WAL and its index stay for it
        assert (home / "cache.db-wal").exists() and (home / "cache.db-shm").exists()
        assert reader.count_entries() > before
    assert_db_ok(home)
