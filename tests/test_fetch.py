"""One polite GET against a real loopback server: politeness, caps, deadlines, clear errors.

Every test goes through real sockets and the real httpx stack (no mocks), because the
failures that matter (a trickling body, a gzip bomb, a cookie sent back) only show on the
wire. The server's request log is the witness for what carefeed sent.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

from carefeed import __version__
from carefeed.fetch import USER_AGENT, Fetcher, parse_max_age, parse_retry_after
from carefeed.model import FetchOutcome, FetchStatus
from carefeed.settings import Limits
from feedserver import MIB, FeedServer

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Care</title></channel></rss>"


@pytest.fixture
async def fetcher(limits: Limits) -> AsyncIterator[Fetcher]:
    async with Fetcher(limits) as f:
        yield f


def failed(outcome: FetchOutcome, *words: str) -> str:
    """Assert an ERROR outcome whose one clean line contains ``words``; return the line."""
    assert outcome.status is FetchStatus.ERROR, outcome
    assert outcome.body is None
    error = outcome.error or ""
    assert 0 < len(error) <= 200
    assert "\n" not in error
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in error), repr(error)
    for word in words:
        assert word in error, error
    return error


def raw_handler(status_line: bytes, headers: list[tuple[str, str]], body: bytes):
    """A route that writes its response byte for byte (for encodings the server lacks)."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(status_line + b"\r\n")
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            h.wfile.write(f"{name}: {value}\r\n".encode("latin-1"))
        h.wfile.write(b"\r\n" + body)

    return handle


# --------------------------------------------------------------------------- politeness


async def test_ok_with_validators_and_metadata(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.add(
        "/feed.xml",
        RSS,
        content_type="application/rss+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=900"},
    )
    outcome = await fetcher.fetch(url)
    assert outcome.status is FetchStatus.OK
    assert outcome.body == RSS
    assert outcome.http_status == 200
    assert outcome.url == outcome.final_url == url
    assert outcome.content_type == "application/rss+xml; charset=utf-8"
    assert outcome.etag and outcome.etag.startswith('"')
    assert outcome.last_modified and outcome.last_modified.endswith("GMT")
    assert outcome.max_age == 900
    assert outcome.permanent_redirect is None
    assert outcome.error is None


async def test_request_headers_identify_us_and_carry_nothing_extra(
    feed_server: FeedServer, fetcher: Fetcher
):
    url = feed_server.add("/feed.xml", RSS)
    await fetcher.fetch(url)
    [request] = feed_server.requests
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"carefeed/{__version__} (+https://")
    assert request.headers["accept-encoding"] == "gzip, deflate"
    accept = request.headers["accept"]
    assert accept.startswith("application/rss+xml, application/atom+xml")
    assert accept.endswith("*/*;q=0.1")
    for absent in ("referer", "cookie", "if-none-match", "if-modified-since", "authorization"):
        assert absent not in request.headers


async def test_conditional_get_sends_validators_byte_identical(
    feed_server: FeedServer, fetcher: Fetcher
):
    etag = 'W/"ab c\xe9"'  # weak, a space, a latin-1 byte: sent back exactly as received
    last_modified = "Tuesday, 14-Nov-23 22:13:20 GMT"  # obsolete RFC 850 form, still valid
    url = feed_server.add("/feed.xml", RSS, etag=etag, last_modified=last_modified)
    first = await fetcher.fetch(url)
    assert (first.etag, first.last_modified) == (etag, last_modified)

    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.http_status == 304
    assert second.body is None
    assert (second.etag, second.last_modified) == (etag, last_modified)
    unconditional, conditional = feed_server.requests
    assert "if-none-match" not in unconditional.headers
    assert conditional.headers["if-none-match"] == etag
    assert conditional.headers["if-modified-since"] == last_modified


async def test_last_modified_alone_is_enough_for_a_304(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.add("/feed.xml", RSS, etag=None)
    first = await fetcher.fetch(url)
    assert first.etag is None
    second = await fetcher.fetch(url, last_modified=first.last_modified)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert feed_server.requests[1].headers["if-modified-since"] == first.last_modified
    assert "if-none-match" not in feed_server.requests[1].headers


async def test_changed_feed_comes_back_with_new_validators(
    feed_server: FeedServer, fetcher: Fetcher
):
    url = feed_server.add("/feed.xml", RSS)
    first = await fetcher.fetch(url)
    feed_server.set("/feed.xml", RSS.replace(b"Care", b"Care news"))
    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status is FetchStatus.OK
    assert second.body is not None and b"Care news" in second.body
    assert second.etag not in (None, first.etag)
    assert second.last_modified not in (None, first.last_modified)


async def test_304_with_new_validators_returns_them(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.error(
        "/feed.xml",
        304,
        headers={"ETag": '"v2"', "Cache-Control": "max-age=60"},
    )
    outcome = await fetcher.fetch(url, etag='"v1"', last_modified="Mon, 13 Nov 2023 00:00:00 GMT")
    assert outcome.status is FetchStatus.NOT_MODIFIED
    assert outcome.etag == '"v2"'
    assert outcome.last_modified == "Mon, 13 Nov 2023 00:00:00 GMT"  # none new: the sent one
    assert outcome.max_age == 60


async def test_malformed_stored_validator_is_not_sent(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.add("/feed.xml", RSS)
    outcome = await fetcher.fetch(url, etag='"a"\r\nX-Injected: 1')
    assert outcome.status is FetchStatus.OK
    [request] = feed_server.requests
    assert "if-none-match" not in request.headers
    assert "x-injected" not in request.headers


async def test_no_cookie_is_ever_sent_back(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.add(
        "/feed.xml", RSS, headers={"Set-Cookie": "session=tracking; Path=/; Max-Age=3600"}
    )
    assert (await fetcher.fetch(url)).status is FetchStatus.OK
    assert (await fetcher.fetch(url)).status is FetchStatus.OK
    assert feed_server.hits("/feed.xml") == 2
    assert all("cookie" not in r.headers for r in feed_server.requests)


@pytest.mark.parametrize(
    ("cache_control", "max_age"),
    [
        ("max-age=300", 300),
        ('public, max-age="120", must-revalidate', 120),
        ("no-cache, max-age=300", None),
        ("max-age=300, no-store", None),
        ("max-age=soon", None),
        ("max-age=99999999999999", 30 * 86400),
        (None, None),
    ],
)
def test_parse_max_age(cache_control: str | None, max_age: float | None):
    assert parse_max_age(cache_control) == max_age


# --------------------------------------------------------------------------- compression


async def test_gzip_body_is_decoded_and_capped_on_decoded_size(
    feed_server: FeedServer, fetcher: Fetcher
):
    big = RSS + b"<!--" + b"care " * 40_000 + b"-->"  # 200 KB that gzips to about 1 KB
    url = feed_server.add("/feed.xml", big, gzip=True)
    outcome = await fetcher.fetch(url)
    assert outcome.status is FetchStatus.OK
    assert outcome.body == big
    capped = await fetcher.fetch(url, body_cap=100_000)
    failed(capped, "too large", "after decompression")
    assert capped.http_status == 200


async def test_deflate_zlib_wrapped_or_raw(feed_server: FeedServer, fetcher: Fetcher):
    """RFC 9110 says zlib-wrapped; some servers send raw deflate. Both are read."""
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = z.compress(RSS) + z.flush()
    for path, body in (("/zlib", zlib.compress(RSS)), ("/raw", raw)):
        feed_server.handler(
            path,
            raw_handler(b"HTTP/1.1 200 OK", [("Content-Encoding", "deflate")], body),
        )
        outcome = await fetcher.fetch(feed_server.url(path))
        assert outcome.status is FetchStatus.OK, (path, outcome.error)
        assert outcome.body == RSS


async def test_gzip_exactly_at_the_cap_passes_one_more_byte_fails(
    feed_server: FeedServer, fetcher: Fetcher
):
    body = b"x" * 5000
    for path, encoded in (("/plain", body), ("/gz", gzip.compress(body))):
        headers = [("Content-Encoding", "gzip")] if path == "/gz" else []
        feed_server.handler(path, raw_handler(b"HTTP/1.1 200 OK", headers, encoded))
        exact = await fetcher.fetch(feed_server.url(path), body_cap=5000)
        assert exact.status is FetchStatus.OK and exact.body == body
        failed(await fetcher.fetch(feed_server.url(path), body_cap=4999), "too large")


@pytest.mark.parametrize(
    ("headers", "body", "words"),
    [
        ([("Content-Encoding", "br")], b"\x1b\x00\x00", ("unsupported content encoding: br",)),
        ([("Content-Encoding", "gzip, gzip")], b"", ("unsupported content encoding",)),
        ([("Content-Encoding", "gzip")], b"this is not gzip at all", ("corrupt", "gzip")),
        ([("Content-Encoding", "gzip")], gzip.compress(RSS)[:-12], ("incomplete",)),
    ],
)
async def test_bad_encodings_are_clear_errors(
    feed_server: FeedServer, fetcher: Fetcher, headers, body: bytes, words: tuple[str, ...]
):
    url = feed_server.handler("/feed", raw_handler(b"HTTP/1.1 200 OK", headers, body))
    failed(await fetcher.fetch(url), *words)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_decompression_bomb_stops_at_the_cap_without_ballooning(
    feed_server: FeedServer, fetcher: Fetcher, encoding: str
):
    url = feed_server.gzip_bomb("/bomb", inflated=1024 * MIB, encoding=encoding)
    tracemalloc.start()
    try:
        started = time.monotonic()
        outcome = await fetcher.fetch(url)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    failed(outcome, "too large: over 1 MiB after decompression")
    # httpx's own decoder materialised ~67 MB from one wire read (HOSTILE.md F12).
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB while inflating"
    assert elapsed < 2


# --------------------------------------------------------------------------- caps, deadlines


async def test_endless_body_stops_at_the_cap(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.endless("/flood")
    started = time.monotonic()
    outcome = await fetcher.fetch(url)
    failed(outcome, "too large: over 1 MiB")
    assert "decompression" not in (outcome.error or "")
    assert time.monotonic() - started < 2


async def test_declared_length_over_the_cap_is_refused_up_front(
    feed_server: FeedServer, fetcher: Fetcher
):
    url = feed_server.lying_length("/huge", declared=200 * MIB)
    failed(await fetcher.fetch(url), "too large", "200 MiB", "1 MiB")


async def test_body_shorter_than_declared_is_connection_closed_early(
    feed_server: FeedServer, fetcher: Fetcher
):
    url = feed_server.lying_length("/short", declared=5000, body=RSS)
    outcome = await fetcher.fetch(url)
    failed(outcome, "connection closed early")
    assert outcome.http_status == 200


async def test_trickling_body_is_stopped_by_the_deadline(feed_server: FeedServer, limits: Limits):
    """Each byte arrives well inside the read timeout, so only the overall deadline helps."""
    limits = replace(limits, deadline=1.5, read_timeout=2.0)
    url = feed_server.slow("/drip", chunk=b"<", every=0.2)
    async with Fetcher(limits) as fetcher:
        started = time.monotonic()
        outcome = await fetcher.fetch(url)
        elapsed = time.monotonic() - started
    failed(outcome, "too slow: no complete response within 1.5 s")
    assert 1.4 <= elapsed < limits.deadline + 2


async def test_deadline_covers_the_whole_redirect_chain(feed_server: FeedServer, limits: Limits):
    limits = replace(limits, deadline=1.0)
    for n in range(4):
        feed_server.handler(f"/hop{n}", _slow_redirect(f"/hop{n + 1}", 0.4))
    async with Fetcher(limits) as fetcher:
        started = time.monotonic()
        outcome = await fetcher.fetch(feed_server.url("/hop0"))
        elapsed = time.monotonic() - started
    failed(outcome, "too slow")
    assert elapsed < limits.deadline + 1
    assert feed_server.hits("/hop2") == 1  # the third hop began, and was cut short


def _slow_redirect(to: str, delay: float):
    def handle(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        h.send_response(302)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


async def test_silent_server_is_a_read_timeout(feed_server: FeedServer, limits: Limits):
    limits = replace(limits, read_timeout=0.5)
    url = feed_server.hang("/hang")
    async with Fetcher(limits) as fetcher:
        started = time.monotonic()
        outcome = await fetcher.fetch(url)
    failed(outcome, "no response within 0.5 s")
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [
        ((301,), True),
        ((308,), True),
        ((301, 308, 301), True),
        ((302,), False),
        ((307,), False),
        ((303,), False),
        ((301, 302), False),
        ((302, 301), False),
    ],
)
async def test_permanent_redirect_only_when_every_hop_is_permanent(
    feed_server: FeedServer, fetcher: Fetcher, statuses: tuple[int, ...], permanent: bool
):
    final = feed_server.add("/new/feed.xml", RSS)
    for n, status in enumerate(statuses):
        to = "/new/feed.xml" if n == len(statuses) - 1 else f"/r{n + 1}"
        feed_server.redirect(f"/r{n}", to, status=status)
    outcome = await fetcher.fetch(feed_server.url("/r0"))
    assert outcome.status is FetchStatus.OK
    assert outcome.body == RSS
    assert outcome.final_url == final
    assert outcome.permanent_redirect == (final if permanent else None)
    assert outcome.url == feed_server.url("/r0")


async def test_relative_and_absolute_locations_resolve(feed_server: FeedServer, fetcher: Fetcher):
    final = feed_server.add("/a/b/feed.xml", RSS)
    feed_server.redirect("/start", "a/x")  # relative path
    feed_server.redirect("/a/x", "b/feed.xml#frag")  # relative to /a/, fragment dropped
    outcome = await fetcher.fetch(feed_server.url("/start"))
    assert outcome.status is FetchStatus.OK
    assert outcome.final_url == final


async def test_permanent_redirect_to_an_error_does_not_move_the_feed(
    feed_server: FeedServer, fetcher: Fetcher
):
    feed_server.redirect("/old", "/missing", status=301)
    outcome = await fetcher.fetch(feed_server.url("/old"))
    failed(outcome, "HTTP 404 Not Found")
    assert outcome.permanent_redirect is None
    assert outcome.final_url == feed_server.url("/missing")


async def test_redirect_loop_stops_at_the_limit(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.redirect("/loop", "/loop", status=302)
    failed(await fetcher.fetch(url), "too many redirects (more than 5)")
    assert feed_server.hits("/loop") == 6  # the first request and five followed hops


async def test_five_hops_are_allowed(feed_server: FeedServer, fetcher: Fetcher):
    feed_server.add("/end", RSS)
    for n in range(5):
        feed_server.redirect(f"/h{n}", f"/h{n + 1}" if n < 4 else "/end")
    assert (await fetcher.fetch(feed_server.url("/h0"))).status is FetchStatus.OK


@pytest.mark.parametrize(
    ("location", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://ftp.example/feed.xml", "ftp"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/xml,<rss/>", "data"),
    ],
)
async def test_redirect_to_another_scheme_is_refused_by_name(
    feed_server: FeedServer, fetcher: Fetcher, location: str, scheme: str
):
    url = feed_server.redirect("/evil", location)
    outcome = await fetcher.fetch(url)
    failed(outcome, f"redirected to {scheme}:")
    assert outcome.permanent_redirect is None


async def test_redirect_without_location(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.error("/nowhere", 302)
    failed(await fetcher.fetch(url), "without a Location")


async def test_credentials_follow_same_origin_only_and_never_show(
    feed_server: FeedServer, fetcher: Fetcher
):
    feed_server.add("/private.xml", RSS)
    feed_server.redirect("/moved", "/private.xml")
    secret_url = feed_server.url("/moved").replace("http://", "http://reader:s3cret@")
    assert (await fetcher.fetch(secret_url)).status is FetchStatus.OK
    first, second = feed_server.requests
    assert first.headers["authorization"].startswith("Basic ")
    assert second.headers["authorization"] == first.headers["authorization"]

    other_origin = f"http://localhost:{feed_server.port}/private.xml"
    feed_server.redirect("/elsewhere", other_origin)
    feed_server.reset_log()
    elsewhere = feed_server.url("/elsewhere").replace("http://", "http://reader:s3cret@")
    assert (await fetcher.fetch(elsewhere)).status is FetchStatus.OK
    assert "authorization" in feed_server.requests[0].headers
    assert "authorization" not in feed_server.requests[1].headers

    refused = await fetcher.fetch("http://reader:s3cret@127.0.0.1:9/feed")
    assert "s3cret" not in failed(refused, "cannot connect")


# --------------------------------------------------------------------------- statuses


async def test_410_is_gone(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.error("/gone", 410)
    outcome = await fetcher.fetch(url)
    assert outcome.status is FetchStatus.GONE
    assert outcome.http_status == 410
    assert outcome.error == "gone (HTTP 410): the site removed this feed"


@pytest.mark.parametrize(
    ("status", "retry_after", "low", "high"),
    [
        (429, "120", 120, 120),
        (503, "3600", 3600, 3600),
        (429, "in a while", None, None),
        (503, None, None, None),
    ],
)
async def test_busy_with_retry_after(
    feed_server: FeedServer,
    fetcher: Fetcher,
    status: int,
    retry_after: str | None,
    low: float | None,
    high: float | None,
):
    headers = {"Retry-After": retry_after} if retry_after else {}
    url = feed_server.error("/busy", status, headers=headers)
    outcome = await fetcher.fetch(url)
    failed(outcome, f"HTTP {status}")
    assert outcome.http_status == status
    if low is None:
        assert outcome.retry_after is None
    else:
        assert outcome.retry_after is not None and low <= outcome.retry_after <= (high or low)


async def test_retry_after_as_http_date(feed_server: FeedServer, fetcher: Fetcher):
    in_an_hour = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    url = feed_server.error("/busy", 429, headers={"Retry-After": in_an_hour})
    outcome = await fetcher.fetch(url)
    assert outcome.retry_after is not None
    assert 3590 <= outcome.retry_after <= 3600


NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120),
        (" 0 ", 0),
        ("Sat, 01 Mar 2025 13:00:00 GMT", 3600),
        ("Sat, 01 Mar 2025 11:00:00 GMT", None),  # in the past
        ("Saturday, 01-Mar-25 12:00:30 GMT", 30),
        ("-5", None),
        ("soon", None),
        ("1.5", None),
        ("", None),
        (None, None),
        ("999999999", 30 * 86400),
        ("9" * 5000, 30 * 86400),
        ("Fri, 01 Mar 2030 12:00:00 GMT", 30 * 86400),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None):
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (404, "HTTP 404 Not Found"),
        (500, "HTTP 500 Internal Server Error"),
        (502, "HTTP 502 Bad Gateway"),
        (403, "HTTP 403 Forbidden"),
    ],
)
async def test_http_errors_name_the_status(
    feed_server: FeedServer, fetcher: Fetcher, status: int, line: str
):
    url = feed_server.error("/x", status, body=b"<html>error page</html>")
    outcome = await fetcher.fetch(url)
    assert failed(outcome) == line
    assert outcome.http_status == status
    assert outcome.retry_after is None


async def test_hostile_reason_phrase_is_cleaned(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.error("/x", 500, reason="Oops \x1b]0;x\x07[@click=app.quit] \x9b2J bye")
    error = failed(await fetcher.fetch(url), "HTTP 500 Oops")
    assert "\x1b" not in error and "\x07" not in error and "]0;x" not in error
    assert "[@click=app.quit]" in error  # kept as literal text; the reader never parses markup


async def test_304_without_asking_is_not_an_error(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.error("/x", 304)
    outcome = await fetcher.fetch(url)
    assert outcome.status is FetchStatus.NOT_MODIFIED
    assert outcome.etag is None


# --------------------------------------------------------------------------- connections


async def test_connection_refused(fetcher: Fetcher):
    failed(await fetcher.fetch("http://127.0.0.1:9/feed.xml"), "cannot connect")


async def test_https_to_a_plain_http_port_is_a_tls_error(feed_server: FeedServer, fetcher: Fetcher):
    url = feed_server.add("/feed.xml", RSS).replace("http://", "https://")
    failed(await fetcher.fetch(url), "TLS error")
    assert feed_server.hits("/feed.xml") == 0


async def test_unknown_host(fetcher: Fetcher):
    failed(await fetcher.fetch("http://nonexistent.invalid/feed"), "host not found")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.org/feed", ("got ftp:",)),
        ("file:///etc/passwd", ("got file:",)),
        ("http://[::1/feed", ("invalid address",)),
        ("not a url", ("got no scheme:",)),
    ],
)
async def test_bad_addresses_are_errors_not_exceptions(
    fetcher: Fetcher, url: str, words: tuple[str, ...]
):
    failed(await fetcher.fetch(url), *words)


async def test_garbage_instead_of_http(feed_server: FeedServer, fetcher: Fetcher):
    def ssh(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        h.close_connection = True

    failed(await fetcher.fetch(feed_server.handler("/ssh", ssh)), "invalid HTTP response")


async def test_closed_without_answer(feed_server: FeedServer, fetcher: Fetcher):
    def hang_up(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True

    failed(await fetcher.fetch(feed_server.handler("/bye", hang_up)), "connection closed early")


async def test_endless_headers(feed_server: FeedServer, fetcher: Fetcher):
    def pad(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(100_000):  # 2.5 MB of headers, far past any sane limit
            h.wfile.write(b"X-Pad-%d: %s\r\n" % (n, b"p" * 16))

    failed(await fetcher.fetch(feed_server.handler("/pad", pad)), "invalid HTTP response")


async def test_reset_mid_body(feed_server: FeedServer, fetcher: Fetcher):
    def reset(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss>")
        h.wfile.flush()
        time.sleep(0.1)  # let the client start on the body before the RST
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.rfile.close()
        h.wfile.close()
        h.connection.close()  # linger 0: RST instead of FIN
        h.wfile = io.BytesIO()  # the stdlib handler flushes it once more on the way out
        h.close_connection = True

    outcome = await fetcher.fetch(feed_server.handler("/reset", reset))
    failed(outcome, "connection reset")
    assert outcome.http_status == 200


# --------------------------------------------------------------------------- concurrency


async def test_per_host_limit_holds_under_concurrent_fetches(
    feed_server: FeedServer, limits: Limits
):
    feed_server.add("/slow.xml", RSS, delay=0.3)
    urls = [feed_server.url(f"/slow.xml?feed={n}") for n in range(8)]
    async with Fetcher(replace(limits, per_host=2, concurrency=16)) as fetcher:
        outcomes = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert all(o.status is FetchStatus.OK for o in outcomes)
    assert feed_server.hits("/slow.xml") == 8
    assert feed_server.max_in_flight == 2


async def test_global_limit_holds_across_hosts(feed_server: FeedServer, limits: Limits):
    feed_server.add("/slow.xml", RSS, delay=0.3)
    hosts = ["127.0.0.1", "localhost"]
    urls = [f"http://{hosts[n % 2]}:{feed_server.port}/slow.xml?n={n}" for n in range(8)]
    async with Fetcher(replace(limits, per_host=4, concurrency=3)) as fetcher:
        outcomes = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert all(o.status is FetchStatus.OK for o in outcomes)
    assert feed_server.max_in_flight == 3


async def test_fetch_outside_the_context_is_a_programming_error(limits: Limits):
    with pytest.raises(RuntimeError, match="async with"):
        await Fetcher(limits).fetch("http://127.0.0.1:9/")


# --------------------------------------------------------------------------- keep-alive


def _port_logger(ports: list[int]):
    """A route that answers a small feed and notes the client's port (one per connection)."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        ports.append(h.client_address[1])
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(RSS)))
        h.end_headers()
        h.wfile.write(RSS)

    return handle


async def test_connections_to_a_host_are_kept_alive_across_feeds_and_redirects(
    feed_server: FeedServer, limits: Limits
):
    ports: list[int] = []
    url = feed_server.handler("/feed.xml", _port_logger(ports))
    feed_server.redirect("/old.xml", "/feed.xml", status=301)
    async with Fetcher(limits) as fetcher:
        for _ in range(3):
            assert (await fetcher.fetch(url)).status is FetchStatus.OK
        moved = await fetcher.fetch(feed_server.url("/old.xml"))
    assert moved.status is FetchStatus.OK and moved.permanent_redirect == url
    assert len(ports) == 4
    assert len(set(ports)) == 1  # one connection for all four requests and the redirect


async def test_connection_is_kept_alive_after_a_304(feed_server: FeedServer, limits: Limits):
    """Nothing is read of a 304, yet its connection serves the next conditional GET."""
    ports: list[int] = []

    def etagged(h: BaseHTTPRequestHandler) -> None:
        ports.append(h.client_address[1])
        if h.headers.get("If-None-Match") == '"v1"':
            h.send_response(304)
            h.send_header("ETag", '"v1"')
            h.end_headers()
            return
        _port_logger([])(h)

    url = feed_server.handler("/feed.xml", etagged)
    async with Fetcher(limits) as fetcher:
        for _ in range(3):
            again = await fetcher.fetch(url, etag='"v1"')
            assert again.status is FetchStatus.NOT_MODIFIED
            assert again.etag == '"v1"'
        assert (await fetcher.fetch(url)).status is FetchStatus.OK
    assert len(ports) == 4
    assert len(set(ports)) == 1


async def test_idle_connections_stay_bounded_across_many_hosts(limits: Limits):
    """Idle pools beyond ``concurrency`` are closed, least recently used first."""
    servers = [FeedServer().start() for _ in range(5)]
    try:
        ports: list[list[int]] = [[] for _ in servers]
        urls = [
            s.handler("/feed.xml", _port_logger(p)) for s, p in zip(servers, ports, strict=True)
        ]
        async with Fetcher(replace(limits, concurrency=2)) as fetcher:
            for url in [*urls, urls[-1], urls[0]]:
                assert (await fetcher.fetch(url)).status is FetchStatus.OK
            give_up = time.monotonic() + 5
            while sum(len(s._connections) for s in servers) > 2:
                assert time.monotonic() < give_up, [len(s._connections) for s in servers]
                await asyncio.sleep(0.01)
        assert len(set(ports[-1])) == 1  # the most recent host kept its connection
        assert len(set(ports[0])) == 2  # the oldest one's was closed, then opened again
    finally:
        for server in servers:
            server.close()
