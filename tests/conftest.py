"""Fixtures shared by carefeed's tests: a real loopback feed server and small limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carefeed.settings import Limits
from feedserver import MIB, FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh server per test (starting one costs a millisecond); a route that crashed
    fails the test, so a broken fixture cannot pass for a client bug or hide one."""
    with FeedServer() as server:
        yield server
    if server.errors:
        pytest.fail("the feed server's own route failed:\n" + server.errors[0], pytrace=False)


@pytest.fixture
def limits() -> Limits:
    """Limits small enough that a hostile route fails a test in seconds, not minutes."""
    return Limits(
        body_cap=1 * MIB,
        deadline=3.0,
        connect_timeout=2.0,
        read_timeout=2.0,
        max_redirects=5,
        concurrency=16,
        per_host=2,
    )
