"""HOSTILE.md §3d: polite polling, scored against the loopback server's request log."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hostile_kit import LIMITS, Victim, item, rss, run_poll

from carefeed import __version__
from feedserver import FeedServer
from homes import make_home, opml_for, run_cli

ODD_LAST_MODIFIED = "Tuesday, 08-Nov-94 08:49:37 GMT"  # RFC 850: obsolete but valid


def _subscribe(victim: Victim, feeds: dict[str, str]) -> None:
    opml = victim.home / "extra.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(victim.home, "import", str(opml))


@pytest.mark.case(51, "conditional GET scorecard", "validators sent back byte for byte")
def test_conditional_get_scorecard(victim: Victim):
    server = victim.server
    url = server.add(
        "/polite.xml",
        rss("Polite", [item("p1", "Polite post")]),
        etag='W/"abc"',
        last_modified=ODD_LAST_MODIFIED,
    )
    _subscribe(victim, {"Polite": url})
    for _ in range(3):
        victim.poll()
    log = server.requests_for("/polite.xml")
    assert len(log) == 3
    assert "if-none-match" not in log[0].headers and "if-modified-since" not in log[0].headers
    for later in log[1:]:
        assert later.headers.get("if-none-match") == 'W/"abc"'
        assert later.headers.get("if-modified-since") == ODD_LAST_MODIFIED
    events = [victim.last.event(url)] if victim.last else []
    assert events and events[0]["status"] == "not_modified"


@pytest.mark.case(52, "no cookies, referrer or cache-busting", "identified, compressed, clean")
def test_no_cookies_referer_or_cache_busting(victim: Victim):
    server = victim.server
    path = "/cookie.xml?id=7&fmt=rss"
    url = server.add(
        path,
        rss("Cookie", [item("k1", "Cookie post")]),
        headers={"Set-Cookie": "session=tracking-123; Path=/"},
        gzip=True,
        etag=None,
        last_modified=None,
    )
    _subscribe(victim, {"Cookie": url})
    for n in range(3):
        server.set(path, rss("Cookie", [item(f"k{n}", f"Cookie post {n}")]))
        victim.poll()
    log = server.requests_for(path)
    assert len(log) == 3
    for request in log:
        assert request.path == path  # query string unchanged, nothing appended
        assert "cookie" not in request.headers and "referer" not in request.headers
        assert re.fullmatch(
            rf"carefeed/{re.escape(__version__)} \(\+https?://\S+\)",
            request.headers.get("user-agent", ""),
        )
        assert "gzip" in request.headers.get("accept-encoding", "")


@pytest.fixture
def second_host() -> FeedServer:
    try:
        server = FeedServer(host="127.0.0.2")
    except OSError as exc:
        pytest.skip(f"cannot bind a second loopback address: {exc}")
    server.start()
    yield server  # type: ignore[misc]
    server.close()


class _InFlight:
    """Counts requests between arrival and the first byte of the answer.

    The server's own ``max_in_flight`` also counts the moment after the last byte was
    sent, when the client may already have started its next request; this does not.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def route(self, body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
        def serve(h: BaseHTTPRequestHandler) -> None:
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            time.sleep(0.005)
            with self.lock:
                self.now -= 1
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(len(body)))
            h.send_header("ETag", '"same"')
            h.end_headers()
            h.wfile.write(body)

        return serve


@pytest.mark.case(53, "250 feeds on two hosts, duplicates", "<= 2 per host, once each, no burst")
def test_no_bursts_and_a_per_host_limit(
    server: FeedServer, second_host: FeedServer, tmp_path: Path
):
    home = make_home(tmp_path / "home", **LIMITS)
    feeds: dict[str, str] = {}
    on_a, on_b = _InFlight(), _InFlight()
    for n in range(200):
        feeds[f"A{n}"] = server.handler(f"/a/{n}", on_a.route(rss(f"A{n}", [item("x", "x")])))
    for n in range(50):
        feeds[f"B{n}"] = second_host.handler(f"/b/{n}", on_b.route(rss(f"B{n}", [item("x", "x")])))
    cached = server.add(
        "/a/cached", rss("Cached", [item("c", "c")]), headers={"Cache-Control": "max-age=7200"}
    )
    feeds["Cached"] = cached
    opml = tmp_path / "many.opml"
    body = opml_for(feeds)
    dupes = (
        f'<outline text="dup" xmlUrl="{feeds["A1"]}"/>'
        f'<outline text="dup2" xmlUrl="{feeds["A2"]}/"/>'
    )
    opml.write_bytes(body.replace(b"</body>", dupes.encode() + b"</body>"))
    run_cli(home, "import", str(opml))
    server.reset_log()
    second_host.reset_log()
    first = run_poll(home)
    assert first.returncode == 0 and first.json["summary"]["failed"] == 0, first.stdout[-500:]
    assert on_a.peak <= 2 and on_b.peak <= 2, (on_a.peak, on_b.peak)
    assert on_a.peak == 2  # the limit, not a one-at-a-time crawl
    paths = [r.path for r in server.requests] + [r.path for r in second_host.requests]
    assert len(paths) == len(set(paths)) == 251  # every URL once, duplicates merged
    server.reset_log()
    second_host.reset_log()
    again = run_poll(home, "--due")
    assert again.returncode == 0
    assert server.requests == [] and second_host.requests == []  # nothing is due yet
    feeds_json = {f["url"]: f for f in json.loads(run_cli(home, "feeds", "--json").stdout)}
    due = datetime.fromisoformat(feeds_json[cached]["next_due"].replace("Z", "+00:00"))
    assert due >= datetime.now(UTC) + timedelta(seconds=7000)  # max-age beyond the interval
