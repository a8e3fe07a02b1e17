"""One poll: due feeds → fetch (bounded asyncio) → parse (process pool) → decide → store.

Why the pieces sit where they do:

* Fetching is I/O: many feeds at once on one event loop, bounded globally and per host
  (inside :class:`~carefeed.fetch.Fetcher`).
* Parsing is CPU and is where hostile documents bite (quadratic entities, ReDoS in
  feedparser, HOSTILE.md F8/F9): it runs in separate processes with an address-space cap
  and a wall-clock deadline; a parser that overruns is killed and replaced.
* Writing is done by one thread with its own connection to the cache, fed by the one
  task that consumes results: the event loop keeps fetching and feeding the parsers while
  SQLite works (it releases the GIL), and the cache never sees two writers from the same
  poll. The feeds that finished while the writer was busy go in one transaction, each
  feed in a savepoint of its own, so a kill leaves whole feeds.
* A body whose bytes hash to what we parsed last time is not parsed again.

Nothing here raises for one feed: every problem becomes a :class:`PollEvent` with an error.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import multiprocessing
import os
import pickle
import random
import resource
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from carefeed.comments import (
    PostRef,
    attach_site_comments,
    looks_like_comments_feed,
    parent_refs,
)
from carefeed.decide import (
    Classifier,
    next_poll_after_error,
    next_poll_after_success,
    plan_entries,
)
from carefeed.errors import CarefeedError, EntryNotFoundError, FeedNotFoundError
from carefeed.fetch import Fetcher
from carefeed.model import (
    CommentEvent,
    CommentTarget,
    Feed,
    FeedIntent,
    FetchOutcome,
    FetchStatus,
    ParsedComments,
    ParsedFeed,
    PollEvent,
    PollStatus,
    utc_now,
)
from carefeed.parse import parse_comments, parse_feed
from carefeed.settings import Settings
from carefeed.store import Store
from carefeed.text import one_line_error
from carefeed.urls import display_url, validate_feed_url

T = TypeVar("T")

# Feeds written in one transaction, at most, so that a reader's write never waits long.
_WRITE_BATCH = 16


def _start_parser_process(max_bytes: int, parent_pid: int) -> None:
    """Runs in each parser process: a runaway document hits MemoryError, not the machine,
    and the process ends by itself when carefeed does, even killed with SIGKILL. An idle
    worker would see its job pipe close anyway; one in the middle of a document would not,
    and with carefeed gone nobody enforces the parse deadline."""
    with suppress(ValueError, OSError):  # a platform without RLIMIT_AS runs uncapped
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    def watch_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, name="carefeed-parent-watch", daemon=True).start()


# A message between carefeed and a parser process: its length, then a pickle.
_HEADER = struct.Struct("!Q")


def _send_blocking(fd: int, payload: bytes | bytearray) -> None:
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _receive_blocking(fd: int) -> bytearray | None:
    """One message, or None at end of file (carefeed closed the pipe or is gone)."""
    header = _read_blocking(fd, _HEADER.size)
    if header is None:
        return None
    return _read_blocking(fd, _HEADER.unpack(header)[0])


def _read_blocking(fd: int, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    return buffer


def _parser_main(jobs: Connection, results: Connection, max_bytes: int, parent_pid: int) -> None:
    """A parser process: one job at a time, ``(function, args)`` in, ``(ok, value)`` out."""
    _start_parser_process(max_bytes, parent_pid)
    import carefeed.parse  # noqa: F401 -- start-up, not the first document's parse time

    job_fd, result_fd = jobs.fileno(), results.fileno()
    with suppress(OSError):  # a broken pipe: carefeed is gone, so are we (quietly)
        _send_blocking(result_fd, b"")  # ready
        while (job := _receive_blocking(job_fd)) is not None:
            _answer(result_fd, job)


def _answer(result_fd: int, job: bytes | bytearray) -> None:
    """Run one job and send back ``(True, result)`` or ``(False, exception)``."""
    reply: tuple[bool, object]
    try:
        func, args = pickle.loads(job)
        reply = (True, func(*args))
    except BaseException as exc:  # MemoryError included: it goes back as the answer
        reply = (False, exc)
    try:
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an exception or result that cannot be pickled
        error = CarefeedError(f"the parser's answer could not be sent ({type(exc).__name__})")
        payload = pickle.dumps((False, error), protocol=pickle.HIGHEST_PROTOCOL)
    del reply
    _send_blocking(result_fd, payload)


class _WorkerDied(Exception):
    """The parser process ended (killed, crashed, out of memory) before it answered."""


class _Worker:
    """One parser process and the two pipes to it, used from the event loop without
    blocking it: non-blocking ends, with the loop told to wake us when they are ready."""

    def __init__(self, max_bytes: int) -> None:
        context = multiprocessing.get_context("spawn")
        job_read, self._jobs = context.Pipe(duplex=False)
        self._results, result_write = context.Pipe(duplex=False)
        # spawn: a child of this process (so its watchdog sees us die), never a fork of a
        # process that has threads
        self.process = context.Process(
            target=_parser_main,
            args=(job_read, result_write, max_bytes, os.getpid()),
            name="carefeed-parser",
            daemon=True,
        )
        try:
            self.process.start()
        except BaseException:
            self._jobs.close()
            self._results.close()
            raise
        finally:
            job_read.close()
            result_write.close()
        for end in (self._jobs, self._results):
            os.set_blocking(end.fileno(), False)
            _widen_pipe(end.fileno())

    async def ready(self) -> None:
        await self._receive()

    async def call(
        self, func: Callable[..., object], args: tuple[object, ...], timeout: float
    ) -> tuple[bool, Any]:
        """``func(*args)`` in the process: ``(True, result)`` or ``(False, exception)``;
        TimeoutError after ``timeout`` seconds."""
        job = pickle.dumps((func, args), protocol=pickle.HIGHEST_PROTOCOL)
        async with asyncio.timeout(timeout):
            await self._send(job)
            del job
            answer: tuple[bool, Any] = pickle.loads(await self._receive())
        return answer

    async def _send(self, payload: bytes) -> None:
        fd = self._jobs.fileno()
        data = memoryview(_HEADER.pack(len(payload)) + payload)
        while data:
            try:
                data = data[os.write(fd, data) :]
            except BlockingIOError:
                await _ready_to(asyncio.get_running_loop().add_writer, fd)
            except OSError:  # EPIPE: the process is gone
                raise _WorkerDied from None

    async def _receive(self) -> bytearray:
        header = await self._read(_HEADER.size)
        return await self._read(_HEADER.unpack(header)[0])

    async def _read(self, size: int) -> bytearray:
        fd = self._results.fileno()
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            try:
                n = os.readv(fd, [view[got:]])
            except BlockingIOError:
                await _ready_to(asyncio.get_running_loop().add_reader, fd)
                continue
            if n == 0:
                raise _WorkerDied
            got += n
        return buffer

    def close(self, *, kill: bool) -> None:
        """End the process: at once (``kill``), or by closing its job pipe (it finishes the
        document in hand, if any, and exits)."""
        if kill:
            with suppress(OSError, ValueError):
                self.process.kill()
        self._jobs.close()
        self._results.close()

    def join(self, timeout: float) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)


# A pipe holds 64 KiB by default on Linux; a document (~130 KB) or a parsed result
# (~115 KB) then needs several wake-ups of the loop and writes from the other side. With
# room for a whole message the pool cost ~80 us less of this process's CPU per document
# (poolbench of 300 parses, 265 vs 350 us, 2026-11-27). 1 MiB is the default ceiling for
# an unprivileged process; elsewhere (or refused) pipes stay as they are.
_PIPE_SIZE = 1 << 20


def _widen_pipe(fd: int) -> None:
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        with suppress(OSError):
            fcntl.fcntl(fd, setpipe, _PIPE_SIZE)


async def _ready_to(watch: Callable[[int, Callable[[], None]], object], fd: int) -> None:
    """Wait until the loop says ``fd`` is readable/writable (``watch`` is add_reader or
    add_writer of the running loop; the watch is removed again afterwards)."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    watch(fd, wake)
    try:
        await woken
    finally:
        if watch == loop.add_reader:
            loop.remove_reader(fd)
        else:
            loop.remove_writer(fd)


class ParserPool:
    """Parser processes with a deadline per document.

    Our own small pool rather than ProcessPoolExecutor: the executor moves every document
    and every result through two threads of this process (a manager thread that reads and
    unpickles results, a queue feeder that writes jobs), several wake-ups and GIL handovers
    per parse; that cost ~0.6 ms of this process's CPU per feed beside the event loop's own
    share (cold poll of 400 feeds, 2026-11-27). Here the event loop writes the job and reads
    the answer itself, from non-blocking pipes it is woken for. A process that overruns its
    deadline is killed alone (the executor could only kill all of them, and the documents
    parsing beside it were retried) and a new one started for the next document.
    """

    def __init__(self, settings: Settings) -> None:
        self._limits = settings.limits
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._ended: list[_Worker] = []  # killed, to be reaped at close
        self._slots = asyncio.Semaphore(settings.limits.parse_workers)

    async def _take(self) -> _Worker:
        """An idle parser process, or a new one, started and warmed up: start-up (spawn
        and the feedparser import) must not count against a document's parse deadline."""
        if self._idle:
            return self._idle.pop()
        # reap the processes killed so far (exitcode asks the OS without waiting)
        self._ended = [w for w in self._ended if w.process.exitcode is None]
        try:
            worker = _Worker(self._limits.parse_memory)
        except (OSError, ValueError) as exc:  # e.g. no usable stderr under a TUI
            raise CarefeedError(f"cannot start the parser process: {exc}") from None
        try:
            await worker.ready()
        except _WorkerDied:
            self._end(worker)
            raise CarefeedError("cannot start the parser process: it exited at once") from None
        except BaseException:
            self._end(worker)
            raise
        return worker

    def _end(self, worker: _Worker) -> None:
        worker.close(kill=True)
        self._ended.append(worker)

    async def parse(self, body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        return await self._parse(parse_feed, body, url, content_type)

    async def parse_comments(
        self, body: bytes, url: str, content_type: str | None
    ) -> ParsedComments:
        """A comment feed, in the same processes, under the same deadline and memory cap."""
        return await self._parse(parse_comments, body, url, content_type)

    async def _parse(
        self,
        func: Callable[[bytes, str, str | None, int], T],
        body: bytes,
        url: str,
        content_type: str | None,
    ) -> T:
        # One document per process at a time, sent only when a process is free, so the
        # deadline times the parse itself and not the wait behind other feeds.
        args = (body, url, content_type, self._limits.max_entries)
        async with self._slots:
            for _attempt in range(3):
                worker = await self._take()
                self._busy.add(worker)
                try:
                    ok, value = await worker.call(func, args, self._limits.parse_timeout)
                except TimeoutError:
                    self._end(worker)
                    raise CarefeedError(
                        f"took too long to parse (over {self._limits.parse_timeout:g} s)"
                    ) from None
                except _WorkerDied:
                    self._end(worker)  # it died (killed, out of memory): retry in a new one
                    continue
                except BaseException:
                    # cancelled mid-document (or our bug): its answer would be read by
                    # the next document, so the process goes
                    self._end(worker)
                    raise
                finally:
                    self._busy.discard(worker)
                self._idle.append(worker)  # it answered: ready for the next document
                if ok:
                    result: T = value
                    return result
                if isinstance(value, MemoryError):
                    raise CarefeedError("too large to parse within the memory limit") from None
                raise value
            raise CarefeedError("the parser process died (out of memory?)")

    def close(self) -> None:
        """Let the processes finish what they hold and exit; kill any that do not."""
        workers, self._idle = [*self._idle, *self._busy], []
        self._busy = set()
        for worker in workers:
            worker.close(kill=False)
        deadline = time.monotonic() + self._limits.parse_timeout
        for worker in [*workers, *self._ended]:
            worker.join(max(0.0, deadline - time.monotonic()))
        self._ended = []


@dataclass(frozen=True)
class _Fetched:
    feed: Feed
    outcome: FetchOutcome
    parsed: ParsedFeed | None = None
    parse_error: str | None = None
    body_hash: str | None = None
    unchanged: bool = False
    comments: ParsedComments | None = None  # the feed is a site-wide comments feed


class Poller:
    """Polls feeds of one store; reuse one instance for a session (the parser pool stays)."""

    def __init__(
        self, store: Store, settings: Settings, classify: Classifier | None = None
    ) -> None:
        self._store = store
        self._local = threading.local()
        self.settings = settings
        self.classify = classify
        self.parsers = ParserPool(settings)

    @property
    def store(self) -> Store:
        """The cache as the calling thread may use it: a poll's writer thread has a
        connection of its own (a sqlite3 connection belongs to the thread that opened it)."""
        store: Store | None = getattr(self._local, "store", None)
        return self._store if store is None else store

    def _open_thread_store(self) -> None:
        if getattr(self._local, "store", None) is None:
            self._local.store = Store.open(self._store.path)

    def _write_results(self, results: Sequence[_Fetched]) -> list[PollEvent]:
        """In the poll's writer thread: store finished feeds, in order."""
        self._open_thread_store()
        events = []
        with self.store.batch():
            for result in results:
                event = self._store_result(result)
                if event is not None:
                    events.append(event)
        return events

    def _prune_old_read(self) -> None:
        """In the writer thread, after a poll: ``keep_read_days`` (see Store.prune)."""
        self._open_thread_store()
        self.store.prune(utc_now() - timedelta(days=self.settings.keep_read_days))

    def _close_thread_store(self) -> None:
        store: Store | None = getattr(self._local, "store", None)
        if store is not None:
            self._local.store = None
            store.close()

    def close(self) -> None:
        self.parsers.close()

    async def _fetch_and_parse(
        self,
        fetcher: Fetcher,
        feed: Feed,
        bodies: asyncio.Semaphore,
        fetched: FetchOutcome | None = None,
    ) -> _Fetched:
        # ``bodies`` bounds the documents fetched but not yet parsed: fetching is faster
        # than parsing, and without it a cold poll of 1,000 feeds holds them all in memory.
        async with bodies:
            outcome = fetched or await fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            body = outcome.body
            outcome = replace(outcome, body=None)
            if outcome.status is not FetchStatus.OK or body is None:
                return _Fetched(feed, outcome)
            body_hash = hashlib.sha256(body).hexdigest()
            if body_hash == feed.body_hash and feed.error is None:
                return _Fetched(feed, outcome, body_hash=body_hash, unchanged=True)
            try:
                parsed = await self.parsers.parse(
                    body, outcome.final_url or feed.url, outcome.content_type
                )
            except CarefeedError as exc:
                return _Fetched(feed, outcome, parse_error=one_line_error(str(exc)))
            comments = None
            final_url = outcome.final_url or feed.url
            items = [(e.link, e.guid) for e in parsed.entries]
            if looks_like_comments_feed(final_url, parsed.feed.title, items):
                try:
                    comments = await self.parsers.parse_comments(
                        body, final_url, outcome.content_type
                    )
                except CarefeedError as exc:
                    return _Fetched(feed, outcome, parse_error=one_line_error(str(exc)))
            return _Fetched(feed, outcome, parsed=parsed, body_hash=body_hash, comments=comments)

    async def poll(
        self,
        *,
        due_only: bool = False,
        force: bool = False,
        feed_ids: Sequence[int] | None = None,
        now: datetime | None = None,
        fetched: Mapping[int, FetchOutcome] | None = None,
    ) -> AsyncIterator[PollEvent]:
        """Yield one event per feed, in the order they finish. ``fetched``: responses
        already in hand, by feed id (``carefeed add`` fetched the address to check it; the
        first poll uses that response instead of asking the server twice)."""
        in_hand = dict(fetched or {})
        now = now or utc_now()
        feeds = self.store.feeds_to_poll(now, due_only=due_only, force=force, feed_ids=feed_ids)
        if not feeds:
            return
        if any(feed.orphans_upto is not None for feed in feeds):
            # a scan of the posts per such feed (~0.1 s on a 100,000-post cache): off the
            # event loop, with a connection of its own
            feeds = await asyncio.to_thread(self._read_again_for_orphans, feeds, self._store.path)
        limits = self.settings.limits
        bodies = asyncio.Semaphore(limits.concurrency + 2 * limits.parse_workers)
        # ``unwritten`` bounds the feeds taken up but not yet written, so that parsed posts
        # do not pile up in memory when the writer is the slower stage.
        unwritten = asyncio.Semaphore(
            limits.concurrency + 2 * limits.parse_workers + 2 * _WRITE_BATCH
        )
        done: asyncio.Queue[_Fetched] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(1, thread_name_prefix="carefeed-writer")

        async def write(results: list[_Fetched]) -> list[PollEvent]:
            if not results:
                return []
            return await loop.run_in_executor(writer, self._write_results, results)

        async with Fetcher(limits) as fetcher:

            async def one(feed: Feed) -> None:
                await unwritten.acquire()  # released once the feed is written
                try:
                    result = await self._fetch_and_parse(
                        fetcher, feed, bodies, in_hand.pop(feed.id, None)
                    )
                except Exception as exc:  # a bug must cost one feed, never the poll
                    error = one_line_error(f"internal error: {type(exc).__name__}: {exc}")
                    result = _Fetched(feed, FetchOutcome(feed.url, FetchStatus.ERROR, error=error))
                done.put_nowait(result)

            # finished tasks are dropped at once: only the queue holds their results
            tasks = {asyncio.create_task(one(f)) for f in feeds}
            for task in tasks:
                task.add_done_callback(tasks.discard)
            try:
                # site-wide comments feeds are written last, so that their comments find
                # the posts this same poll brings
                later: list[_Fetched] = []
                left = len(feeds)
                while left:
                    # what finished while the writer was busy goes to it in one call
                    ready = [await done.get()]
                    while not done.empty() and len(ready) < _WRITE_BATCH:
                        ready.append(done.get_nowait())
                    left -= len(ready)
                    later += [r for r in ready if r.comments is not None]
                    try:
                        events = await write([r for r in ready if r.comments is None])
                    finally:
                        for _ in ready:
                            unwritten.release()
                    for event in events:
                        yield event
                for event in await write(later):
                    yield event
                if self.settings.keep_read_days > 0:
                    # in the writer thread: on a big cache the scan takes a fifth of a
                    # second, which the reader's event loop must not wait for
                    await loop.run_in_executor(writer, self._prune_old_read)
            finally:
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # a write in progress finishes (whole feeds, a few per transaction),
                # then the thread's connection is closed
                writer.submit(self._close_thread_store)
                writer.shutdown(wait=True)

    async def refresh_comments(
        self, targets: Sequence[CommentTarget]
    ) -> AsyncIterator[CommentEvent]:
        """Fetch, parse and store the comment feeds of ``targets``; one event per target,
        in the order they finish. A refused feed is recorded without any request."""
        limits = self.settings.limits
        done: asyncio.Queue[tuple[CommentTarget, FetchOutcome, ParsedComments | None, str | None]]
        done = asyncio.Queue()
        fetchable = [t for t in targets if t.url is not None and t.refused is None]
        for target in targets:
            if target.url is None or target.refused is not None:
                event = self._store_comments(target, None, None, target.refused)
                if event is not None:
                    yield event
        if not fetchable:
            return
        async with Fetcher(limits) as fetcher:

            async def one(target: CommentTarget) -> None:
                assert target.url is not None
                parsed: ParsedComments | None = None
                error: str | None = None
                try:
                    outcome = await fetcher.fetch(
                        target.url,
                        etag=target.etag,
                        last_modified=target.last_modified,
                        body_cap=limits.comment_body_cap,
                    )
                    body = outcome.body
                    outcome = replace(outcome, body=None)
                    if outcome.status is FetchStatus.OK and body is not None:
                        try:
                            parsed = await self.parsers.parse_comments(
                                body, outcome.final_url or target.url, outcome.content_type
                            )
                        except CarefeedError as exc:
                            error = one_line_error(str(exc))
                except Exception as exc:  # a bug must cost one post, never the poll
                    outcome = FetchOutcome(target.url, FetchStatus.ERROR)
                    error = one_line_error(f"internal error: {type(exc).__name__}: {exc}")
                done.put_nowait((target, outcome, parsed, error))

            tasks = {asyncio.create_task(one(t)) for t in fetchable}
            for task in tasks:
                task.add_done_callback(tasks.discard)
            try:
                for _ in fetchable:
                    target, outcome, parsed, error = await done.get()
                    event = self._store_comments(target, outcome, parsed, error)
                    if event is not None:
                        yield event
            finally:
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def _store_comments(
        self,
        target: CommentTarget,
        outcome: FetchOutcome | None,
        parsed: ParsedComments | None,
        error: str | None,
    ) -> CommentEvent | None:
        now = utc_now()
        event = CommentEvent(entry_id=target.entry_id, url=target.url, status=PollStatus.ERROR)
        if outcome is not None and outcome.status in (FetchStatus.ERROR, FetchStatus.GONE):
            error = error or outcome.error or "no response"
        try:
            if outcome is None or error is not None:
                error = error or "no comment feed for this post"
                self.store.write_comments(target, now, error=error, ok=False)
                return replace(event, error=error)
            if parsed is None:  # 304
                self.store.write_comments(
                    target,
                    now,
                    etag=outcome.etag or target.etag,
                    last_modified=outcome.last_modified or target.last_modified,
                )
                return replace(event, status=PollStatus.NOT_MODIFIED)
            new = self.store.write_comments(
                target,
                now,
                comments=parsed.comments,
                parents=parent_refs(parsed.comments),
                etag=outcome.etag,
                last_modified=outcome.last_modified,
            )
        except EntryNotFoundError:
            return None
        return replace(event, status=PollStatus.UPDATED, new=new, total=len(parsed.comments))

    def _store_result(self, result: _Fetched) -> PollEvent | None:
        """Turn one feed's fetch/parse into writes; None when the feed vanished meanwhile."""
        feed, outcome = result.feed, result.outcome
        now = utc_now()
        interval = feed.interval or self.settings.interval
        event = PollEvent(
            feed_id=feed.id, url=feed.url, title=feed.display_title, status=PollStatus.ERROR
        )
        failed = outcome.status in (FetchStatus.ERROR, FetchStatus.GONE)
        error = (outcome.error if failed else None) or result.parse_error
        moved = None if failed else self._moved_to(outcome)
        if moved is not None and self.store.feed_id_for_url(moved) not in (None, feed.id):
            # Storing its posts here would show every post twice: say so instead.
            error = one_line_error(
                f"moved permanently to {display_url(moved)}, which is already subscribed "
                "as another feed: remove this one"
            )
        try:
            if error is not None:
                gone = outcome.status is FetchStatus.GONE  # 410: never asked again
                errors = feed.error_count + 1
                next_due = (
                    None
                    if gone
                    else next_poll_after_error(
                        now,
                        interval=interval,
                        error_count=errors,
                        retry_after=outcome.retry_after,
                        max_backoff=self.settings.max_backoff,
                        max_defer=self.settings.max_defer,
                        jitter=random.uniform(0.75, 1.25),
                    )
                )
                self.store.apply_update(
                    FeedIntent(
                        feed_id=feed.id,
                        fetched_at=now,
                        next_due=next_due,
                        ok=False,
                        error=error,
                        error_count=errors,
                        gone=gone,
                    ),
                    (),
                )
                status = PollStatus.GONE if gone else PollStatus.ERROR
                return replace(event, status=status, error=error)
            new_url = moved
            ok = FeedIntent(
                feed_id=feed.id,
                fetched_at=now,
                ok=True,
                next_due=next_poll_after_success(
                    now,
                    interval=interval,
                    max_age=outcome.max_age,
                    max_defer=self.settings.max_defer,
                ),
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                body_hash=result.body_hash,
                new_url=new_url,
            )
            parsed = result.parsed
            if parsed is None:  # 304, or the same bytes as last time
                self.store.apply_update(ok, ())
                status = PollStatus.UNCHANGED if result.unchanged else PollStatus.NOT_MODIFIED
                return replace(event, status=status, new_url=new_url)
            warning = one_line_error("; ".join(parsed.warnings)) if parsed.warnings else None
            if result.comments is not None:
                return self._store_site_comments(result, replace(ok, warning=warning), event)
            counts = self.store.apply_update(
                replace(ok, feed_data=parsed.feed, warning=warning),
                plan_entries(self.store.entry_states(feed.id), parsed.entries, self.classify),
                [e.guid for e in parsed.entries],
            )
        except FeedNotFoundError:
            return None
        return replace(
            event,
            title=feed.title or parsed.feed.title or feed.url,
            status=PollStatus.UPDATED,
            new=counts.new,
            updated=counts.updated,
            warnings=parsed.warnings,
            new_url=new_url,
        )

    def _store_site_comments(
        self, result: _Fetched, ok: FeedIntent, event: PollEvent
    ) -> PollEvent | None:
        """A site-wide comments feed: its comments go under their posts, it lists none.

        Comments whose post is not in the cache yet are not stored (there is no post to
        hang them on). The newest post of the site is remembered with the feed; once the
        site has a newer one, the next poll reads the feed in full again (no validators,
        see :meth:`_read_again_for_orphans`) and they attach. Until then the feed is polled
        like any other, so comments on posts that will never be cached (older than the
        blog's feed shows) cost a conditional GET, not a full read at every poll.
        """
        assert result.parsed is not None and result.comments is not None
        feed, parsed, comments = result.feed, result.parsed, result.comments.comments
        url = result.outcome.final_url or feed.url
        titles = {e.guid: e.title for e in parsed.entries}
        posts: list[PostRef] = self.store.comment_posts_near(url)
        groups, orphans = attach_site_comments(comments, titles, posts, url)
        intent = replace(ok, feed_data=parsed.feed)
        if orphans:
            intent = replace(intent, orphans_upto=max((p.entry_id for p in posts), default=0))
        new = self.store.attach_comments(
            feed.id, {eid: (cs, parent_refs(cs)) for eid, cs in groups.items()}, ok.fetched_at
        )
        self.store.apply_update(intent, ())
        notes = [f"{len(comments) - len(orphans)} comments attached to {len(groups)} posts"]
        if orphans:
            notes.append(f"{len(orphans)} comments wait for their post to be polled")
        return replace(
            event,
            title=feed.title or parsed.feed.title or feed.url,
            status=PollStatus.UPDATED,
            new_comments=new,
            warnings=(*result.comments.warnings, *notes),
            new_url=ok.new_url,
        )

    @staticmethod
    def _read_again_for_orphans(feeds: Sequence[Feed], path: Path) -> list[Feed]:
        """``feeds``, those with comments waiting for a post whose site has had a new post
        since they were read without their validators and body hash: the comments may
        attach now, so the feed is read in full."""
        store = Store.open(path)
        try:
            return [
                feed
                if feed.orphans_upto is None
                or store.newest_post_near(feed.url) <= feed.orphans_upto
                else replace(feed, etag=None, last_modified=None, body_hash=None)
                for feed in feeds
            ]
        finally:
            store.close()

    @staticmethod
    def _moved_to(outcome: FetchOutcome) -> str | None:
        if not outcome.permanent_redirect:
            return None
        try:
            new_url = validate_feed_url(outcome.permanent_redirect)
        except CarefeedError:
            return None
        return new_url if new_url != outcome.url else None
