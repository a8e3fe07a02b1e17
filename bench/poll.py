"""Poll benchmark: carefeed against newsboat on the same loopback WordPress feeds.

    .venv/bin/python bench/poll.py                 # N=200 and N=1000, cold and warm
    .venv/bin/python bench/poll.py --quick         # N=50 only, a smoke test
    .venv/bin/python bench/poll.py --no-newsboat --sizes 300

What one run does (see bench/README.md for the reasons):

1. writes max(N) deterministic WordPress-like feeds (≈130 KB, 10-30 posts, 10% Atom) into
   a temporary directory (feedgen.py);
2. serves them with nginx (else a Python server) on many loopback addresses, one port,
   with ETag/Last-Modified and 304s (servers.py);
3. for each N: imports an OPML of the first N feeds into a fresh carefeed home, then
   times ``carefeed --home H poll --json`` twice, cold (empty cache) and warm (nothing
   changed), each in its own process whose whole tree is watched for memory (procmem.py),
   with stage timers installed in that process (driver.py, instrument.py);
4. runs ``newsboat -x reload`` on the same URLs, cold and warm, with its own cache;
5. times a plain single-process parse loop (feedparser.parse, and carefeed's parse_feed)
   over the same files, to show what parsing alone costs per feed;
6. prints the table and writes it as Markdown to bench/out/poll.md.

Servers, subprocesses and the temporary directory are cleaned up on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import quoteattr

import feedgen
import procmem
import servers

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
TARGET_COLD = 0.5  # carefeed cold poll ≤ 0.5 × newsboat's
TARGET_WARM = 0.1
TARGET_PEAK_MB = 300


@dataclass
class Row:
    n: int
    run: str
    tool: str
    wall: float
    peak_mb: float | None = None  # whole process tree, summed RSS at its highest sample
    main_mb: float | None = None  # the main process alone
    fetch: float | None = None
    parse: float | None = None
    store: float | None = None
    ratio: float | None = None
    ok: str = ""  # feeds that ended parsed or not modified; "crashed" when the poll did
    others: float = 0.0  # cores kept busy by processes outside the measured tree
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.n / self.wall if self.wall > 0 else 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.www = tmp / "www"
        self.server: servers.Server | None = None
        self.specs: list[feedgen.FeedSpec] = []
        self.newsboat: str | None = None
        self.env = {k: v for k, v in os.environ.items() if k != "CAREFEED_HOME"}

    # ----------------------------------------------------------------- setup

    def say(self, text: str) -> None:
        print(text, flush=True)

    def generate(self, count: int) -> None:
        start = time.perf_counter()
        self.specs = feedgen.write_feeds(self.www, count)
        size = sum((self.www / s.file).stat().st_size for s in self.specs)
        atom = sum(s.atom for s in self.specs)
        self.say(
            f"generated {count} feeds ({atom} Atom) in {time.perf_counter() - start:.1f} s: "
            f"{size / 1e6:.0f} MB, {size / count / 1024:.0f} KB per feed"
        )

    def start_server(self) -> None:
        hosts = servers.addresses(self.args.hosts)
        port = servers.free_port(hosts)
        kind = self.args.server
        if kind == "auto":
            kind = "nginx" if servers.nginx_binary() else "python"
        if kind == "nginx":
            if servers.nginx_binary() is None:
                raise SystemExit("--server nginx: nginx is not installed (apt-get install nginx)")
            self.server = servers.start_nginx(self.www, self.tmp / "nginx", hosts, port)
        else:
            self.server = servers.start_python(self.www, self.tmp / "pyserver", hosts, port)
        self.say(
            f"serving with {self.server_label()} on {hosts[0]}…{hosts[-1]} port {port} "
            f"({len(hosts)} loopback addresses, so per-host limits see {len(hosts)} sites; "
            f"{self.layout_text()})"
        )

    def server_label(self) -> str:
        assert self.server is not None
        if self.server.kind == "nginx":
            return _version(["nginx", "-v"]) or "nginx"
        return "Python ThreadingHTTPServer"

    def layout_text(self) -> str:
        if self.args.layout == "grouped":
            return "feeds grouped by host: consecutive feeds share an address"
        return "feed i on address i mod hosts"

    def url(self, index: int, n: int) -> str:
        assert self.server is not None
        hosts = len(self.server.hosts)
        if self.args.layout == "grouped":
            per = -(-n // hosts)
            host = self.server.hosts[min(index // per, hosts - 1)]
        else:
            host = self.server.hosts[index % hosts]
        return f"http://{host}:{self.server.port}{self.specs[index].path}"

    def find_newsboat(self) -> None:
        if self.args.no_newsboat:
            return
        self.newsboat = shutil.which("newsboat")

    # ----------------------------------------------------------------- carefeed

    def write_opml(self, path: Path, n: int) -> None:
        rows = [
            f'      <outline type="rss" text={quoteattr(s.title)} title={quoteattr(s.title)} '
            f"xmlUrl={quoteattr(self.url(s.index, n))} />"
            for s in self.specs[:n]
        ]
        path.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
            "  <head><title>carefeed benchmark</title></head>\n  <body>\n"
            '    <outline text="Benchmark">\n' + "\n".join(rows) + "\n    </outline>\n"
            "  </body>\n</opml>\n",
            encoding="utf-8",
        )

    def carefeed_home(self, n: int) -> Path:
        home = self.tmp / f"carefeed-{n}"
        home.mkdir()
        if self.args.set:
            lines = ["[limits]"]
            for item in self.args.set:
                key, _, value = item.partition("=")
                lines.append(f"{key.strip()} = {_toml_value(value.strip())}")
            (home / "config.toml").write_text("\n".join(lines) + "\n")
        opml = home / "feeds.opml"
        self.write_opml(opml, n)
        done = subprocess.run(
            [sys.executable, "-m", "carefeed", "--home", str(home), "import", str(opml), "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"carefeed import failed: {done.stderr.strip()}")
        report = json.loads(done.stdout)
        if len(report["added"]) != n:
            raise SystemExit(
                f"carefeed imported {len(report['added'])} of {n} feeds: {report['refused'][:3]}"
            )
        return home

    def carefeed_poll(self, home: Path, n: int, run: str) -> Row:
        stats_path = home / f"stats-{run}.json"
        poll_path = home / f"poll-{run}.json"
        if self.args.cli:
            argv = [sys.executable, "-m", "carefeed", "--home", str(home), "poll", "--json"]
            out: Path | None = poll_path
        else:
            argv = [sys.executable, str(BENCH / "driver.py"), str(home), str(stats_path),
                    str(poll_path)]  # fmt: skip
            out = None
        offset = self.server_offset()
        watched = procmem.run_watched(
            argv, env=self.env, stdout=out, stderr=home / f"stderr-{run}.txt"
        )
        requests, _ = self.server_requests(offset)
        row = Row(n, run, "carefeed", watched.wall_s, watched.peak_mb())
        row.main_mb = watched.root.hwm_kb / 1024
        row.others = watched.others_cores
        if watched.returncode != 0 or not poll_path.exists() or not poll_path.stat().st_size:
            row.ok = "crashed"
            tail = (home / f"stderr-{run}.txt").read_text(errors="replace").strip()
            last = tail.splitlines()[-1] if tail else "no message"
            row.notes.append(
                f"the poll exited {watched.returncode}: {last[:300]}; server: {requests}"
            )
        else:
            poll = json.loads(poll_path.read_text())
            summary = poll["summary"]
            good = summary["ok"] + summary["not_modified"]
            row.ok = str(good) if good == n else f"{good}/{n}"
            statuses: dict[str, int] = {}
            for f in poll["feeds"]:
                statuses[f["status"]] = statuses.get(f["status"], 0) + 1
            row.notes.append(
                f"poll: {summary['feeds']} feeds: "
                + ", ".join(f"{c}× {k}" for k, c in sorted(statuses.items()))
                + f"; {summary['new']} new posts; server: {requests}"
            )
            errors: dict[str, int] = {}
            for f in poll["feeds"]:
                if f["status"] in ("error", "gone"):
                    errors[f["error"]] = errors.get(f["error"], 0) + 1
            if errors:
                row.notes.append(
                    "failures: " + "; ".join(f"{c}× {e}" for e, c in sorted(errors.items()))
                )
        if stats_path.exists():
            stats = json.loads(stats_path.read_text())
            row.stats = stats
            self.describe_stages(row, stats, watched)
        else:
            roles = watched.by_role()
            row.notes.append("processes: " + _roles_text(roles))
        return row

    def describe_stages(self, row: Row, s: dict[str, Any], watched: procmem.TreeRun) -> None:
        http, parse, store, main = s["http"], s["parse"], s["store"], s["main"]
        row.fetch = http["sum_s"]
        row.parse = parse["worker_sum_s"]
        row.store = store["sum_s"]
        row.main_mb = max(row.main_mb or 0, main["peak_kb"] / 1024)
        inside = s["wall_s"]
        conc = http["sum_s"] / http["busy_s"] if http["busy_s"] else 0
        row.notes.append(
            f"fetch: {http['requests']} requests, {http['sum_s']:.1f} s summed, "
            f"≥1 in flight {http['busy_s']:.1f} s (mean {conc:.1f} at once); "
            f"Fetcher.fetch awaited {s['fetch_await']['sum_s']:.1f} s summed (slots included)"
        )
        if parse["calls"]:
            workers = parse["workers"]
            per = ", ".join(
                f"{int(w['parses'])} docs/{w['cpu_s']:.1f} s CPU/{w['peak_kb'] / 1024:.0f} MB"
                for w in workers.values()
            )
            per_doc = parse["worker_sum_s"] / parse["calls"] * 1000
            both = parse["busy2_s"] / parse["busy_s"] * 100 if parse["busy_s"] else 0
            row.notes.append(
                f"parse: {parse['calls']} docs, {parse['worker_sum_s']:.1f} s in workers "
                f"({parse['worker_cpu_s']:.1f} s CPU, {per_doc:.0f} ms/doc); "
                f"{len(workers)} worker processes [{per}]; ≥1 parsing "
                f"{parse['busy_s']:.1f} s of the {parse['span_s']:.1f} s from the first "
                f"document to the last, both cores parsing {both:.0f}% of that; "
                f"awaited {parse['await_sum_s']:.1f} s summed (queueing included); "
                f"in the main process: {parse['in_main_process']}; errors: {parse['errors']}"
            )
        row.notes.append(
            f"store: {store['calls']} feeds, {store['sum_s']:.2f} s in the writer thread "
            f"(Store.apply_update {store['apply_update_s']:.2f} s)"
        )
        row.notes.append(
            f"main process: {main['cpu_s']:.1f} s CPU in {inside:.1f} s of poll "
            f"({main['cpu_s'] / inside * 100 if inside else 0:.0f}% of one core), "
            f"peak {main['peak_kb'] / 1024:.0f} MB; start-up and exit "
            f"{row.wall - inside:.1f} s; tree peak {watched.peak_rss_kb / 1024:.0f} MB RSS "
            f"({watched.peak_pss_kb / 1024:.0f} MB PSS) over "
            f"{_roles_text(watched.by_role())}"
        )

    # ----------------------------------------------------------------- newsboat

    def newsboat_dir(self, n: int) -> Path:
        base = self.tmp / f"newsboat-{n}"
        base.mkdir()
        (base / "urls").write_text("".join(self.url(i, n) + "\n" for i in range(n)))
        (base / "config").write_text(
            f"reload-threads {self.args.newsboat_threads}\ndownload-timeout 30\n"
            "show-read-feeds yes\n"
        )
        return base

    def newsboat_poll(self, base: Path, n: int, run: str) -> Row:
        assert self.newsboat is not None
        env = dict(self.env, HOME=str(base), XDG_CONFIG_HOME=str(base), XDG_DATA_HOME=str(base))
        argv = [self.newsboat, "-x", "reload", "-u", str(base / "urls"),
                "-c", str(base / "cache.db"), "-C", str(base / "config")]  # fmt: skip
        offset = self.server_offset()
        watched = procmem.run_watched(
            argv, env=env, stdout=base / f"stdout-{run}.txt", stderr=base / f"stderr-{run}.txt"
        )
        requests, counts = self.server_requests(offset)
        if watched.returncode != 0:
            err = (base / f"stderr-{run}.txt").read_text()[-2000:]
            raise SystemExit(f"newsboat exited {watched.returncode}:\n{err}")
        row = Row(n, run, "newsboat", watched.wall_s, watched.peak_mb(), watched.root.hwm_kb / 1024)
        good = counts.get("200", 0) + counts.get("304", 0)
        row.ok = str(good) if good == n else f"{good}/{n}"
        row.others = watched.others_cores
        try:
            with sqlite3.connect(base / "cache.db") as db:
                items = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
        except sqlite3.Error:
            items = "?"
        row.notes.append(
            f"{items} posts in its cache; server: {requests}; "
            f"{watched.root.cpu_s:.1f} s CPU ({self.args.newsboat_threads} reload threads)"
        )
        return row

    # ----------------------------------------------------------------- parse-only baseline

    def parse_only(self, count: int) -> list[Row]:
        files = [str(self.www / s.file) for s in self.specs[:count]]
        rows = []
        for mode, label in (("feedparser", "feedparser.parse"), ("carefeed", "parse_feed")):
            out = self.tmp / f"parseonly-{mode}.json"
            watched = procmem.run_watched(
                [sys.executable, str(BENCH / "parseonly.py"), mode, *files],
                env=self.env,
                stdout=out,
                stderr=self.tmp / f"parseonly-{mode}.err",
            )
            if watched.returncode != 0:
                err = (self.tmp / f"parseonly-{mode}.err").read_text()[-2000:]
                raise SystemExit(f"parse-only {mode} exited {watched.returncode}:\n{err}")
            result = json.loads(out.read_text())
            row = Row(count, "parse", label, result["seconds"], watched.peak_mb())
            row.main_mb = watched.root.hwm_kb / 1024
            row.others = watched.others_cores
            row.parse = result["seconds"]
            row.ok = str(count)
            row.notes.append(
                f"{result['seconds'] / count * 1000:.0f} ms per feed, one process, files read "
                f"beforehand ({result['entries']} posts); wall is the loop only"
            )
            rows.append(row)
        return rows

    # ----------------------------------------------------------------- helpers

    def set_validators(self, on: bool) -> None:
        assert self.server is not None
        self.server.set_validators(on, self.url(0, 1))

    def server_offset(self) -> int:
        assert self.server is not None
        time.sleep(0.25)  # let the server's log catch up with earlier requests (probes)
        return self.server.log_offset()

    def server_requests(self, offset: int) -> tuple[str, dict[str, int]]:
        """What the server answered since ``offset``, as text and as counts by status."""
        assert self.server is not None
        time.sleep(0.25)  # nginx flushes its access log buffer every 100 ms
        counts = self.server.statuses_since(offset)
        sent = counts.pop("bytes")
        parts = [f"{v}×{k}" for k, v in sorted(counts.items())]
        return (", ".join(parts) or "no requests") + f" ({sent / 1e6:.0f} MB sent)", counts

    # ----------------------------------------------------------------- the whole run

    def run(self) -> list[Row]:
        sizes = self.args.sizes
        self.generate(max(sizes))
        self.start_server()
        self.find_newsboat()
        if self.args.no_newsboat:
            self.say("newsboat skipped (--no-newsboat): ratios omitted")
        elif self.newsboat is None:
            self.say("newsboat not installed: ratios omitted (apt-get install newsboat)")
        else:
            self.say(f"baseline: {_version([self.newsboat, '-v']) or 'newsboat'}")
        rows: list[Row] = []
        for n in sizes:
            home = self.carefeed_home(n)
            for run in ("cold", "warm", "warm-200"):
                if run == "warm-200":
                    self.set_validators(False)
                try:
                    row = self.carefeed_poll(home, n, run)
                finally:
                    if run == "warm-200":
                        self.set_validators(True)
                rows.append(row)
                self.say(_progress(row))
                if row.ok == "crashed":
                    self.say(f"  (the {run} poll crashed: no more polls of this cache)")
                    break
            if self.newsboat is not None:
                base = self.newsboat_dir(n)
                for run in ("cold", "warm"):
                    row = self.newsboat_poll(base, n, run)
                    rows.append(row)
                    self.say(_progress(row))
        for row in rows:
            if row.tool != "carefeed":
                continue
            run = "warm" if row.run == "warm-200" else row.run  # newsboat's warm polls get 200s
            other = next(
                (r for r in rows if (r.n, r.run, r.tool) == (row.n, run, "newsboat")), None
            )
            if other is not None:
                other.ratio = 1.0
                if row.ok != "crashed":
                    row.ratio = row.wall / other.wall
        sample = min(self.args.sample, max(sizes))
        if sample > 0:
            rows.extend(self.parse_only(sample))
            self.say(_progress(rows[-2]))
            self.say(_progress(rows[-1]))
        return rows


# --------------------------------------------------------------------------- output


COLUMNS = (
    "N", "run", "tool", "ok", "wall s", "feeds/s", "peak MB", "main MB",
    "fetch s", "parse s", "store s", "ratio vs newsboat",
)  # fmt: skip


def _cells(row: Row) -> list[str]:
    def num(value: float | None, digits: int = 1) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    return [
        str(row.n), row.run, row.tool, row.ok or "–", num(row.wall, 2), num(row.rate, 0),
        num(row.peak_mb, 0), num(row.main_mb, 0), num(row.fetch), num(row.parse),
        num(row.store), num(row.ratio, 2),
    ]  # fmt: skip


def text_table(rows: Sequence[Row]) -> str:
    cells = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for c in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i < 4 else v.rjust(w)
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            )
        )
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" if i < 4 else "---:" for i in range(len(COLUMNS))) + "|"
    body = ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def verdicts(rows: Sequence[Row]) -> list[str]:
    out = []
    for row in rows:
        if row.tool != "carefeed":
            continue
        label = f"N={row.n} {row.run}"
        if row.ok == "crashed":
            out.append(f"{label}: the poll CRASHED (see the details)")
        if row.ok not in ("crashed", str(row.n)):
            out.append(f"{label}: only {row.ok} feeds polled without error")
        if row.ratio is not None:
            target = TARGET_COLD if row.run == "cold" else TARGET_WARM
            mark = "met" if row.ratio <= target else "MISSED"
            out.append(f"{label}: {row.ratio:.2f}× newsboat (target ≤ {target}×): {mark}")
        if row.peak_mb is not None:
            mark = "met" if row.peak_mb < TARGET_PEAK_MB else "MISSED"
            out.append(
                f"{label}: peak {row.peak_mb:.0f} MB for the whole tree "
                f"(target < {TARGET_PEAK_MB} MB): {mark}"
            )
        parse = row.stats.get("parse")
        if parse and parse["calls"]:
            where = "never" if parse["in_main_process"] == 0 else "SOMETIMES"
            out.append(
                f"{label}: parse ran in the main process {where}; "
                f"{len(parse['workers'])} parser processes"
            )
    return out


def load_warnings(rows: Sequence[Row]) -> list[str]:
    busy = [r for r in rows if r.others > 0.25]
    if not busy:
        return []
    worst = max(busy, key=lambda r: r.others)
    return [
        f"the machine was not idle: during {len(busy)} of {len(rows)} runs other processes "
        f"(nginx included) kept up to {worst.others:.1f} cores busy "
        f"(N={worst.n} {worst.run} {worst.tool}); wall times are inflated accordingly"
    ]


def environment(bench: Bench) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    limits = ", ".join(bench.args.set) if bench.args.set else "defaults"
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}; carefeed limits: {limits}",
        f"server: {bench.server_label() if bench.server else '?'}, {bench.args.hosts} loopback "
        f"addresses; {bench.layout_text()}",
        "newsboat: "
        + (
            f"{_version([bench.newsboat, '-v'])}, reload-threads {bench.args.newsboat_threads}"
            if bench.newsboat
            else "not run"
        ),
        "carefeed: "
        + (
            "the plain CLI (no stage timers)"
            if bench.args.cli
            else "the CLI's main() under bench/driver.py with stage timers"
        ),
    ]


LEGEND = """\
- *wall s*: around the whole process, start-up and exit included; feeds/s = N / wall.
- *peak MB*: the highest summed RSS of the process tree (main, forkserver, parser
  processes, resource tracker) at one 50 ms sample; *main MB*: the main process alone.
- *fetch s*, *parse s*, *store s*: summed task time, not wall time (fetches overlap each
  other and parsing): HTTP exchanges from request to body closed; `parse_feed` inside the
  parser processes; `Poller._store_result` (decide + SQLite) in the writer thread.
- *parse* rows: one process looping over the first N files already in memory (no fetch, no
  cache): what parsing alone costs per feed.
- *warm*: nothing changed and the server answers conditional GETs (304s); *warm-200*: the
  same, but the server ignores validators (no ETag, If-Modified-Since ignored) and sends
  the same bytes again with a 200, so the client must notice by itself (body hash).
- *ratio*: carefeed's wall time / newsboat's for the same N and run (warm-200 against
  newsboat's warm, whose requests get 200s too)."""


def write_markdown(path: Path, bench: Bench, rows: Sequence[Row], checks: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = []
    for row in rows:
        notes.append(f"- **N={row.n} {row.run} {row.tool}**")
        notes.extend(f"  - {n}" for n in row.notes)
        notes.append(f"  - other processes on the machine (nginx included): {row.others:.2f} cores")
    path.write_text(
        "# Poll benchmark\n\n"
        + "\n".join(f"- {e}" for e in environment(bench))
        + "\n\n"
        + markdown_table(rows)
        + "\n\n"
        + LEGEND
        + "\n\n## Targets\n\n"
        + "\n".join(f"- {c}" for c in checks)
        + "\n\n## Details\n\n"
        + "\n".join(notes)
        + "\n"
    )


def _progress(row: Row) -> str:
    extra = f", {row.ratio:.2f}× newsboat" if row.ratio not in (None, 1.0) else ""
    if row.ok and row.ok != str(row.n):
        extra += f", ok: {row.ok}"
    if row.others > 0.25:
        extra += f" (other work on the machine: {row.others:.1f} cores)"
    return (
        f"  N={row.n:<5} {row.run:<8} {row.tool:<16} {row.wall:7.2f} s  "
        f"{row.rate:6.0f} feeds/s  peak {row.peak_mb or 0:4.0f} MB{extra}"
    )


def _roles_text(roles: dict[str, list[procmem.ProcInfo]]) -> str:
    parts = []
    for name, infos in sorted(roles.items(), key=lambda kv: -max(i.hwm_kb for i in kv[1])):
        peak = max(i.hwm_kb for i in infos) / 1024
        cpu = sum(i.cpu_s for i in infos)
        count = f"{len(infos)}× " if len(infos) > 1 else ""
        parts.append(f"{count}{name} ≤{peak:.0f} MB/{cpu:.1f} s CPU")
    return "; ".join(parts)


def _version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    if not text:
        return None
    first = text[0]
    if first.startswith("nginx version: "):
        return first.removeprefix("nginx version: ")
    return first.split(" - ")[0]


def _toml_value(value: str) -> str:
    try:
        int(value)
        return value
    except ValueError:
        pass
    try:
        float(value)
        return value
    except ValueError:
        return json.dumps(value)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of feed counts") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("at least one positive feed count")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time carefeed's cold and warm poll against newsboat on loopback feeds."
    )
    p.add_argument("--sizes", type=_sizes, default=[200, 1000], help="feed counts (200,1000)")
    p.add_argument("--quick", action="store_true", help="N=50 only, parse sample 50")
    p.add_argument("--no-newsboat", action="store_true", help="skip the newsboat baseline")
    p.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    p.add_argument("--hosts", type=int, default=100, help="loopback addresses to spread over")
    p.add_argument(
        "--layout",
        choices=("interleaved", "grouped"),
        default="interleaved",
        help="interleaved: feed i on host i mod hosts; grouped: each host's feeds in a row",
    )
    p.add_argument("--newsboat-threads", type=int, default=8)
    p.add_argument(
        "--sample", type=int, default=100, help="files in the parse-only baseline (0: skip)"
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a carefeed [limits] setting for the run, e.g. --set concurrency=32 (repeatable)",
    )
    p.add_argument(
        "--cli", action="store_true", help="run the plain `carefeed poll` (no stage timers)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--out", type=Path, default=OUT / "poll.md", help="Markdown output")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [50]
        args.sample = min(args.sample, 50)
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check = subprocess.run(
        [sys.executable, "-c", "import carefeed.cli"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        print(
            f"carefeed is not importable by {sys.executable}: run this with the project's "
            f"virtual environment (.venv/bin/python bench/poll.py)\n{check.stderr.strip()}",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    tmp = Path(tempfile.mkdtemp(prefix="carefeed-bench-"))
    bench = Bench(args, tmp)
    try:
        rows = bench.run()
        checks = verdicts(rows) + load_warnings(rows)
        print()
        print(text_table(rows))
        print()
        print("\n".join(checks))
        write_markdown(args.out, bench, rows, checks)
        print(f"\nwrote {args.out} (details per run there)")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        if bench.server is not None:
            bench.server.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
