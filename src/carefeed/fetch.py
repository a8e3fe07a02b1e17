"""One polite HTTP GET: validators in, :class:`~carefeed.model.FetchOutcome` out.

Politeness (what feed hosts ask of readers): a User-Agent that names us and a way to reach
us, conditional requests with the validators sent back byte for byte, compression, no
cookies, no Referer, at most ``per_host`` requests to one host at a time.

Self-defence (HOSTILE.md §1, §3c), because every server is a stranger:

* One deadline over the whole fetch, redirects and body included. httpx's read timeout is
  per chunk, so a body trickling one byte a second never trips it (F11).
* The body cap counts *decoded* bytes, and the inflating is done here with
  ``zlib.decompressobj(...).decompress(data, max_length)``: httpx's own decoder inflates a
  whole wire read at once, and one 64 KiB read of a gzip bomb became 67 MB (F12).
* Redirects are followed by hand so that every hop's scheme is checked and so that we
  know whether the feed moved for good (every hop 301/308) or only for now.
* The cookie jar refuses everything: httpx would otherwise keep ``Set-Cookie`` and send
  it back on the next poll (F13).
* Error messages are built from exception *types*: ``str(ReadTimeout())`` is empty (F14),
  and anything a server wrote (a reason phrase) is cleaned like feed text.

Nothing here parses a feed or touches the cache, and ``fetch`` never raises for a feed's
problem: the poller gets one outcome per feed, whatever the server did.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import re
import socket
import ssl
import sys
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Self

import httpx

from carefeed import __version__
from carefeed.model import FetchOutcome, FetchStatus
from carefeed.settings import Limits
from carefeed.text import clean_text, one_line_error
from carefeed.urls import display_url

log = logging.getLogger(__name__)

USER_AGENT = f"carefeed/{__version__} (+https://github.com/carefeed/carefeed)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/feed+json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
# Only what we inflate ourselves under the cap: no br/zstd even if their packages appear.
ACCEPT_ENCODING = "gzip, deflate"

MAX_HINT = 30 * 86400.0  # Retry-After and max-age beyond a month are a server's mistake
MAX_VALIDATOR = 1024  # an ETag longer than this is not worth storing and sending back

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_DIGITS = re.compile(r"[0-9]+")
_VALIDATOR_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------- header values


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date).

    Garbage and the past mean "no advice" (None) rather than "retry now", so that the
    caller falls back to its own back-off instead of hammering a server that asked for
    a pause; absurd values are clamped to a month.
    """
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return min(float(value[:10]), MAX_HINT)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    if delta < 0:
        return None
    return min(delta, MAX_HINT)


def parse_max_age(value: str | None) -> float | None:
    """``max-age`` seconds from a Cache-Control value; None when caching is refused."""
    if not value:
        return None
    max_age: float | None = None
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name in {"no-cache", "no-store"}:
            return None
        arg = arg.strip().strip('"')
        if name == "max-age" and _DIGITS.fullmatch(arg):
            max_age = min(float(arg[:10]), MAX_HINT)
    return max_age


def _validator(value: str | None) -> str | None:
    """A validator worth keeping: short and free of control characters, otherwise none.

    Never trimmed or re-spelled: a server compares what comes back byte for byte.
    """
    if not value or len(value) > MAX_VALIDATOR or _VALIDATOR_FORBIDDEN.search(value):
        return None
    return value


def _raw_header(response: httpx.Response, name: bytes) -> str | None:
    """A header exactly as sent; latin-1 maps every byte to one character and back."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _wire(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _seconds(value: float) -> str:
    return f"{value:g}"


def _size(n: int) -> str:
    """A byte count as people write it: 1 MiB, 1.5 MiB, 512 KiB."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------- failures


class _Failure(Exception):
    """A feed problem found mid-fetch; becomes an ERROR outcome with this one line."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status  # set when the failure came after a status line


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything behind it (causes, contexts, group members).

    httpx wraps httpcore's error, which wraps the socket's or ssl's: the useful fact
    (refused, DNS, certificate) is at the bottom.
    """
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 50:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
    return seen


def _connect_problem(exc: BaseException, host: str) -> str:
    chain = _chain(exc)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"cannot connect: TLS error: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"cannot connect: TLS error: {cause.reason or type(cause).__name__}"
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return f"host not found: {host}"
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return "cannot connect: connection refused"
    for cause in chain:
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot connect: {cause.strerror.lower()}"
    return "cannot connect"


def _describe_http_error(exc: httpx.HTTPError, limits: Limits, *, host: str, in_body: bool) -> str:
    """One line for an httpx failure, from its type and the OS/TLS error behind it."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no response within {_seconds(limits.connect_timeout)} s (connecting to {host})"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return f"no response within {_seconds(limits.read_timeout)} s"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection: too many feeds at once"
    if isinstance(exc, httpx.ConnectError):
        return _connect_problem(exc, host)
    if isinstance(exc, httpx.RemoteProtocolError):
        if in_body:
            return "connection closed early: the body is incomplete"
        if any(type(c).__module__.startswith("h11") for c in _chain(exc)):
            return "invalid HTTP response"
        return "connection closed early: no response"
    if isinstance(exc, httpx.ReadError):
        return "connection reset" + (" while reading the body" if in_body else "")
    if isinstance(exc, httpx.WriteError):
        return "connection reset while sending the request"
    if isinstance(exc, httpx.ProxyError):
        return "proxy error"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported address: only http and https are fetched"
    if isinstance(exc, httpx.LocalProtocolError):
        return "invalid request (a stored header is malformed)"
    return f"HTTP failure ({type(exc).__name__})"


# --------------------------------------------------------------------------- the body


class _Inflater:
    """gzip or deflate, inflated a bounded amount at a time so a bomb never materialises."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._z: zlib._Decompress | None = None
        self._head = b""  # deflate: the first bytes, until we know zlib from raw deflate
        if coding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _ready(self, data: bytes) -> tuple[zlib._Decompress | None, bytes]:
        if self._z is not None:
            return self._z, data
        # "deflate" is meant to be zlib-wrapped (RFC 9110) but some servers send raw
        # deflate; the zlib header is recognisable from its first two bytes.
        data = self._head + data
        if len(data) < 2:
            self._head = data
            return None, b""
        cmf, flg = data[0], data[1]
        wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
        self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        self._head = b""
        return self._z, data

    def inflate(self, data: bytes, room: int) -> bytes:
        """At most ``room`` decoded bytes from ``data``; the rest stays inside zlib."""
        z, data = self._ready(data)
        out = bytearray()
        while z is not None and data and not z.eof and len(out) < room:
            try:
                piece = z.decompress(data, room - len(out))
            except zlib.error:
                raise _Failure(f"corrupt compressed body ({self.coding})") from None
            out += piece
            tail = z.unconsumed_tail
            if not piece and len(tail) >= len(data):
                break
            data = tail
        return bytes(out)

    def finish(self, room: int) -> bytes:
        """What zlib still holds once the wire is done; a stream cut short is an error."""
        if self._z is None:
            if self._head:
                raise _Failure(f"corrupt compressed body ({self.coding})")
            return b""  # an empty body that claims an encoding: nothing to inflate
        out = bytearray()
        while not self._z.eof and len(out) < room:
            try:
                piece = self._z.decompress(self._z.unconsumed_tail, room - len(out))
            except zlib.error:
                raise _Failure(f"corrupt compressed body ({self.coding})") from None
            if not piece:
                break
            out += piece
        if not self._z.eof and len(out) < room:
            raise _Failure(f"connection closed early: the {self.coding} body is incomplete")
        return bytes(out)


def _inflater(response: httpx.Response) -> _Inflater | None:
    header = response.headers.get("content-encoding", "")
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in {"gzip", "x-gzip"}:
        return _Inflater("gzip")
    if len(codings) == 1 and codings[0] == "deflate":
        return _Inflater("deflate")
    named = clean_text(", ".join(codings), max_len=40)
    raise _Failure(f"unsupported content encoding: {named}")


async def _read_body(response: httpx.Response, cap: int) -> bytes:
    """The decoded body, refused as soon as it would pass ``cap`` bytes."""
    inflater = _inflater(response)
    if inflater is None:
        declared = response.headers.get("content-length", "").strip()
        if _DIGITS.fullmatch(declared) and int(declared[:20]) > cap:
            announced = _size(int(declared[:20]))
            raise _Failure(f"too large: the server announced {announced}, over {_size(cap)}")
    too_large = f"too large: over {_size(cap)}" + (" after decompression" if inflater else "")
    # The pieces are kept as they come and joined once: a bytearray grown chunk by chunk
    # and copied out again cost two more copies of every body than this one join.
    parts: list[bytes] = []
    size = 0  # decoded bytes so far
    limit = cap + 1  # one byte more than allowed tells "exactly the cap" from "over it"
    async for chunk in response.aiter_raw():
        piece = chunk if inflater is None else inflater.inflate(chunk, limit - size)
        size += len(piece)
        if size > cap:
            raise _Failure(too_large)
        parts.append(piece)
    if inflater is not None:
        tail = inflater.finish(limit - size)
        size += len(tail)
        if size > cap:
            raise _Failure(too_large)
        parts.append(tail)
    return b"".join(parts)


# --------------------------------------------------------------------------- the fetcher


@dataclass(frozen=True)
class _Redirect:
    status: int
    location: httpx.URL


class _NoCookies(DefaultCookiePolicy):
    """Feeds need no session; a cookie sent back would only let a site track the reader."""

    def set_ok(self, cookie: object, request: object) -> bool:
        return False

    def return_ok(self, cookie: object, request: object) -> bool:
        return False


_LOCATION = "x-carefeed-location"


async def _hide_location(response: httpx.Response) -> None:
    """Keep a redirect's Location away from httpx; ``_next_hop`` reads it instead.

    Even with ``follow_redirects=False`` httpx builds the next request from Location, and
    raises on one like ``javascript:alert(1)`` before we could read it and name the scheme.
    """
    if response.status_code in _REDIRECTS and "location" in response.headers:
        response.headers[_LOCATION] = response.headers["location"]
        del response.headers["location"]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: loading the CA bundle takes ~40 ms."""
    return httpx.create_ssl_context()


@functools.cache
def _no_sniffio() -> None:
    """Make httpcore's ``import sniffio`` fail at once when sniffio is not installed.

    httpcore asks ``import sniffio`` every time it sets up a lock, an event or a semaphore
    (six times per request); anyio no longer depends on sniffio, and a *failed* import is
    not remembered, so each one searched all of ``sys.path`` again: ~30 us, 0.2-0.35 ms of
    the event loop's CPU per feed (cold poll of 200 feeds, 2026-11-27). ``None`` in
    ``sys.modules`` is Python's documented way to say "this module is absent": the import
    still raises ModuleNotFoundError, which httpcore and anyio already handle, just without
    the search. Nothing changes where sniffio is installed.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class _Release(httpx.AsyncByteStream):
    """A response body that calls ``release`` once it is closed (whatever happened)."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        # the inner iterator itself: no extra generator frame per chunk
        return self._inner.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


_Origin = tuple[str, str, int | None]


class _PoolPerOrigin(httpx.AsyncBaseTransport):
    """httpx's own transport, one small connection pool per origin instead of one big one.

    httpcore's pool walks every connection it holds on each request and each response
    close, asking every idle one whether its server hung up (a ``getpeername`` and a
    ``poll`` system call, and anyio builds a dict of lambdas for it), and its count of
    idle connections is quadratic. One pool of ``concurrency`` (16) connections, most of
    them idle ones left by hosts already done, cost ~0.55 ms of the event loop's CPU per
    feed (cold poll of 200 feeds, 2026-11-27); a pool per origin holds at most
    ``per_host`` connections, so the walk is over one or two.

    Keep-alive is unchanged within an origin (redirect hops, feeds of one site). Idle
    pools beyond ``keep`` are closed, least recently used first, so the sockets held stay
    bounded as they were with one pool; a pool with a response still open is never closed.
    """

    def __init__(self, verify: ssl.SSLContext, per_host: int, keep: int) -> None:
        self._verify = verify
        self._limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host)
        self._keep = keep
        self._pools: dict[_Origin, httpx.AsyncHTTPTransport] = {}  # least recently used first
        self._open: dict[_Origin, int] = {}  # responses not yet closed, by origin

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port)
        pool = self._pools.pop(origin, None)
        if pool is None:
            await self._trim()
            # another request may have opened this origin's pool while we were trimming
            pool = self._pools.pop(origin, None) or httpx.AsyncHTTPTransport(
                verify=self._verify, limits=self._limits
            )
        self._pools[origin] = pool
        self._open[origin] = self._open.get(origin, 0) + 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._closed(origin)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Release(response.stream, functools.partial(self._closed, origin))
        return response

    def _closed(self, origin: _Origin) -> None:
        left = self._open.pop(origin, 1) - 1
        if left:
            self._open[origin] = left

    async def _trim(self) -> None:
        """Close the least recently used idle pools until there is room for one more."""
        while len(self._pools) >= self._keep:
            # looked for again after every await: other requests move pools meanwhile
            origin = next((o for o in self._pools if o not in self._open), None)
            if origin is None:
                return
            await self._pools.pop(origin).aclose()

    async def aclose(self) -> None:
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()


class Fetcher:
    """Fetches feeds over shared keep-alive connections, bounded globally and per host.

    Use as ``async with Fetcher(limits) as fetcher: await fetcher.fetch(url, ...)``; one
    Fetcher serves a whole poll so that connections to a host are reused.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._client: httpx.AsyncClient | None = None
        self._all = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        limits = self.limits
        _no_sniffio()
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            cookies=CookieJar(policy=_NoCookies()),
            verify=_tls_context(),  # for proxy transports from the environment
            transport=_PoolPerOrigin(
                _tls_context(), per_host=limits.per_host, keep=limits.concurrency
            ),
            follow_redirects=False,
            event_hooks={"response": [_hide_location]},
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=limits.deadline,
            ),
            limits=httpx.Limits(  # for proxy transports: direct ones are _PoolPerOrigin's
                max_connections=limits.concurrency,
                max_keepalive_connections=limits.concurrency,
            ),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _host_slot(self, url: httpx.URL) -> asyncio.Semaphore:
        port = url.port or (443 if url.scheme == "https" else 80)
        key = f"{url.host}:{port}"
        slot = self._hosts.get(key)
        if slot is None:
            slot = self._hosts[key] = asyncio.Semaphore(self.limits.per_host)
        return slot

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        body_cap: int | None = None,
    ) -> FetchOutcome:
        """GET ``url`` once (following redirects); every failure is an ERROR outcome."""
        if self._client is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher(...)'")
        cap = body_cap if body_cap is not None else self.limits.body_cap
        try:
            return await self._fetch(self._client, url, etag, last_modified, cap)
        except Exception as exc:  # a bug of ours must not end the whole poll
            log.exception("fetching %s failed unexpectedly", display_url(url))
            return FetchOutcome(
                url=url,
                status=FetchStatus.ERROR,
                error=one_line_error(f"internal error while fetching ({type(exc).__name__})"),
            )

    async def _fetch(
        self,
        client: httpx.AsyncClient,
        url: str,
        etag: str | None,
        last_modified: str | None,
        cap: int,
    ) -> FetchOutcome:
        etag, last_modified = _validator(etag), _validator(last_modified)
        headers: list[tuple[bytes, bytes]] = []
        if etag:
            headers.append((b"If-None-Match", _wire(etag)))
        if last_modified:
            headers.append((b"If-Modified-Since", _wire(last_modified)))
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return _error(url, url, "invalid address")
        loop = asyncio.get_running_loop()
        budget = self.limits.deadline
        hops = 0
        permanent = True
        origin = target
        while True:
            try:
                _check_scheme(target)
                # Waiting for a free slot is queueing, not the server's slowness, so only
                # the time spent talking to servers is charged to the deadline. The host's
                # slot is taken first: a feed waiting on a busy host holds no global slot.
                async with self._host_slot(target), self._all:
                    started = loop.time()
                    deadline = asyncio.timeout(budget)
                    try:
                        async with deadline:
                            result = await self._exchange(
                                client, url, target, headers, cap, etag, last_modified
                            )
                    except TimeoutError:
                        if not deadline.expired():
                            raise
                        raise _Failure(
                            "too slow: no complete response within "
                            f"{_seconds(self.limits.deadline)} s"
                        ) from None
                    finally:
                        budget -= loop.time() - started
            except _Failure as failure:
                return _error(url, str(target), failure.message, failure.http_status)
            if isinstance(result, FetchOutcome):
                # A move is only worth recording when the new address actually answered.
                arrived = result.status in {FetchStatus.OK, FetchStatus.NOT_MODIFIED}
                if hops and permanent and arrived and str(target) != url:
                    return replace(result, permanent_redirect=str(target))
                return result
            hops += 1
            if hops > self.limits.max_redirects:
                return _error(
                    url, str(target), f"too many redirects (more than {self.limits.max_redirects})"
                )
            permanent = permanent and result.status in _PERMANENT
            target = _keep_credentials(origin, result.location)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        url: str,
        target: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        cap: int,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchOutcome | _Redirect:
        """One request and its response: a redirect to follow, or the outcome."""
        host = clean_text(target.host, max_len=100)
        try:
            request = client.build_request("GET", target, headers=headers)
            response = await client.send(request, stream=True)
        except httpx.InvalidURL:
            raise _Failure("invalid address") from None
        except httpx.HTTPError as exc:
            raise _Failure(
                _describe_http_error(exc, self.limits, host=host, in_body=False)
            ) from None
        try:
            status = response.status_code
            if not 200 <= status < 300:
                answer = _answer_without_body(url, target, response, etag, last_modified)
                await _let_connection_be_reused(response)
                return answer
            try:
                body = await _read_body(response, cap)
            except httpx.HTTPError as exc:
                message = _describe_http_error(exc, self.limits, host=host, in_body=True)
                raise _Failure(message, status) from None
            except _Failure as failure:
                raise _Failure(failure.message, status) from None
            return FetchOutcome(
                url=url,
                status=FetchStatus.OK,
                final_url=str(target),
                http_status=status,
                content_type=_content_type(response),
                body=body,
                etag=_validator(_raw_header(response, b"etag")),
                last_modified=_validator(_raw_header(response, b"last-modified")),
                max_age=parse_max_age(response.headers.get("cache-control")),
            )
        finally:
            await response.aclose()


def _content_type(response: httpx.Response) -> str | None:
    return clean_text(response.headers.get("content-type", ""), max_len=200) or None


def _answer_without_body(
    url: str,
    target: httpx.URL,
    response: httpx.Response,
    etag: str | None,
    last_modified: str | None,
) -> FetchOutcome | _Redirect:
    """What a response other than 2xx means: a redirect to follow, 304, 410 or an error."""
    status = response.status_code
    if status in _REDIRECTS:
        return _Redirect(status, _next_hop(target, response))
    base = FetchOutcome(
        url=url,
        status=FetchStatus.ERROR,
        final_url=str(target),
        http_status=status,
        content_type=_content_type(response),
    )
    if status == 304:
        return replace(
            base,
            status=FetchStatus.NOT_MODIFIED,
            etag=_validator(_raw_header(response, b"etag")) or etag,
            last_modified=_validator(_raw_header(response, b"last-modified")) or last_modified,
            max_age=parse_max_age(response.headers.get("cache-control")),
        )
    if status == 410:
        return replace(
            base, status=FetchStatus.GONE, error="gone (HTTP 410): the site removed this feed"
        )
    retry_after = None
    if status in {429, 503}:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
    return replace(base, error=_status_line(response), retry_after=retry_after)


_SMALL_BODY = 16 * 1024  # a redirect's or an error's body worth reading to keep the connection
_SMALL_BODY_WAIT = 0.2  # seconds it may take; most arrive with the headers


async def _let_connection_be_reused(response: httpx.Response) -> None:
    """Read a small body we have no use for, so that its connection can serve the next hop.

    httpcore reuses a connection only once the response on it was read to the end; closing
    a 304 or a redirect unread closed the connection, so a same-site redirect or the next
    conditional GET paid a new TCP (and TLS) handshake. Only bodies that say they are small
    are read, for a moment at most: a slow or absent one just costs the connection, as
    before, never the outcome.
    """
    declared = response.headers.get("content-length", "").strip()
    bodiless = response.status_code == 304 or declared == "0"
    if not bodiless and not (_DIGITS.fullmatch(declared) and int(declared[:20]) <= _SMALL_BODY):
        return
    with suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(_SMALL_BODY_WAIT):
            async for _ in response.aiter_raw():
                pass


def _error(url: str, final_url: str, message: str, http_status: int | None = None) -> FetchOutcome:
    return FetchOutcome(
        url=url,
        status=FetchStatus.ERROR,
        final_url=final_url,
        http_status=http_status,
        error=one_line_error(message),
    )


def _status_line(response: httpx.Response) -> str:
    """``HTTP 404 Not Found``; the reason phrase is the server's text, so it is cleaned."""
    status = response.status_code
    reason = clean_text(response.reason_phrase, max_len=80)
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return one_line_error(f"HTTP {status} {reason}".strip())


def _check_scheme(url: httpx.URL) -> None:
    scheme = url.scheme.lower()
    if scheme not in {"http", "https"}:
        named = clean_text(scheme, max_len=20) or "no scheme"
        raise _Failure(f"only http and https addresses are fetched (got {named}:)")
    if not url.host:
        raise _Failure("invalid address: no host")


def _next_hop(current: httpx.URL, response: httpx.Response) -> httpx.URL:
    """Where a redirect points, resolved against the current URL and checked."""
    location = response.headers.get(_LOCATION, "").strip()
    if not location:
        raise _Failure(f"redirect (HTTP {response.status_code}) without a Location")
    try:
        target = current.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise _Failure("redirect to an invalid address") from None
    scheme = target.scheme.lower()
    if scheme not in {"http", "https"}:
        named = clean_text(scheme, max_len=20) or "no scheme"
        raise _Failure(f"redirected to {named}: (only http and https redirects are followed)")
    if not target.host:
        raise _Failure("redirect to an invalid address: no host")
    return target


def _keep_credentials(origin: httpx.URL, target: httpx.URL) -> httpx.URL:
    """A password in the feed URL goes on to the same origin only, as browsers do."""
    same_origin = (origin.scheme, origin.host, origin.port) == (
        target.scheme,
        target.host,
        target.port,
    )
    if same_origin and origin.userinfo and not target.userinfo:
        return target.copy_with(userinfo=origin.userinfo)
    return target
