"""HOSTILE.md §3e: crashes, concurrent polls and damaged caches."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from hostile_kit import (
    LIMITS,
    Victim,
    assert_clean_line,
    assert_db_ok,
    db_rows,
    item,
    rss,
    run_poll,
)

import carefeed.store as store_module
from carefeed.store import Store
from feedserver import FeedServer
from homes import make_home, opml_for, run_cli


def _poll_process(home: Path, *args: str, stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "CAREFEED_HOME"}
    return subprocess.Popen(
        [sys.executable, "-m", "carefeed", "--home", str(home), "poll", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _read_lines(stream: IO[bytes], into: list[str]) -> None:
    into.extend(line.decode() for line in stream)


def _kill_feed(n: int, round_: int) -> bytes:
    items = [item(f"k{n}-{i}", f"Post {i} of feed {n}", body="care " * 40) for i in range(15)]
    return rss(f"Kill feed {n}", [item(f"k{n}-round{round_}", f"Round {round_}"), *items])


@pytest.mark.case(54, "SIGKILL mid-poll x20 over 100 feeds", "committed feeds kept, db sound")
def test_sigkill_mid_poll_twenty_times(server: FeedServer, tmp_path: Path):
    home = make_home(tmp_path / "home", **(LIMITS | {"parse_workers": 2}))
    feeds = {f"Kill feed {n}": server.add(f"/k/{n}", _kill_feed(n, 0)) for n in range(100)}
    opml = tmp_path / "kill.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(home, "import", str(opml))
    rng = random.Random(54)
    landed_mid_poll = 0
    for round_ in range(1, 21):
        for n in range(100):
            server.set(f"/k/{n}", _kill_feed(n, round_))
        child = _poll_process(home, "--force", stderr=subprocess.DEVNULL)
        reported: list[str] = []
        assert child.stdout is not None
        reader = threading.Thread(target=_read_lines, args=(child.stdout, reported))
        reader.start()
        time.sleep(rng.uniform(0.15, 0.75))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join(timeout=5)
        child.stdout.close()
        committed = [
            line.split(":", 1)[0].removeprefix("ok").strip()
            for line in reported
            if line.startswith("ok ")
        ]
        if len(committed) < 100:
            landed_mid_poll += 1
        assert_db_ok(home)
        stored = {
            t: n
            for t, n in db_rows(
                home,
                "SELECT coalesce(f.user_title, f.title), count(e.id) FROM feeds f "
                "LEFT JOIN entries e ON e.feed_id = f.id AND e.guid LIKE ? GROUP BY f.id",
                f"%-round{round_}",
            )
        }
        for title in committed:
            assert stored.get(title) == 1, f"{title} reported committed but its post is missing"
    assert landed_mid_poll >= 10  # most kills landed while the poll was writing
    final = run_poll(home, "--force")
    assert final.returncode == 0 and final.json["summary"]["failed"] == 0
    assert_db_ok(home)


@pytest.mark.case(56, "two polls at once", "second refused (exit 75); lock freed by SIGKILL")
def test_two_polls_at_once(victim: Victim):
    victim.server.hang("/victim")  # keeps the first poll busy until its deadline
    first = _poll_process(victim.home, "--json")
    try:
        lock = victim.home / "poll.lock"
        give_up = time.monotonic() + 5
        # the lock file outlives polls (flock, not a PID file): wait for *this* pid in it
        while time.monotonic() < give_up and not (
            lock.exists() and lock.read_text().strip() == str(first.pid)
        ):
            time.sleep(0.05)
        second = run_cli(victim.home, "poll", check=False)
        assert second.returncode == 75, second
        message = second.stderr.decode().strip()
        assert_clean_line(message, "already running", f"pid {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    victim.server.set("/victim", rss("Back", [item("back-1", "Back again")]))
    third = run_cli(victim.home, "poll", check=False)
    assert third.returncode == 0, third.stderr
    assert_db_ok(victim.home)
    victim.assert_nothing_lost()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.case(57, "corrupt cache file", "clear message, exit 1, file untouched")
@pytest.mark.parametrize("kind", ["random-8k", "opml-text", "truncated-half"])
def test_corrupt_cache_is_refused_untouched(victim: Victim, kind: str):
    cache = victim.home / "cache.db"
    for extra in ("cache.db-wal", "cache.db-shm"):
        (victim.home / extra).unlink(missing_ok=True)
    if kind == "random-8k":
        cache.write_bytes(random.Random(57).randbytes(8192))
    elif kind == "opml-text":
        cache.write_bytes(opml_for({"x": "http://127.0.0.1/x"}))
    else:
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) // 2])
    before = _sha(cache)
    for args in (("feeds",), ("entries",), ("poll",)):
        result = run_cli(victim.home, *args, check=False)
        assert result.returncode == 1, (args, result)
        message = result.stderr.decode().strip()
        assert "Traceback" not in message
        assert_clean_line(message.removeprefix("carefeed: "), "damaged")
        assert _sha(cache) == before
    assert victim.server.hits("/victim") == 0


@pytest.mark.case(58, "foreign or newer database", "refused, untouched")
@pytest.mark.parametrize(
    "kind",
    [
        "foreign",
        "newer",
    ],
)
def test_foreign_or_newer_database_is_refused(victim: Victim, kind: str):
    cache = victim.home / "cache.db"
    if kind == "foreign":
        for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
            (victim.home / name).unlink(missing_ok=True)
        db = sqlite3.connect(cache)
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('someone else''s data')")
        db.commit()
        db.close()
        words: tuple[str, ...] = ("another program",)
    else:
        db = sqlite3.connect(cache)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute(f"PRAGMA user_version = {version + 1}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.commit()
        db.close()
        words = ("newer carefeed",)
    before = _sha(cache)
    result = run_cli(victim.home, "feeds", check=False)
    assert result.returncode == 1, result
    assert_clean_line(result.stderr.decode().strip().removeprefix("carefeed: "), *words)
    assert _sha(cache) == before


@pytest.mark.case(59, "migration fails midway", "user_version and rows unchanged")
def test_failed_migration_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "cache.db"
    db = sqlite3.connect(path, isolation_level=None)
    store_module.MIGRATIONS[0](db)
    db.execute(f"PRAGMA application_id = {store_module.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (url, added) VALUES ('https://old.example/feed/', 0)")
    db.close()
    if store_module.SCHEMA_VERSION < 2:
        pytest.skip("no migration after schema 1 to interrupt")
    real = list(store_module.MIGRATIONS)

    def half_then_fail(conn: sqlite3.Connection) -> None:
        real[-1](conn)
        raise RuntimeError("power cut during the migration")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*real[:-1], half_then_fail])
    with pytest.raises(RuntimeError):
        Store.open(path)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    assert check.execute("SELECT url FROM feeds").fetchall() == [("https://old.example/feed/",)]
    check.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", real)
    store = Store.open(path)
    assert [f.url for f in store.feeds()] == ["https://old.example/feed/"]
    store.close()


@pytest.mark.case(60, "SIGINT mid-poll", "interrupted, exit 130, commits intact")
def test_sigint_mid_poll(victim: Victim):
    victim.server.hang("/victim")
    child = _poll_process(victim.home)
    try:
        time.sleep(1.2)  # the control feed is stored; the victim hangs
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, (out, err)
    assert b"Traceback" not in err
    assert_clean_line(err.decode().strip().splitlines()[-1], "interrupted")
    assert_db_ok(victim.home)
    victim.assert_nothing_lost()
