"""Timing wrappers around carefeed's poll stages, for the benchmark driver only.

Installed by ``driver.py`` in its own process before it runs the CLI's poll; nothing in
``src/`` knows about them. What each stage's time means:

* **fetch (HTTP)**: from the request entering httpx's transport to the response body being
  closed, summed over requests. Waiting for carefeed's own concurrency slots is not in it;
  a busy event loop delaying reads is.
* **fetch (await)**: ``Fetcher.fetch`` as the poller awaits it: slots, redirects and all.
* **parse (worker)**: ``parse_feed`` inside the parser process, wall and CPU; it also
  records the worker's pid and peak RSS, and whether it ran in the main process (it must
  not: parsing is never on the event loop).
* **parse (await)**: ``ParserPool.parse`` as awaited: pickling, queueing for a free worker.
* **store**: ``Poller._store_result`` (decide + SQLite writes), in the poll's writer
  thread; of which ``Store.apply_update`` is the feed's writes.

Fetch and parse overlap, so their sums exceed the wall time; the driver also reports how
long at least one (and, for parse, two) of each was in flight.
"""

from __future__ import annotations

import functools
import os
import resource
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carefeed.model import ParsedFeed

MAIN_PID = os.getpid()


@dataclass
class Stats:
    http: list[tuple[float, float]] = field(default_factory=list)  # (start, end) monotonic
    http_errors: int = 0
    fetch_await: list[float] = field(default_factory=list)
    parse_await: list[float] = field(default_factory=list)
    parse_worker: list[tuple[float, float, float, int, int]] = field(default_factory=list)
    parse_errors: int = 0
    store: list[float] = field(default_factory=list)
    apply_update: list[float] = field(default_factory=list)


STATS = Stats()


# --------------------------------------------------------------------------- in the worker


def timed_parse_feed(
    body: bytes, url: str, content_type: str | None = None, max_entries: int = 5000
) -> ParsedFeed:
    """Runs in the parser process in place of ``parse_feed``; tags the result with timings."""
    from carefeed.parse import parse_feed

    start, cpu = time.monotonic(), time.process_time()
    result = parse_feed(body, url, content_type, max_entries)
    end = time.monotonic()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ParsedFeed is a frozen dataclass with a __dict__: the tag travels back in the pickle
    object.__setattr__(
        result, "_bench", (start, end, time.process_time() - cpu, os.getpid(), peak_kb)
    )
    return result


# --------------------------------------------------------------------------- in the main process


def install() -> None:
    # httpx is imported here, not at the top: the parser processes import this module too
    import httpx

    import carefeed.poller as poller

    class _TimedStream(httpx.AsyncByteStream):
        """Wraps an httpx response stream; records when the body is closed."""

        def __init__(self, inner: Any, start: float) -> None:
            self._inner = inner
            self._start = start
            self._done = False

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._inner:
                yield chunk

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                if not self._done:
                    self._done = True
                    STATS.http.append((self._start, time.monotonic()))

    from carefeed.fetch import Fetcher
    from carefeed.store import Store

    transport_send = httpx.AsyncHTTPTransport.handle_async_request

    @functools.wraps(transport_send)
    async def handle_async_request(self: Any, request: Any) -> Any:
        start = time.monotonic()
        try:
            response = await transport_send(self, request)
        except BaseException:
            STATS.http_errors += 1
            STATS.http.append((start, time.monotonic()))
            raise
        response.stream = _TimedStream(response.stream, start)
        return response

    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]

    fetch = Fetcher.fetch

    @functools.wraps(fetch)
    async def timed_fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await fetch(self, *args, **kwargs)
        finally:
            STATS.fetch_await.append(time.perf_counter() - start)

    Fetcher.fetch = timed_fetch  # type: ignore[method-assign]

    parse = poller.ParserPool.parse

    @functools.wraps(parse)
    async def timed_parse(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = await parse(self, *args, **kwargs)
        except BaseException:
            STATS.parse_errors += 1
            raise
        finally:
            STATS.parse_await.append(time.perf_counter() - start)
        tag = result.__dict__.pop("_bench", None)
        if tag is not None:
            STATS.parse_worker.append(tag)
        return result

    poller.ParserPool.parse = timed_parse  # type: ignore[method-assign]
    # the executor looks ``parse_feed`` up in the poller's globals at each call
    poller.parse_feed = timed_parse_feed  # type: ignore[attr-defined]

    store_result = poller.Poller._store_result
    poller.Poller._store_result = _timed(store_result, STATS.store)  # type: ignore[method-assign]
    Store.apply_update = _timed(Store.apply_update, STATS.apply_update)  # type: ignore[method-assign]


def _timed(fn: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    return wrapper


# --------------------------------------------------------------------------- summaries


def busy(intervals: list[tuple[float, float]], at_least: int = 1) -> float:
    """Seconds during which at least ``at_least`` of the intervals were open."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    total, depth, since = 0.0, 0, 0.0
    for at, step in points:
        if depth >= at_least:
            total += at - since
        depth += step
        since = at
    return total


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(wall: float, cpu_start: float = 0.0) -> dict[str, Any]:
    s = STATS
    workers: dict[int, dict[str, float]] = {}
    for start, end, cpu, pid, peak_kb in s.parse_worker:
        w = workers.setdefault(pid, {"parses": 0, "wall_s": 0.0, "cpu_s": 0.0, "peak_kb": 0})
        w["parses"] += 1
        w["wall_s"] += end - start
        w["cpu_s"] += cpu
        w["peak_kb"] = max(w["peak_kb"], peak_kb)
    spans = [(a, b) for a, b, *_ in s.parse_worker]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_s": wall,
        "http": {
            "requests": len(s.http),
            "errors": s.http_errors,
            "sum_s": sum(b - a for a, b in s.http),
            "busy_s": busy(s.http),
            "span_s": (max(b for _, b in s.http) - min(a for a, _ in s.http)) if s.http else 0,
        },
        "fetch_await": {"calls": len(s.fetch_await), "sum_s": sum(s.fetch_await)},
        "parse": {
            "calls": len(s.parse_await),
            "errors": s.parse_errors,
            "await_sum_s": sum(s.parse_await),
            "worker_sum_s": sum(b - a for a, b in spans),
            "worker_cpu_s": sum(w["cpu_s"] for w in workers.values()),
            "busy_s": busy(spans),
            "busy2_s": busy(spans, 2),
            # from the first document's start to the last one's end: how much of the poll
            # the parsers could have been busy, so that busy_s shows the holes inside it
            "span_s": (max(b for _, b in spans) - min(a for a, _ in spans)) if spans else 0,
            "in_main_process": sum(1 for *_, pid, _ in s.parse_worker if pid == MAIN_PID),
            "workers": {str(pid): w for pid, w in workers.items()},
        },
        "store": {
            "calls": len(s.store),
            "sum_s": sum(s.store),
            "apply_update_s": sum(s.apply_update),
        },
        "main": {
            "peak_kb": usage.ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime - cpu_start,  # during the poll only
        },
    }
