"""HOSTILE.md §3c cases with state across polls or no poll at all (the rest are batched)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from hostile_kit import Victim, assert_clean_line, good_victim

from feedserver import FeedServer
from homes import opml_for


@pytest.mark.case(47, "304 edge cases", "no data change; validators kept current")
def test_304_edge_cases(victim: Victim):
    server = victim.server

    # (a) a 304 to an unconditional request: a feed never polled, always answering 304
    def always_304(h: BaseHTTPRequestHandler) -> None:
        h.send_response(304)
        h.send_header("ETag", '"fresh-1"')
        h.end_headers()

    rogue = server.handler("/rogue", always_304)
    opml = victim.home / "rogue.opml"
    opml.write_bytes(opml_for({"Rogue": rogue}))
    victim.cli("import", str(opml))
    # (b) a 304 that brings a new ETag for the victim
    server.handler("/victim", always_304)
    run = victim.poll()
    assert run.event(rogue)["status"] in ("not_modified", "error")
    assert run.event(victim.url)["status"] == "not_modified"
    victim.assert_nothing_lost()
    server.reset_log()
    victim.poll()
    assert server.requests_for("/victim")[0].headers.get("if-none-match") == '"fresh-1"'
    # (c) the same body again, without validators: fetched, but not processed again
    server.add("/victim", good_victim(), etag=None, last_modified=None)
    assert victim.poll().event(victim.url)["status"] in ("unchanged", "ok")
    assert victim.poll().event(victim.url)["status"] == "unchanged"
    # (d) an ETag that changes on every request, same body
    counter = iter(range(10**6))

    def churning(h: BaseHTTPRequestHandler) -> None:
        body = good_victim()
        h.send_response(200)
        h.send_header("ETag", f'"churn-{next(counter)}"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    server.handler("/victim", churning)
    for _ in range(2):
        assert victim.poll().event(victim.url)["status"] == "unchanged"
    victim.assert_nothing_lost()


@pytest.mark.case(49, "invalid URLs at add time", "refused with a reason, no password shown")
@pytest.mark.parametrize(
    "url",
    [
        "htp:/x",
        "http://",
        "http://exa mple.com/",
        "http://[::1",
        "http://127.0.0.1:9/" + "a" * 4000,
        "http://user:s3cr3tpw@127.0.0.1:9/feed",
    ],
    ids=["htp", "no-host", "space", "bracket", "4000-chars", "credentials"],
)
def test_invalid_urls_are_refused_at_add(victim: Victim, url: str):
    before = len(victim.cli_json("feeds"))
    result = victim.cli("add", url, check=False)
    assert result.returncode == 1, result
    message = result.stderr.decode().strip()
    assert message.startswith("carefeed: ") and message.count("\n") == 0, message
    assert_clean_line(message.removeprefix("carefeed: "))
    assert "s3cr3tpw" not in message
    assert len(victim.cli_json("feeds")) == before


def _chain(server: FeedServer, status: int = 302) -> None:
    server.redirect("/victim", "/hop/1", status=status)
    for n in range(1, 25):
        server.redirect(f"/hop/{n}", f"/hop/{n + 1}", status=status)
    server.add("/hop/25", good_victim())


@pytest.mark.case(41, "redirect loop, 25-hop chain", "too many redirects")
@pytest.mark.parametrize("kind", ["loop", "chain-25", "chain-25-301"])
def test_redirect_loop_and_long_chain(victim: Victim, kind: str):
    # not in the batch: under its load a 6-hop chain can meet the 2 s deadline first
    if kind == "loop":
        victim.server.redirect("/victim", "/victim", status=302)
    else:  # the 301 chain must not move the subscription either
        _chain(victim.server, 301 if kind.endswith("301") else 302)
    victim.expect_failure("too many redirects")
    hops = [r for r in victim.server.requests if r.path == "/victim" or r.path.startswith("/hop/")]
    assert len(hops) <= 6  # the first request and at most 5 redirects
    assert victim.feed()["url"] == victim.url
