"""Polls end to end: a real loopback server, the real parser processes, a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.errors import CarefeedError, PollRunningError
from carefeed.model import EntryFilter, PollEvent, PollStatus, Subscription, utc_now
from carefeed.poller import ParserPool
from carefeed.settings import Limits, Settings
from feedserver import FeedServer
from homes import fixture_bytes, make_home


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Carefeed]:
    carefeed = Carefeed.open(make_home(tmp_path / "home"))
    yield carefeed
    carefeed.close()


def subscribe(app: Carefeed, *urls: str) -> list[int]:
    return [app.store.add_feed(Subscription(url=u), utc_now())[0] for u in urls]


async def poll(app: Carefeed, **kw: object) -> dict[str, PollEvent]:
    return {e.url: e async for e in app.poll(**kw)}  # type: ignore[arg-type]


async def test_first_poll_stores_posts_with_categories_and_comment_links(
    app: Carefeed, feed_server: FeedServer
):
    wp = feed_server.add("/wp/feed/", fixture_bytes("wordpress.xml"))
    atom = feed_server.add(
        "/atom.xml", fixture_bytes("atom.xml"), content_type="application/atom+xml"
    )
    rdf = feed_server.add(
        "/rss1.rdf", fixture_bytes("rss1.rdf"), content_type="application/rdf+xml"
    )
    subscribe(app, wp, atom, rdf)
    events = await poll(app)
    assert {e.status for e in events.values()} == {PollStatus.UPDATED}
    assert (events[wp].new, events[atom].new, events[rdf].new) == (3, 2, 1)

    [carers] = app.entries(EntryFilter(search="carers assessment"))
    assert carers.categories == ("Carers", "Mental health", "Social care funding")
    assert carers.comment_count == 4
    assert (
        carers.comments_feed == "https://practice-matters.example/2026/02/carers-assessment/feed/"
    )
    assert carers.author == "Priya N."
    assert "[1]: https://practice-matters.example/guides/carers/" in carers.content
    [kin] = app.entries(EntryFilter(tags=("kinship care",)))
    assert kin.title == "Grandparents raising grandchildren speak up"
    assert kin.comments_feed == "https://kinship-voices.example/feeds/7/comments/default"
    assert kin.comment_count == 3
    [feed] = [f for f in app.feeds() if f.url == wp]
    assert feed.title == "Practice Matters" and feed.etag and feed.error is None
    # the bracketed title survives untouched
    assert app.entries(EntryFilter(search="Green Paper"))[0].title == (
        "Budget [Green Paper] response & next steps"
    )


async def test_second_poll_is_conditional_and_costs_no_parse(
    app: Carefeed, feed_server: FeedServer
):
    url = feed_server.add("/feed/", fixture_bytes("wordpress.xml"))
    subscribe(app, url)
    await poll(app)
    first = feed_server.requests_for("/feed/")[0]
    assert "if-none-match" not in first.headers
    events = await poll(app)
    assert events[url].status is PollStatus.NOT_MODIFIED
    second = feed_server.requests_for("/feed/")[1]
    assert second.headers["if-none-match"] == app.feeds()[0].etag
    assert second.headers["if-modified-since"] == app.feeds()[0].last_modified


async def test_same_bytes_without_validators_are_not_parsed_again(
    app: Carefeed, feed_server: FeedServer
):
    url = feed_server.add("/feed/", fixture_bytes("wordpress.xml"), etag=None, last_modified=None)
    subscribe(app, url)
    assert (await poll(app))[url].new == 3
    assert (await poll(app))[url].status is PollStatus.UNCHANGED


async def test_changed_post_is_updated_in_place_keeping_marks(
    app: Carefeed, feed_server: FeedServer
):
    body = fixture_bytes("wordpress.xml")
    url = feed_server.add("/feed/", body)
    subscribe(app, url)
    await poll(app)
    [post] = app.entries(EntryFilter(search="supervision checklist"))
    app.set_read([post.id])
    app.set_starred([post.id])
    feed_server.set("/feed/", body.replace(b"a checklist", b"an updated checklist"))
    events = await poll(app)
    assert (events[url].new, events[url].updated) == (0, 1)
    again = app.entry(post.id)
    assert again.title == "Safeguarding supervision: an updated checklist"
    assert again.read and again.starred
    assert app.count_entries() == 3


async def test_posts_that_leave_the_feed_stay_cached(app: Carefeed, feed_server: FeedServer):
    body = fixture_bytes("wordpress.xml")
    url = feed_server.add("/feed/", body)
    subscribe(app, url)
    await poll(app)
    start = body.index(b"<item>")
    end = body.index(b"</item>") + len(b"</item>")
    feed_server.set("/feed/", body[:start] + body[end:])
    await poll(app)
    assert app.count_entries() == 3


async def test_failures_are_one_line_each_and_keep_the_cache(
    app: Carefeed, feed_server: FeedServer
):
    body = fixture_bytes("wordpress.xml")
    good = feed_server.add("/good/", fixture_bytes("atom.xml"))
    flaky = feed_server.add("/flaky/", body)
    subscribe(app, good, flaky)
    await poll(app)
    cached = app.count_entries(EntryFilter(feed=flaky))
    feed_server.error("/flaky/", 500, reason="Internal [@click=app.quit] \x1b]0;x\x07Error")
    events = await poll(app, force=True)
    assert events[flaky].status is PollStatus.ERROR
    assert events[flaky].error is not None and "500" in events[flaky].error
    assert "\x1b" not in events[flaky].error and "\n" not in events[flaky].error
    assert events[good].status is PollStatus.NOT_MODIFIED
    assert app.count_entries(EntryFilter(feed=flaky)) == cached
    [feed] = [f for f in app.feeds() if f.url == flaky]
    assert feed.error == events[flaky].error and feed.error_count == 1


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("slow", "too slow"),
        ("endless", "too large"),
        ("html", "not a feed"),
        ("empty", "empty"),
        ("entities", "entities"),
        ("refused", "cannot connect"),
    ],
)
async def test_hostile_routes_fail_alone(
    app: Carefeed, feed_server: FeedServer, route: str, expected: str
):
    good = feed_server.add("/good/", fixture_bytes("wordpress.xml"))
    if route == "slow":
        bad = feed_server.slow("/bad", every=0.5)
    elif route == "endless":
        bad = feed_server.endless("/bad")
    elif route == "html":
        bad = feed_server.add(
            "/bad",
            b"<!doctype html><html><body><p>Not found</p></body></html>",
            content_type="text/html",
        )
    elif route == "empty":
        bad = feed_server.add("/bad", b"")
    elif route == "entities":
        bomb = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 20000 + b'">]>'
        bad = feed_server.add("/bad", bomb + b"<rss><channel><title>&a;</title></channel></rss>")
    else:
        bad = "http://127.0.0.1:9/feed"
    subscribe(app, good, bad)
    events = await asyncio.wait_for(poll(app), timeout=15)
    assert events[good].status is PollStatus.UPDATED and events[good].new == 3
    assert events[bad].status is PollStatus.ERROR
    assert expected in (events[bad].error or ""), events[bad].error


async def test_parser_deadline_kills_a_runaway_parse_and_recovers(
    tmp_path: Path, feed_server: FeedServer
):
    app = Carefeed.open(make_home(tmp_path / "h", parse_timeout=1.0))
    try:
        redos = "".join(
            f"<item><title>t{i}</title><guid>g{i}</guid><author>a@{'a.' * 16000}!</author></item>"
            for i in range(3)
        )
        slow = feed_server.add(
            "/redos", f"<rss version='2.0'><channel>{redos}</channel></rss>".encode()
        )
        good = feed_server.add("/good", fixture_bytes("wordpress.xml"))
        subscribe(app, slow, good)
        events = await asyncio.wait_for(poll(app), timeout=30)
        assert "took too long to parse" in (events[slow].error or "")
        assert events[good].new == 3
    finally:
        app.close()


async def test_permanent_redirect_updates_the_url_temporary_does_not(
    app: Carefeed, feed_server: FeedServer
):
    feed_server.add("/new/", fixture_bytes("wordpress.xml"))
    feed_server.add("/other/", fixture_bytes("atom.xml"))
    moved = feed_server.redirect("/old/", "/new/", status=301)
    temp = feed_server.redirect("/temp/", "/other/", status=302)
    subscribe(app, moved, temp)
    events = await poll(app)
    assert events[moved].new_url == feed_server.url("/new/")
    urls = {f.url for f in app.feeds()}
    assert urls == {feed_server.url("/new/"), temp}


async def test_gone_feed_is_never_asked_again(app: Carefeed, feed_server: FeedServer):
    url = feed_server.add("/feed/", fixture_bytes("wordpress.xml"))
    subscribe(app, url)
    await poll(app)
    feed_server.error("/feed/", 410)
    assert (await poll(app))[url].status is PollStatus.GONE
    for _ in range(3):
        assert await poll(app) == {}
    assert feed_server.hits("/feed/") == 2
    assert app.count_entries() == 3
    assert app.feeds()[0].gone


async def test_retry_after_defers_the_feed(app: Carefeed, feed_server: FeedServer):
    url = feed_server.error("/busy/", 429, headers={"Retry-After": "7200"})
    subscribe(app, url)
    events = await poll(app)
    assert events[url].status is PollStatus.ERROR
    feed = app.feeds()[0]
    assert feed.next_due is not None
    assert (feed.next_due - utc_now()).total_seconds() > 7000
    assert await poll(app) == {}  # deferred: no request
    assert await poll(app, due_only=True) == {}
    assert feed_server.hits("/busy/") == 1
    assert url in await poll(app, force=True)


async def test_hostile_feed_text_is_stored_literally_and_inert(
    app: Carefeed, feed_server: FeedServer
):
    url = feed_server.add("/evil/", fixture_bytes("hostile.xml"))
    subscribe(app, url)
    await poll(app)
    [post] = app.entries()
    assert post.title == "[@click=app.quit]x[/]"
    assert post.link is None  # javascript: never becomes a link
    assert post.categories == ("[/] Budget",)
    for text in (post.title, post.summary, post.content, post.author or "", post.feed_title):
        assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text)
    assert "alert" not in post.summary


async def test_a_second_poll_at_once_is_refused(
    app: Carefeed, feed_server: FeedServer, tmp_path: Path
):
    url = feed_server.add("/feed/", fixture_bytes("wordpress.xml"), delay=1.0)
    subscribe(app, url)
    other = Carefeed.open(tmp_path / "home")
    try:
        first = asyncio.create_task(poll(app))
        await asyncio.sleep(0.3)
        with pytest.raises(PollRunningError, match="already running"):
            await poll(other)
        await first
        assert await poll(other, force=True)  # free again afterwards
    finally:
        other.close()


# --------------------------------------------------------------------------- parser processes
# The functions below run in the parser processes (imported there by name, like parse_feed):
# ``url`` carries what each needs to know, since the arguments are a document's.


def _die_once(body: bytes, url: str, content_type: str | None, max_entries: int) -> str:
    """Kills its process the first time (``url`` is a marker file), answers the second."""
    marker = Path(url)
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return f"parsed {len(body)}"


def _sleep_then_answer(body: bytes, url: str, content_type: str | None, max_entries: int) -> str:
    time.sleep(float(url))
    return body.decode()


def _refuse(body: bytes, url: str, content_type: str | None, max_entries: int) -> str:
    raise CarefeedError(f"refused: {body.decode()}")


def _allocate(body: bytes, url: str, content_type: str | None, max_entries: int) -> int:
    """Asks for ``url`` GiB: past the process's address-space cap, a MemoryError."""
    return len(bytearray(int(url) << 30))


def _pool(workers: int = 2, parse_timeout: float = 5.0) -> ParserPool:
    limits = replace(Limits(), parse_workers=workers, parse_timeout=parse_timeout)
    return ParserPool(Settings(limits=limits))


async def test_a_parser_process_that_dies_is_replaced_and_the_document_retried(tmp_path: Path):
    pool = _pool()
    try:
        marker = str(tmp_path / "marker")
        assert await pool._parse(_die_once, b"<rss/>", marker, None) == "parsed 6"
        assert Path(marker).read_text() == "died"
    finally:
        pool.close()


async def test_an_overrun_kills_only_its_own_process():
    pool = _pool(parse_timeout=1.0)
    try:
        slow = pool._parse(_sleep_then_answer, b"slow", "30", None)
        fast = pool._parse(_sleep_then_answer, b"fast", "0.3", None)
        started = time.monotonic()
        results = await asyncio.gather(slow, fast, return_exceptions=True)
        assert time.monotonic() - started < 5
        assert isinstance(results[0], CarefeedError)
        assert "took too long to parse (over 1 s)" in str(results[0])
        assert results[1] == "fast"  # parsed beside the overrun, not killed with it
        assert await pool._parse(_sleep_then_answer, b"again", "0", None) == "again"
    finally:
        pool.close()


async def test_a_cancelled_parse_leaves_no_stale_answer_for_the_next_document():
    pool = _pool(workers=1)
    try:
        first = asyncio.create_task(pool._parse(_sleep_then_answer, b"first", "0.5", None))
        await asyncio.sleep(0.2)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await pool._parse(_sleep_then_answer, b"second", "0.6", None) == "second"
    finally:
        pool.close()


async def test_a_parser_error_comes_back_as_itself_and_the_process_stays():
    pool = _pool(workers=1)
    try:
        with pytest.raises(CarefeedError, match="refused: bad"):
            await pool._parse(_refuse, b"bad", "", None)
        [worker] = pool._idle
        assert await pool._parse(_sleep_then_answer, b"ok", "0", None) == "ok"
        assert pool._idle == [worker]
    finally:
        pool.close()


async def test_closing_the_pool_ends_its_processes():
    pool = _pool()
    await asyncio.gather(*(pool._parse(_sleep_then_answer, b"x", "0.1", None) for _ in range(2)))
    processes = [w.process for w in pool._idle]
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    pool.close()
    assert not any(p.is_alive() for p in processes)


async def test_the_memory_cap_holds_in_a_parser_process_and_it_survives():
    pool = _pool(workers=1)  # parse_memory: 1 GiB of address space
    try:
        with pytest.raises(CarefeedError, match="too large to parse within the memory limit"):
            await pool._parse(_allocate, b"", "2", None)
        [worker] = pool._idle
        assert await pool._parse(_sleep_then_answer, b"ok", "0", None) == "ok"
        assert pool._idle == [worker]
    finally:
        pool.close()
