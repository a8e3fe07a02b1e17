"""Schema v4 on a real SQLite file: topics per post, re-tagging, cross-posts listed once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carefeed.decide import plan_entries
from carefeed.model import EntryData, EntryFilter, FeedData, FeedIntent, Subscription, TopicMatch
from carefeed.store import TAXONOMY_KEY, Store

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "cache.db")
    yield s
    s.close()


def subscribe(store: Store, url: str, title: str) -> int:
    feed_id, _ = store.add_feed(Subscription(url=url, title=title), NOW)
    return feed_id


def write(store: Store, feed_id: int, posts: list[EntryData], topics=None) -> None:
    intents = plan_entries(store.entry_states(feed_id), posts)
    if topics is not None:
        intents = [
            replace(i, topics=topics(i.data.categories, i.data.title, i.data.summary))
            for i in intents
        ]
    store.apply_update(
        FeedIntent(feed_id=feed_id, fetched_at=NOW, next_due=None, ok=True, feed_data=FeedData()),
        intents,
        [p.guid for p in posts],
    )


def post(guid: str, link: str | None, title: str, hours: int = 0, **kw) -> EntryData:
    return EntryData(
        guid=guid, link=link, title=title, published=NOW - timedelta(hours=hours), **kw
    )


def by_keyword(categories: Sequence[str], title: str, summary: str) -> tuple[TopicMatch, ...]:
    """A stand-in taxonomy: enough to tell whether the store kept what it was given."""
    found = []
    text = " ".join([*categories, title, summary]).lower()
    if "fund" in text or "budget" in text:
        found.append(TopicMatch("Funding and finance", inferred=not categories))
    if "mental" in text:
        found.append(TopicMatch("Mental health", inferred=not categories))
    return tuple(found)


def test_topics_are_stored_in_order_with_the_inferred_mark(store: Store):
    feed = subscribe(store, "http://blog.test/feed/", "Practice blog")
    write(
        store,
        feed,
        [post("a", "http://blog.test/a", "Mental health budget squeeze")],
        topics=lambda c, t, s: (
            TopicMatch("Mental health"),
            TopicMatch("Funding and finance", True),
        ),
    )
    (entry,) = store.entries()
    assert entry.topics == (
        TopicMatch("Mental health", False),
        TopicMatch("Funding and finance", True),
    )
    assert [(c.name, c.total, c.unread) for c in store.topic_counts()] == [
        ("Funding and finance", 1, 1),
        ("Mental health", 1, 1),
    ]


def test_an_updated_post_gets_its_new_topics_only(store: Store):
    feed = subscribe(store, "http://blog.test/feed/", "Practice blog")
    write(store, feed, [post("a", None, "Council budget", categories=("Budget",))], by_keyword)
    write(store, feed, [post("a", None, "Crisis teams", categories=("Mental health",))], by_keyword)
    (entry,) = store.entries()
    assert [t.name for t in entry.topics] == ["Mental health"]


def test_retag_rewrites_every_post_and_records_the_fingerprint(store: Store):
    feed = subscribe(store, "http://blog.test/feed/", "Practice blog")
    write(
        store,
        feed,
        [post(f"p{i}", None, f"Funding round {i}", i, categories=("Budget",)) for i in range(7)]
        + [post("m", None, "Mental health first aid", 9)],
    )
    assert all(e.topics == () for e in store.entries(limit=None))
    assert store.meta(TAXONOMY_KEY) is None
    seen: list[tuple[int, int]] = []
    assert store.retag(by_keyword, "v1", batch=3, progress=lambda d, t: seen.append((d, t))) == 8
    assert store.meta(TAXONOMY_KEY) == "v1"
    assert seen[-1] == (8, 8) and len(seen) == 3
    topics = {e.guid: [t.name for t in e.topics] for e in store.entries(limit=None)}
    assert topics["m"] == ["Mental health"]
    assert topics["p3"] == ["Funding and finance"]
    # A second taxonomy replaces, never adds to, the first one's topics.
    store.retag(lambda c, t, s: (TopicMatch("Carers"),), "v2")
    assert {t.name for e in store.entries(limit=None) for t in e.topics} == {"Carers"}


def test_a_cross_post_is_listed_once_and_names_every_feed(store: Store):
    gov = subscribe(store, "http://gov.test/feed/", "Social care blog")
    news = subscribe(store, "http://news.test/feed/", "Sector news")
    write(store, gov, [post("gov-1", "http://gov.test/2026/05/reform", "Reform plan")])
    write(
        store,
        news,
        [
            post("n-9", "http://gov.test/2026/05/reform", "Reform plan"),
            post("n-10", "http://news.test/own", "Our own story", 1),
        ],
    )
    listed = store.entries()
    assert [e.title for e in listed] == ["Reform plan", "Our own story"]
    assert listed[0].feed_title == "Social care blog"
    assert listed[0].also_in == ("Sector news",)
    assert store.count_entries() == 2
    # Either feed's listing shows it; reading it once reads it everywhere.
    assert [e.title for e in store.entries(EntryFilter(feed=str(news)))] == [
        "Reform plan",
        "Our own story",
    ]
    store.set_flags([listed[0].id], read=True)
    copies = [e for e in store.entries(EntryFilter(feed=str(news)), limit=None)]
    assert copies[0].read
    assert {f.title: f.unread_count for f in store.feeds()} == {
        "Social care blog": 0,
        "Sector news": 1,
    }


def test_a_copy_arriving_after_the_original_was_read_is_read(store: Store):
    gov = subscribe(store, "http://gov.test/feed/", "Social care blog")
    news = subscribe(store, "http://news.test/feed/", "Sector news")
    write(store, gov, [post("gov-1", "http://gov.test/p", "Reform plan")])
    store.set_flags([store.entries()[0].id], read=True, starred=True)
    write(store, news, [post("n-1", "http://gov.test/p", "Reform plan")])
    assert {f.title: f.unread_count for f in store.feeds()}["Sector news"] == 0


def test_bare_guids_are_not_cross_posts(store: Store):
    a = subscribe(store, "http://a.test/feed/", "A")
    b = subscribe(store, "http://b.test/feed/", "B")
    write(store, a, [post("1234", None, "First")])
    write(store, b, [post("1234", None, "Second", 1)])
    assert store.count_entries() == 2


def test_removing_the_original_feed_keeps_the_copy_listed(store: Store):
    gov = subscribe(store, "http://gov.test/feed/", "Social care blog")
    news = subscribe(store, "http://news.test/feed/", "Sector news")
    other = subscribe(store, "http://other.test/feed/", "Third")
    for feed in (gov, news, other):
        write(store, feed, [post(f"g{feed}", "http://gov.test/p", "Reform plan")])
    store.remove_feed(gov)
    listed = store.entries()
    assert [e.feed_title for e in listed] == ["Sector news"]
    assert listed[0].also_in == ("Third",)
