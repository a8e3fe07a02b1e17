"""Building blocks of the hostile suite: feed generators, the victim home, invariants I1-I6.

Every case of HOSTILE.md §3 that the command line can reach runs the same way: a *victim*
feed (seeded with a good version: one post read, one starred) and a *control* feed sit in
one home; the victim's route is switched to the hostile version, the control feed gets a
fresh post, and ``carefeed poll --json`` runs in a subprocess. Then the invariants:

* I1 no hang: the poll returned within the bound (deadline + 2 s unless the case says);
* I2 isolation: the control feed's fresh post was stored by that same poll;
* I3 clear error: ``carefeed feeds --json`` shows the victim's error as one short clean
  line naming the cause, and no error on the control feed;
* I4 nothing lost: the seeded posts are there with their flags; integrity_check is ok;
* I5 bounded: the poll's peak RSS (its own children included) is under ``RSS_LIMIT_MB``;
* I6 inert: no escape, CSI or BEL byte in what the command printed.

Seeding costs four subprocesses, so it is done once per session in a template home that
each test copies (a directory copy takes milliseconds).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from feedserver import MIB, FeedServer
from homes import cli_json, make_home, opml_for, run_cli

# Tiny limits: every hostile route fails in seconds.
LIMITS: dict[str, float | int] = {
    "body_cap": MIB,
    "deadline": 2.0,
    "connect_timeout": 1.0,
    "read_timeout": 1.5,
    "parse_timeout": 3.0,
    "parse_workers": 1,  # one parser process: half the start-up cost of every poll
}
DEADLINE = float(LIMITS["deadline"])
PARSE_TIMEOUT = float(LIMITS["parse_timeout"])
HANG_BOUND = DEADLINE + 2.0  # I1 for fetch-side cases
PARSE_BOUND = PARSE_TIMEOUT + 2.0  # I1 for cases that run into the parser's deadline
RSS_LIMIT_MB = 300  # I5

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPE_BYTES = (b"\x1b", b"\xc2\x9b", b"\x9b", b"\x07")

# A poll run through a tiny wrapper, so the RSS measured is this poll's and its parser
# processes', not the maximum of every child the test session ever had.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(r.returncode)\n"
)


# --------------------------------------------------------------------------- generators


def item(
    guid: str,
    title: str,
    *,
    link: str | None = None,
    body: str = "",
    extra: str = "",
    escape_text: bool = True,
) -> str:
    t = escape(title) if escape_text else title
    b = escape(body) if escape_text else body
    link_xml = f"<link>{escape(link)}</link>" if link else ""
    return (
        f"<item><title>{t}</title><guid isPermaLink='false'>{escape(guid)}</guid>{link_xml}"
        f"<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>{b}</description>"
        f"{extra}</item>"
    )


def rss(title: str, items: list[str] | str, *, prolog: str = "", channel_extra: str = "") -> bytes:
    body = "".join(items) if isinstance(items, list) else items
    return (
        f"<?xml version='1.0' encoding='utf-8'?>{prolog}<rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>{channel_extra}"
        f"{body}</channel></rss>"
    ).encode()


GOOD_GUIDS = ("seed-1", "seed-2", "seed-3")


def good_victim(site: str = "victim") -> bytes:
    """The seeded posts; ``site`` keeps links distinct between feeds of one batch, which
    would otherwise be cross-posts of one another, listed once."""
    return rss(
        "Victim Care Blog",
        [
            item(g, f"Seeded post {n}", link=f"http://127.0.0.1/{site}/p/{n}")
            for n, g in enumerate(GOOD_GUIDS, 1)
        ],
    )


def control_feed(token: str) -> bytes:
    return rss("Control Care Blog", [item(token, f"Control post {token}"), item("c0", "Old")])


# --------------------------------------------------------------------------- results


@dataclass
class PollRun:
    returncode: int
    stdout: bytes
    stderr: bytes
    elapsed: float
    rss_mb: float

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def event(self, url: str) -> dict[str, Any]:
        for e in self.json["feeds"]:
            if e["url"] == url:
                return dict(e)
        raise AssertionError(f"no poll event for {url}: {self.stdout.decode()[:2000]}")


def run_poll(home: Path, *args: str, timeout: float = 60) -> PollRun:
    """``carefeed --home HOME poll --json ARGS``, timed, with its peak RSS in MB."""
    env = {k: v for k, v in os.environ.items() if k != "CAREFEED_HOME"}
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as f:
        rss_file = f.name
    try:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _WRAPPER,
                rss_file,
                sys.executable,
                "-m",
                "carefeed",
                "--home",
                str(home),
                "poll",
                "--json",
                *args,
            ],
            capture_output=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        raw = Path(rss_file).read_text() or "0"
    finally:
        os.unlink(rss_file)
    return PollRun(done.returncode, done.stdout, done.stderr, elapsed, int(raw) / 1024)


# --------------------------------------------------------------------------- invariants


def assert_no_hang(run: PollRun, bound: float = HANG_BOUND) -> None:
    """I1."""
    assert run.elapsed < bound, f"poll took {run.elapsed:.1f} s, bound {bound:g} s"


def assert_inert(output: bytes) -> None:
    """I6: nothing a terminal would act on."""
    for seq in _ESCAPE_BYTES:
        assert seq not in output, f"{seq!r} reached the output"


def assert_clean_line(message: str | None, *words: str) -> None:
    """I3 for one message: one line, short, no controls, no traceback, naming the cause."""
    assert message, "expected an error message"
    assert len(message) <= 200, message
    assert "\n" not in message and not _CONTROL_CHARS.search(message), repr(message)
    assert "Traceback" not in message and "Error:" not in message.split(":", 1)[0], message
    low = message.lower()
    for word in words:
        assert word.lower() in low, f"{word!r} not in {message!r}"


def assert_bounded(run: PollRun, limit_mb: float = RSS_LIMIT_MB) -> None:
    """I5."""
    assert 0 < run.rss_mb < limit_mb, f"peak RSS {run.rss_mb:.0f} MB, limit {limit_mb} MB"


def db_rows(home: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{home / 'cache.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def assert_db_ok(home: Path) -> None:
    assert db_rows(home, "PRAGMA integrity_check") == [("ok",)]
    assert db_rows(home, "PRAGMA foreign_key_check") == []


# --------------------------------------------------------------------------- the victim


@dataclass
class Template:
    """A seeded home (never polled again) and what a copy of it holds."""

    path: Path
    victim_url: str
    control_url: str
    read_guid: str = GOOD_GUIDS[0]
    starred_guid: str = GOOD_GUIDS[1]
    victim_id: int = 1
    control_id: int = 2


def build_template(root: Path, server: FeedServer) -> Template:
    home = make_home(root / "template", **LIMITS)
    victim = server.add("/victim", good_victim())
    control = server.add("/control", control_feed("c-seed"))
    opml = root / "subs.opml"
    opml.write_bytes(opml_for({"Victim": victim, "Control": control}))
    run_cli(home, "import", str(opml))
    first = run_poll(home)
    assert first.returncode == 0, first.stderr.decode()
    ids = {e["guid"]: e["id"] for e in cli_json(home, "entries", "--limit", "100")}
    run_cli(home, "mark", str(ids[GOOD_GUIDS[0]]), "--read")
    run_cli(home, "mark", str(ids[GOOD_GUIDS[1]]), "--star")
    feed_ids = {f["url"]: f["id"] for f in cli_json(home, "feeds")}
    return Template(home, victim, control, victim_id=feed_ids[victim], control_id=feed_ids[control])


@dataclass
class Victim:
    """One test's copy of the template and the session's server."""

    home: Path
    server: FeedServer
    url: str
    control_url: str
    template: Template
    token: str = field(default_factory=lambda: "ctl-" + uuid.uuid4().hex[:12])
    last: PollRun | None = None

    @property
    def path(self) -> str:
        return "/victim"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run_cli(self.home, *args, check=check)

    def cli_json(self, *args: str) -> Any:
        return cli_json(self.home, *args)

    def feed(self, url: str | None = None) -> dict[str, Any]:
        url = url or self.url
        for f in self.cli_json("feeds"):
            if f["url"] == url:
                return dict(f)
        raise AssertionError(f"{url} not among the subscriptions")

    def entries(self, url: str | None = None) -> list[dict[str, Any]]:
        rows = self.cli_json("entries", "--limit", "100000", "--feed", str(self.feed(url)["id"]))
        return list(rows)

    def poll(self, *args: str, bound: float = HANG_BOUND) -> PollRun:
        """Give the control feed a fresh post, then poll; checks I1, I5, I6 and exit 0."""
        self.token = "ctl-" + uuid.uuid4().hex[:12]
        self.server.set("/control", control_feed(self.token))
        run = run_poll(self.home, *args)
        self.last = run
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        assert b"Traceback" not in run.stderr, run.stderr.decode()[-2000:]
        assert_no_hang(run, bound)
        assert_bounded(run)
        assert_inert(run.stdout)
        assert_inert(run.stderr)
        return run

    def assert_isolated(self) -> None:
        """I2: the control feed's fresh post was stored in the same poll."""
        assert self.last is not None
        event = self.last.event(self.control_url)
        assert event["status"] == "ok" and event["error"] is None, event
        rows = db_rows(
            self.home,
            "SELECT count(*) FROM entries WHERE guid = ? AND feed_id = ?",
            self.token,
            self.template.control_id,
        )
        assert rows == [(1,)]

    def assert_nothing_lost(self) -> None:
        """I4: the seeded posts with their flags, and a sound database."""
        rows = db_rows(
            self.home,
            "SELECT guid, read, starred FROM entries WHERE feed_id = ?",
            self.template.victim_id,
        )
        flags = {g: (r, s) for g, r, s in rows}
        for guid in GOOD_GUIDS:
            assert guid in flags, f"seeded post {guid} lost"
        assert flags[self.template.read_guid][0] == 1
        assert flags[self.template.starred_guid][1] == 1
        assert_db_ok(self.home)

    def expect_failure(self, *words: str, bound: float = HANG_BOUND, **poll_kw: Any) -> str:
        """Poll with the hostile route in place and check I1-I6 for a failing feed."""
        run = self.poll(bound=bound, **poll_kw)
        event = run.event(self.url)
        assert event["status"] in ("error", "gone"), event
        assert_clean_line(event["error"], *words)
        feeds = {f["url"]: f for f in self.cli_json("feeds")}
        assert_clean_line(feeds[self.url]["error"], *words)
        assert feeds[self.control_url]["error"] is None
        self.assert_isolated()
        self.assert_nothing_lost()
        return str(event["error"])

    def expect_stored(self, *, bound: float = HANG_BOUND) -> PollRun:
        """Poll a feed that is messy but readable: stored, control fine, seeds kept."""
        run = self.poll(bound=bound)
        event = run.event(self.url)
        assert event["status"] == "ok" and event["error"] is None, event
        self.assert_isolated()
        self.assert_nothing_lost()
        return run


def copy_template(template: Template, dest: Path, server: FeedServer) -> Victim:
    home = dest / "home"
    shutil.copytree(template.path, home)
    server.set("/victim", good_victim())
    return Victim(home, server, template.victim_url, template.control_url, template)


# --------------------------------------------------------------------------- batches
#
# A subprocess poll costs about a second (interpreter, parser process), so the cases that
# need one poll of one hostile route share a *batch*: one home holding a seeded victim feed
# per case plus the control feed, polled three times. Poll 1 meets the hostile versions
# (I1-I6 are checked on it; the per-host limit is raised so that slow routes do not queue
# behind each other); between polls 1 and 2 a case may change its route again; polls 2
# and 3 show what a feed that failed costs the server afterwards (back-off, gone).

BATCH_LIMITS: dict[str, float | int] = LIMITS | {
    "concurrency": 64,
    "per_host": 64,
    "parse_workers": 2,
}
BATCH_BOUND = DEADLINE + PARSE_TIMEOUT + 2.0  # one slow fetch, then one slow parse


@dataclass
class Ctx:
    """What a case's route builder gets: its path on the shared server and a scratch dir."""

    server: FeedServer
    path: str
    url: str
    tmp: Path


@dataclass(frozen=True)
class Route:
    key: str
    serve: Any  # Callable[[Ctx], None]: install the hostile version at ctx.path
    between: Any = None  # Callable[[Ctx], None] | None: change it after poll 1


@dataclass
class BatchResult:
    home: Path
    ctx: Ctx
    feed_id: int
    control_id: int
    control_token: str
    polls: list[PollRun]
    feeds_after_first: dict[int, dict[str, Any]]
    feeds_after_last: dict[int, dict[str, Any]]
    later_hits: int  # requests for this route during polls 2 and 3

    @property
    def url(self) -> str:
        return self.ctx.url

    def event(self, n: int = 0) -> dict[str, Any]:
        return self.polls[n].event(self.url)

    def rows(self, columns: str = "guid, title") -> list[tuple[Any, ...]]:
        return db_rows(self.home, f"SELECT {columns} FROM entries WHERE feed_id = ?", self.feed_id)

    def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli(self.home, *args)

    def check_shared(self) -> None:
        """I1, I2, I5, I6 for the batch poll this case was part of."""
        first = self.polls[0]
        assert first.returncode == 0, first.stderr.decode()[-2000:]
        assert b"Traceback" not in first.stderr
        assert_no_hang(first, BATCH_BOUND)
        assert_bounded(first)
        assert_inert(first.stdout)
        assert_inert(first.stderr)
        control = first.event(self.ctx.server.url("/control-batch"))
        assert control["status"] == "ok" and control["error"] is None, control
        stored = db_rows(
            self.home,
            "SELECT count(*) FROM entries WHERE feed_id = ? AND guid = ?",
            self.control_id,
            self.control_token,
        )
        assert stored == [(1,)]
        assert self.feeds_after_first[self.control_id]["error"] is None

    def assert_nothing_lost(self) -> None:
        """I4 for this case's feed."""
        flags = {g: (r, s) for g, r, s in self.rows("guid, read, starred")}
        for guid in GOOD_GUIDS:
            assert guid in flags, f"seeded post {guid} lost"
        assert flags[GOOD_GUIDS[0]][0] == 1 and flags[GOOD_GUIDS[1]][1] == 1, flags
        assert_db_ok(self.home)

    def expect_failure(self, *words: str) -> str:
        self.check_shared()
        event = self.event()
        assert event["status"] in ("error", "gone"), event
        assert_clean_line(event["error"], *words)
        assert_clean_line(self.feeds_after_first[self.feed_id]["error"], *words)
        self.assert_nothing_lost()
        return str(event["error"])

    def expect_stored(self) -> dict[str, Any]:
        self.check_shared()
        event = self.event()
        assert event["status"] == "ok" and event["error"] is None, event
        self.assert_nothing_lost()
        return event


def run_batch(server: FeedServer, root: Path, routes: list[Route]) -> dict[str, BatchResult]:
    home = make_home(root / "home", **BATCH_LIMITS)
    tmp = root / "scratch"
    tmp.mkdir()
    ctxs = {}
    for route in routes:
        path = f"/batch/{route.key}"
        ctxs[route.key] = Ctx(server, path, server.add(path, good_victim(route.key)), tmp)
    control = server.add("/control-batch", control_feed("c-seed"))
    opml = root / "batch.opml"
    opml.write_bytes(opml_for({"Control": control, **{k: c.url for k, c in ctxs.items()}}))
    run_cli(home, "import", str(opml))
    seeded = run_poll(home)
    assert seeded.returncode == 0, seeded.stderr.decode()
    ids: dict[tuple[int, str], int] = {
        (e["feed_id"], e["guid"]): e["id"] for e in cli_json(home, "entries", "--limit", "100000")
    }
    feed_ids = {f["url"]: f["id"] for f in cli_json(home, "feeds")}
    read = [str(ids[(feed_ids[c.url], GOOD_GUIDS[0])]) for c in ctxs.values()]
    star = [str(ids[(feed_ids[c.url], GOOD_GUIDS[1])]) for c in ctxs.values()]
    run_cli(home, "mark", *read, "--read")
    run_cli(home, "mark", *star, "--star")
    for route in routes:
        route.serve(ctxs[route.key])
    token = "ctl-" + uuid.uuid4().hex[:12]
    server.set("/control-batch", control_feed(token))
    server.reset_log()
    polls = [run_poll(home)]
    after_first = {f["id"]: f for f in cli_json(home, "feeds")}
    for route in routes:
        if route.between is not None:
            route.between(ctxs[route.key])
    first_hits = {k: server.hits(c.path) for k, c in ctxs.items()}
    polls.append(run_poll(home))
    polls.append(run_poll(home))
    after_last = {f["id"]: f for f in cli_json(home, "feeds")}
    return {
        key: BatchResult(
            home=home,
            ctx=ctx,
            feed_id=feed_ids[ctx.url],
            control_id=feed_ids[control],
            control_token=token,
            polls=polls,
            feeds_after_first=after_first,
            feeds_after_last=after_last,
            later_hits=server.hits(ctx.path) - first_hits[key],
        )
        for key, ctx in ctxs.items()
    }
