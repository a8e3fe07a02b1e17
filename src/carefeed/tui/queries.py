"""Slow cache queries off the UI thread, each thread with its own SQLite connection.

Measured on a 100,000-post cache (bench/reader.py): a page of 200 posts costs ~5 ms and
runs on the UI thread, but a count under a tag filter costs ~100 ms, a full-text search
~250 ms, the sidebar's per-feed and per-tag totals ~400 ms and the category totals ~750 ms.
Those go here. SQLite connections belong to the thread that made them (one connection
per thread, as lemon24/reader's LocalConnectionFactory), so every pool thread opens its
own handle (:meth:`~carefeed.api.Carefeed.reopen`) the first time it is used.

Results come back on the app's event loop (``loop.call_soon_threadsafe``); a job in a
``group`` cancels the group's queued jobs when submitted (the "exclusive" of Textual
workers), and callers guard against stale results themselves, as Textual's dictionary
example does, by comparing a generation number.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from carefeed.api import Carefeed
from carefeed.errors import CarefeedError

T = TypeVar("T")


class QueryPool:
    """A few threads that run ``job(api)`` against their own connection."""

    def __init__(self, base: Carefeed, *, workers: int = 2) -> None:
        self._base = base
        self._local = threading.local()
        self._workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="carefeed-q")
        self._groups: dict[str, list[Future[Any]]] = {}
        self._pending: set[Future[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def _api(self) -> Carefeed:
        api: Carefeed | None = getattr(self._local, "api", None)
        if api is None:
            api = self._base.reopen()
            self._local.api = api
        return api

    def _run(self, job: Callable[[Carefeed], T]) -> T:
        return job(self._api())

    def submit(
        self,
        job: Callable[[Carefeed], T],
        done: Callable[[T], None],
        *,
        group: str | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``job`` on a pool thread; call ``done(result)`` on the event loop.

        Must be called from the event loop's thread. A newer job in the same ``group``
        cancels the older ones still waiting (a running one finishes; its result is stale
        and the caller's generation guard drops it).
        """
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        # Run ``done`` in the submitter's context: Textual keeps the active app and
        # message pump in context variables, and call_soon_threadsafe would otherwise
        # use the pool thread's (empty) context.
        context = contextvars.copy_context()
        if group is not None:
            for old in self._groups.pop(group, []):
                old.cancel()
        future = self._executor.submit(self._run, job)
        self._pending.add(future)
        self._idle.clear()
        if group is not None:
            self._groups.setdefault(group, []).append(future)

        def finish(fut: Future[T]) -> None:
            self._pending.discard(fut)
            if group is not None and fut in self._groups.get(group, ()):
                self._groups[group].remove(fut)
            if not self._pending:
                self._idle.set()
            if fut.cancelled() or self._closed:
                return
            error = fut.exception()
            if error is None:
                done(fut.result())
            elif failed is not None:
                failed(error)
            elif not isinstance(error, CarefeedError):
                raise error

        def deliver(fut: Future[T]) -> None:
            with suppress(RuntimeError):  # the loop has closed: the app is gone
                loop.call_soon_threadsafe(finish, fut, context=context)

        future.add_done_callback(deliver)

    async def wait_idle(self) -> None:
        """Until no job is queued or running (tests and the bench use this)."""
        while not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def close(self) -> None:
        """Cancel what waits and let what runs finish. Each thread's connection is closed
        as its thread ends and its thread-local storage goes (sqlite3 refuses a close
        from another thread, and a barrier of close jobs can wait on a busy thread)."""
        if self._closed:
            return
        self._closed = True
        for futures in self._groups.values():
            for fut in futures:
                fut.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
