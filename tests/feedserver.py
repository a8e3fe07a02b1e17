"""A real HTTP server on 127.0.0.1 for carefeed's tests: polite feeds and hostile ones.

Tests talk to it over real sockets through the real httpx stack, so what they prove is
what happens on the wire (httpx's own test suite does the same). It runs the stdlib
``ThreadingHTTPServer`` in a daemon thread: one thread per connection, so slow and
endless routes never block the others.

Routes are registered by path (the query string is part of the path when a route was
registered with one, so ``/feed?n=1`` and ``/feed?n=2`` can be different feeds)::

    server.add("/feed.xml", b"<rss>...</rss>")          # static, with ETag/Last-Modified
    server.set("/feed.xml", b"<rss>changed</rss>")      # new body, new validators
    server.redirect("/old", "/feed.xml", status=301)
    server.error("/busy", 429, headers={"Retry-After": "120"})
    server.slow("/drip", chunk=b"x", every=0.5)         # a byte every half second, forever
    server.endless("/flood")                            # chunked body without end
    server.gzip_bomb("/bomb")                           # ~1 MB on the wire, 1 GiB inflated
    server.lying_length("/short", declared=200 * MIB)   # announces more than it sends
    server.hang("/hang")                                # reads the request, never answers
    server.handler("/custom", fn)                       # fn(handler) writes the response

and every request is logged (``server.requests``, ``server.hits(path)``) with the peak
number of requests being served at once (``server.max_in_flight``).
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import hashlib
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import urlsplit

MIB = 1024 * 1024
AUTO: Any = object()  # "make one up", as opposed to None ("send none")
_EPOCH = 1_700_000_000  # Last-Modified dates count up from here, one second per change


class Request(NamedTuple):
    """One request as the server saw it (header names lower-cased); unpacks as a tuple."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    """What to send for one path; ``kind`` picks the behaviour, the rest are its options."""

    kind: str
    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0
    reason: str | None = None
    chunk: bytes = b"x"
    every: float = 0.0
    count: int | None = None
    declared: int = 0
    encoding: str = "gzip"
    inflated: int = 0
    fn: Callable[[BaseHTTPRequestHandler], None] | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real feed hosts do
    server: _Server

    def do_GET(self) -> None:
        self.server.feed_server._serve(self)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is ``FeedServer.requests``, not stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    feed_server: FeedServer

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, remembered so that ``close`` can wait for them."""
        fs = self.feed_server
        fs._connections.add(request)
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        fs._threads = [t for t in fs._threads if t.is_alive()]
        fs._threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        self.feed_server._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal here (that is what a capped fetch does).

        Anything else is a bug in a route; it is kept in ``errors`` and the
        ``feed_server`` fixture fails the test with it, rather than printing it from a
        thread at some random moment.
        """
        if isinstance(sys.exc_info()[1], OSError):
            return
        self.feed_server.errors.append(traceback.format_exc())


class FeedServer:
    """The server, its routes and its request log. Start with ``start()`` or ``with``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.feed_server = self
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._changes = 0
        self._in_flight = 0
        self.max_in_flight = 0
        self.requests: list[Request] = []
        self.errors: list[str] = []  # tracebacks of the server's own bugs

    # -- lifecycle
    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and cut every open connection, so no slow route outlives its test."""
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        give_up = time.monotonic() + 5
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, give_up - time.monotonic()))
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses and the log
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def hits(self, path: str) -> int:
        """Requests made for ``path`` (query string included when ``path`` has one)."""
        with self._lock:
            return sum(1 for r in self.requests if _matches(r.path, path))

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if _matches(r.path, path)]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    # -- routes
    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str | None = "application/rss+xml",
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = AUTO,
        last_modified: str | None = AUTO,
        gzip: bool = False,
        delay: float = 0.0,
    ) -> str:
        """Serve ``body`` at ``path``; returns its URL.

        Validators default to an ETag made from the body and a Last-Modified that moves
        one second on every change, so a changed body always gets new validators. A
        request carrying the current ETag (If-None-Match) or, without one, exactly the
        current Last-Modified (If-Modified-Since) gets a 304. ``gzip`` compresses when
        the client accepts it; ``delay`` waits before answering (for concurrency tests).
        """
        with self._lock:
            self._changes += 1
            stamp = _EPOCH + self._changes
        if etag is AUTO:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if last_modified is AUTO:
            last_modified = formatdate(stamp, usegmt=True)
        return self._put(
            path,
            Route(
                "static",
                body=body,
                status=status,
                content_type=content_type,
                headers=dict(headers or {}),
                etag=etag,
                last_modified=last_modified,
                gzip=gzip,
                delay=delay,
            ),
        )

    def set(self, path: str, body: bytes, **options: Any) -> str:
        """Change a route's body (new validators), keeping its other options unless given."""
        old = self._routes.get(path)
        if old is not None and old.kind == "static":
            options = {
                "content_type": old.content_type,
                "status": old.status,
                "headers": old.headers,
                "gzip": old.gzip,
                "delay": old.delay,
            } | options
        return self.add(path, body, **options)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """``to`` is sent verbatim as Location: relative, absolute or hostile."""
        return self._put(path, Route("redirect", status=status, headers={"Location": to}))

    def error(
        self,
        path: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        reason: str | None = None,
    ) -> str:
        """A fixed status; ``reason`` replaces the reason phrase, byte for byte (latin-1)."""
        route = Route(
            "static",
            body=body,
            status=status,
            content_type="text/plain" if body else None,
            headers=dict(headers or {}),
            reason=reason,
        )
        return self._put(path, route)

    def slow(
        self,
        path: str,
        *,
        chunk: bytes = b"x",
        every: float = 0.5,
        count: int | None = None,
        content_type: str = "application/rss+xml",
    ) -> str:
        """Headers at once, then ``chunk`` every ``every`` seconds, ``count`` times (None: ∞)."""
        route = Route("slow", chunk=chunk, every=every, count=count, content_type=content_type)
        return self._put(path, route)

    def endless(self, path: str, *, chunk: bytes = b"<item>x</item>" * 4096) -> str:
        """A chunked body that never ends, as fast as the client reads."""
        return self._put(path, Route("slow", chunk=chunk, every=0.0, count=None))

    def gzip_bomb(self, path: str, *, inflated: int = 1024 * MIB, encoding: str = "gzip") -> str:
        """Zeros that inflate to ``inflated`` bytes (1 GiB ≈ 1 MB on the wire).

        Sent as gzip or deflate whatever the client said it accepts: a hostile server does.
        """
        _bomb(inflated, encoding)  # build it now, outside any test's deadline
        return self._put(path, Route("bomb", inflated=inflated, encoding=encoding))

    def lying_length(self, path: str, *, declared: int, body: bytes = b"<rss>") -> str:
        """Announce ``declared`` bytes, send ``body``, close the connection."""
        return self._put(path, Route("lying", declared=declared, body=body))

    def hang(self, path: str) -> str:
        """Read the request and never answer (until the server stops)."""
        return self._put(path, Route("hang"))

    def handler(self, path: str, fn: Callable[[BaseHTTPRequestHandler], None]) -> str:
        """Anything else: ``fn`` gets the stdlib handler and writes the whole response."""
        return self._put(path, Route("custom", fn=fn))

    def _put(self, path: str, route: Route) -> str:
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    # -- serving (runs in the connection's thread)
    def _serve(self, h: _Handler) -> None:
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self.requests.append(Request(h.command, h.path, headers))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            route = self._routes.get(h.path) or self._routes.get(urlsplit(h.path).path)
        try:
            if route is None:
                self._send(h, 404, b"no such route\n", {"Content-Type": "text/plain"})
            else:
                self._dispatch(h, route, headers)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _dispatch(self, h: _Handler, route: Route, request_headers: dict[str, str]) -> None:
        if route.delay:
            self._stop.wait(route.delay)
        if route.kind == "static":
            self._static(h, route, request_headers)
        elif route.kind == "redirect":
            self._send(h, route.status, b"", route.headers)
        elif route.kind == "slow":
            self._drip(h, route)
        elif route.kind == "bomb":
            body = _bomb(route.inflated, route.encoding)
            self._send(
                h,
                200,
                body,
                {"Content-Type": "application/rss+xml", "Content-Encoding": route.encoding},
            )
        elif route.kind == "lying":
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(route.declared))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(route.body)
            h.wfile.flush()
            h.close_connection = True
        elif route.kind == "hang":
            self._stop.wait()
            h.close_connection = True
        elif route.kind == "custom" and route.fn is not None:
            route.fn(h)

    def _static(self, h: _Handler, route: Route, request_headers: dict[str, str]) -> None:
        headers = {}
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag is not None:
            headers["ETag"] = route.etag
        if route.last_modified is not None:
            headers["Last-Modified"] = route.last_modified
        headers.update(route.headers)
        if route.status == 200 and _not_modified(route, request_headers):
            for name in ("Content-Type", "Content-Encoding"):
                headers.pop(name, None)
            self._send(h, 304, b"", headers)
            return
        body = route.body
        if route.gzip and "gzip" in request_headers.get("accept-encoding", ""):
            body = gzip_module.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self._send(h, route.status, body, headers, reason=route.reason)

    def _send(
        self,
        h: _Handler,
        status: int,
        body: bytes,
        headers: dict[str, str],
        *,
        reason: str | None = None,
    ) -> None:
        h.send_response(status, reason)
        for name, value in headers.items():
            h.send_header(name, value)
        if status != 304:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD" and status != 304:
            h.wfile.write(body)

    def _drip(self, h: _Handler, route: Route) -> None:
        h.send_response(200)
        if route.content_type:
            h.send_header("Content-Type", route.content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        sent = 0
        while not self._stop.is_set() and (route.count is None or sent < route.count):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(route.chunk), route.chunk))
            h.wfile.flush()
            sent += 1
            if route.every:
                self._stop.wait(route.every)
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


def _matches(logged: str, wanted: str) -> bool:
    return logged == wanted if "?" in wanted else urlsplit(logged).path == wanted


def _not_modified(route: Route, request_headers: dict[str, str]) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it.

    Both are compared as exact strings: a polite client sends back what it was given,
    and a test should notice one that does not.
    """
    if "if-none-match" in request_headers:
        return route.etag is not None and request_headers["if-none-match"] == route.etag
    since = request_headers.get("if-modified-since")
    return since is not None and since == route.last_modified


@cache
def _bomb(inflated: int, encoding: str) -> bytes:
    """Zeros as one valid gzip or zlib stream, built in milliseconds, once per size.

    Compressing 1 GiB takes seconds, but after a full flush deflate forgets its history,
    so every further MiB of zeros compresses to the same bytes: compress one, repeat it.
    """
    block = bytes(MIB)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(inflated, MIB)
    tail = z.compress(bytes(rest)) + z.flush()
    stream = segment * whole + tail
    if encoding == "gzip":
        crc = 0
        for _ in range(whole):
            crc = zlib.crc32(block, crc)
        crc = zlib.crc32(bytes(rest), crc)
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        return header + stream + struct.pack("<II", crc, inflated & 0xFFFFFFFF)
    adler = (inflated % 65521) << 16 | 1  # Adler-32 of n zero bytes: a = 1, b = n
    return b"\x78\xda" + stream + struct.pack(">I", adler)


if __name__ == "__main__":  # a manual check: python tests/feedserver.py
    with FeedServer() as srv:
        print(srv.add("/feed.xml", b"<rss version='2.0'><channel/></rss>"))
        time.sleep(60)
