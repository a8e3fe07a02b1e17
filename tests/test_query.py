"""The filter language: parsing (every operator, precedence, quoting, malformed input with
message and position), resolving (topics, dates), the SQL it becomes against a real SQLite
cache (which posts come back), and ``carefeed entries --query`` as a script runs it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.decide import plan_entries
from carefeed.errors import QueryError, TopicError
from carefeed.model import (
    AllOf,
    AnyOf,
    CommentData,
    CommentTarget,
    EntryData,
    EntryFilter,
    FeedIntent,
    Not,
    QueryNode,
    Subscription,
    Term,
    Text,
    TopicMatch,
)
from carefeed.query import format_query, parse_query, resolve_query
from carefeed.store import Store
from homes import cli_json, make_home, run_cli

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def w(value: str) -> Text:
    return Text(value)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("", AllOf(())),
        ("   ", AllOf(())),
        ("budget", w("budget")),
        ("budget cuts", AllOf((w("budget"), w("cuts")))),
        ("budget AND cuts", AllOf((w("budget"), w("cuts")))),
        ('"care act"', Text("care act", phrase=True)),
        ("\u201ccare  act\u201d", Text("care act", phrase=True)),  # curly quotes, spaces folded
        ("topic:funding", Term("topic", "funding")),
        ("TOPIC:Funding", Term("topic", "Funding")),  # field names are case-insensitive
        ('tag:"Mental health"', Term("tag", "Mental health")),
        ('feed:"Community Care"', Term("feed", "Community Care")),
        ("author:Deepa", Term("author", "Deepa")),
        ("unread", Term("is", "unread")),
        ("Starred", Term("is", "starred")),
        ("is:read", Term("is", "read")),
        ("has:comments", Term("has", "comments")),
        ("since:7d", Term("since", "7d")),
        ("since:24H", Term("since", "24h")),
        ("since:2w before:3m", AllOf((Term("since", "2w"), Term("before", "3m")))),
        ("since:today", Term("since", "today")),
        ("before:2025-01-01", Term("before", "2025-01-01")),
        ("since:2025-01-01T10:30:00Z", Term("since", "2025-01-01T10:30:00Z")),
        ("-budget", Not(w("budget"))),
        ("--budget", Not(Not(w("budget")))),
        ("-tag:News", Not(Term("tag", "News"))),
        ('-"care act"', Not(Text("care act", phrase=True))),
        ("care-home", w("care-home")),  # a hyphen inside a word is part of it
        ("a or b", AnyOf((w("a"), w("b")))),
        ("a OR b Or c", AnyOf((w("a"), w("b"), w("c")))),
        # precedence: NOT > AND > OR
        ("a b or c", AnyOf((AllOf((w("a"), w("b"))), w("c")))),
        ("a or b c", AnyOf((w("a"), AllOf((w("b"), w("c")))))),
        ("-a b or c", AnyOf((AllOf((Not(w("a")), w("b"))), w("c")))),
        ("a (b or c)", AllOf((w("a"), AnyOf((w("b"), w("c")))))),
        ("-(a or b) c", AllOf((Not(AnyOf((w("a"), w("b")))), w("c")))),
        ("((a))", w("a")),
        (
            "topic:fund (budget or tag:Finance) -unread",
            AllOf(
                (
                    Term("topic", "fund"),
                    AnyOf((w("budget"), Term("tag", "Finance"))),
                    Not(Term("is", "unread")),
                )
            ),
        ),
        ("NEAR", w("NEAR")),  # FTS5 keywords are plain words here
        ("care*", w("care*")),
        ("a^b", w("a^b")),
        ('"NEAR(a b)"', Text("NEAR(a b)", phrase=True)),
        ("https://example.org/feed", w("https://example.org/feed")),  # a URL is not a field
        ('"or"', Text("or", phrase=True)),  # quoted, a keyword is a word
    ],
)
def test_parse(text: str, tree: QueryNode) -> None:
    assert parse_query(text) == tree
    assert parse_query(format_query(tree)) == tree  # the canonical text reads back the same


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (AnyOf((AllOf((w("a"), w("b"))), w("c"))), "a b or c"),
        (AllOf((w("a"), AnyOf((w("b"), w("c"))))), "a (b or c)"),
        (Not(AllOf((w("a"), w("b")))), "-(a b)"),
        (AnyOf((w("a"), AnyOf((w("b"), w("c"))))), "a or (b or c)"),
        (Term("tag", "Mental health"), 'tag:"Mental health"'),
        (Term("feed", "or"), 'feed:"or"'),
        (Term("is", "unread"), "unread"),
        (Text("unread"), '"unread"'),
        (AllOf(()), ""),
    ],
)
def test_format(tree: QueryNode, text: str) -> None:
    assert format_query(tree) == text
    assert parse_query(text) == tree or format_query(parse_query(text)) == text


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ('budget "care act', "unclosed quote", 7),
        ('tag:"Mental health', "unclosed quote", 4),
        ("(a or b", "unclosed '('", 0),
        ("a (b", "unclosed '('", 2),
        ("a (", "unclosed '('", 2),
        ("a or b)", "unmatched ')'", 6),
        (")", "unmatched ')'", 0),
        ("()", "empty parentheses", 0),
        ("tag:", "tag: needs a value", 4),
        ('feed:"" a', "feed: needs a value", 5),
        ("topic: funding", "topic: needs a value", 6),
        ("foo:bar", "unknown field 'foo:'; known: topic:, tag:, feed:, author:", 0),
        ("budget Tags:x", "unknown field 'Tags:'", 7),
        ("a or", "'or' needs a term after it", 2),
        ("or a", "'or' needs a term before it", 0),
        ("a or or b", "'or' needs a term after it", 2),
        ("a or )", "'or' needs a term after it", 2),
        ("a and", "'and' needs a term after it", 2),
        ("-", "'-' must be followed by a term", 0),
        ("a - b", "'-' must be followed by a term", 2),
        ("a -", "'-' must be followed by a term", 2),
        ("-or a", "'-' must be followed by a term", 0),
        ("(-)", "'-' must be followed by a term", 1),
        ("*", "nothing to search for in '*'", 0),
        ("care ^", "nothing to search for in '^'", 5),
        ('""', "nothing to search for inside these quotes", 0),
        ('a "*"', "nothing to search for inside these quotes", 2),
        ('"', "unclosed quote", 0),
        ("care\x07home", "control character U+0007", 4),
        ("a\x1b[31m", "control character U+001B", 1),
        ("since:soon", "since: takes a date such as 2025-01-01", 6),
        ("before:2025-13-01", "before: takes a date", 7),
        ("has:photos", "has: takes comments", 4),
        ("is:new", "is: takes unread, read, starred", 3),
    ],
)
def test_malformed(text: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert message in str(caught.value)
    assert caught.value.position == position
    assert "\n" not in str(caught.value)


def test_whitespace_controls_are_spaces() -> None:
    assert parse_query("a\tb\nc") == AllOf((w("a"), w("b"), w("c")))


# --------------------------------------------------------------------------- resolving


def fake_topics(text: str) -> str:
    names = ["Funding and finance", "Mental health", "Mental capacity", "Older people"]
    found = [n for n in names if n.lower().startswith(text.lower())]
    if len(found) != 1:
        raise TopicError(f"{len(found)} topics match {text!r}")
    return found[0]


def test_resolve_topics_and_dates() -> None:
    text = "topic:fund (since:7d or since:24h) before:3m -since:today since:2025-01-01"
    tree = resolve_query(parse_query(text), resolve_topic=fake_topics, now=NOW)
    assert tree == AllOf(
        (
            Term("topic", "Funding and finance"),
            AnyOf((Term("since", "2026-03-05T09:30:00Z"), Term("since", "2026-03-11T09:30:00Z"))),
            Term("before", "2025-12-12T09:30:00Z"),
            Not(Term("since", "2026-03-12")),
            Term("since", "2025-01-01"),
        )
    )
    assert parse_query(format_query(tree)) == tree
    month_end = datetime(2026, 3, 31, tzinfo=UTC)  # 1m before 31 March: 28 February
    assert resolve_query(
        parse_query("since:1m since:1y since:yesterday"), resolve_topic=fake_topics, now=month_end
    ) == AllOf(
        (Term("since", "2026-02-28"), Term("since", "2025-03-31"), Term("since", "2026-03-30"))
    )


def test_unknown_or_ambiguous_topic_points_at_the_term() -> None:
    text = "budget -topic:zz"
    with pytest.raises(QueryError) as caught:
        resolve_query(parse_query(text), resolve_topic=fake_topics, now=NOW, text=text)
    assert str(caught.value) == "topic:zz: 0 topics match 'zz'"
    assert caught.value.position == 8
    with pytest.raises(QueryError, match="2 topics match 'mental'"):
        resolve_query(parse_query("topic:mental"), resolve_topic=fake_topics, now=NOW)


# --------------------------------------------------------------------------- SQL


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Store]:
    """Three feeds; a post carried by two of them; topics set as the poller would."""
    store = Store.open(tmp_path / "cache.db")
    a, _ = store.add_feed(
        Subscription(url="https://cc.example/feed/", title="Community Care", tags=("Sector",)),
        NOW,
    )
    b, _ = store.add_feed(
        Subscription(
            url="https://pm.example/feed/", title="Practice Matters", tags=("Practice blogs",)
        ),
        NOW,
    )
    c, _ = store.add_feed(Subscription(url="https://kv.example/rss", title="Kinship Voices"), NOW)
    Row = tuple[str, int, tuple[str, ...], str | None, int | None]  # title, hours ago, …
    posts: dict[int, list[Row]] = {
        a: [
            ("Council budget cuts", 1, ("Budget",), "Deepa Shah", 3),
            ("Mental health crisis beds", 30, ("Mental health",), "Ann Lee", None),
            ("GOV.UK: the new Care Act guidance", 60, ("Policy",), None, 0),
        ],
        b: [
            ("Supervision that helps", 5, ("Practice",), "Deepa Shah", None),
            ("Social care funding explained", 24 * 10, ("Social care funding",), "Bo", 1),
            ("GOV.UK: the new Care Act guidance", 61, ("Policy",), None, 0),  # a copy
        ],
        c: [
            ("Kinship allowances and funding", 24 * 400, ("Finance & funding",), "K", 0),
            ("Wellbeing for kinship carers", 2, ("Wellbeing and mental health",), None, 0),
        ],
    }
    topics = {
        "Council budget cuts": ("Funding and finance",),
        "Social care funding explained": ("Funding and finance",),
        "Kinship allowances and funding": ("Funding and finance",),
        "Mental health crisis beds": ("Mental health",),
        "Wellbeing for kinship carers": ("Mental health", "Carers"),
    }
    for feed_id, items in posts.items():
        data = [
            EntryData(
                guid=f"{feed_id}-{i}",
                title=title,
                link=(
                    "https://www.gov.uk/care-act-guidance"
                    if title.startswith("GOV.UK")
                    else f"https://example.org/{feed_id}/{i}"
                ),
                author=author,
                published=NOW - timedelta(hours=hours),
                summary=f"About {title.lower()}.",
                content=f"The text of {title}. Everyone near the sea reads it.",
                categories=cats,
                comment_count=comments,
            )
            for i, (title, hours, cats, author, comments) in enumerate(items)
        ]
        intents = [
            replace(i, topics=tuple(TopicMatch(t) for t in topics.get(i.data.title, ())))
            for i in plan_entries({}, data)
        ]
        store.apply_update(
            FeedIntent(feed_id=feed_id, fetched_at=NOW, next_due=None, ok=True), intents
        )
    yield store
    store.close()


def titles(store: Store, query: str = "", **fields: object) -> set[str]:
    node = resolve_query(parse_query(query), resolve_topic=lambda t: t, now=NOW)
    flt = EntryFilter(query=node, **fields)  # type: ignore[arg-type]
    found = store.entries(flt, limit=None)
    assert store.count_entries(flt) == len(found)
    return {e.title for e in found}


ALL = {
    "Council budget cuts",
    "Mental health crisis beds",
    "GOV.UK: the new Care Act guidance",
    "Supervision that helps",
    "Social care funding explained",
    "Kinship allowances and funding",
    "Wellbeing for kinship carers",
}
FUNDING = {"Council budget cuts", "Social care funding explained", "Kinship allowances and funding"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("funding", {"Social care funding explained", "Kinship allowances and funding"}),
        ("fund", {"Social care funding explained", "Kinship allowances and funding"}),  # prefix
        ("kinship funding", {"Kinship allowances and funding"}),
        ("kinship and funding", {"Kinship allowances and funding"}),
        (
            "kinship or budget",
            {
                "Kinship allowances and funding",
                "Wellbeing for kinship carers",
                "Council budget cuts",
            },
        ),
        ('"care act"', {"GOV.UK: the new Care Act guidance"}),
        ('"act care"', set()),
        ("kinship -funding", {"Wellbeing for kinship carers"}),
        (
            "-kinship -funding -budget -care",
            {"Mental health crisis beds", "Supervision that helps"},
        ),
        ("topic:Funding and finance", set()),  # two words: a topic and a free word
        ('topic:"Funding and finance"', FUNDING),
        ('topic:"Mental health" topic:Carers', {"Wellbeing for kinship carers"}),
        (
            '-topic:"Funding and finance" -topic:"Mental health"',
            {"GOV.UK: the new Care Act guidance", "Supervision that helps"},
        ),
        ('tag:"mental HEALTH"', {"Mental health crisis beds"}),  # a category, any case
        ("tag:practice", {"Supervision that helps"}),
        (
            'tag:"practice blogs"',
            {
                "Supervision that helps",
                "Social care funding explained",
                "GOV.UK: the new Care Act guidance",
            },
        ),
        (
            'feed:"community care"',
            {
                "Council budget cuts",
                "Mental health crisis beds",
                "GOV.UK: the new Care Act guidance",
            },
        ),
        (
            "feed:practice",
            {
                "Supervision that helps",
                "Social care funding explained",
                "GOV.UK: the new Care Act guidance",
            },
        ),
        ("feed:kv.example", {"Kinship allowances and funding", "Wellbeing for kinship carers"}),
        (
            "feed:https://kv.example/rss",
            {"Kinship allowances and funding", "Wellbeing for kinship carers"},
        ),
        ("feed:nothing", set()),
        ("feed:%", set()),  # LIKE wildcards are literal
        ("author:deepa", {"Council budget cuts", "Supervision that helps"}),
        (
            "-author:deepa -feed:kinship",
            {
                "Mental health crisis beds",
                "GOV.UK: the new Care Act guidance",
                "Social care funding explained",
            },
        ),
        ("has:comments", {"Council budget cuts", "Social care funding explained"}),
        (
            "since:24h",
            {"Council budget cuts", "Supervision that helps", "Wellbeing for kinship carers"},
        ),
        ("since:2d -since:3h", {"Mental health crisis beds", "Supervision that helps"}),
        ("before:2026-01-01", {"Kinship allowances and funding"}),
        (
            "since:2025-01-01 before:2026-03-05",
            {"Kinship allowances and funding", "Social care funding explained"},
        ),
        ("since:2026-03-01 funding", {"Social care funding explained"}),
        # precedence and parentheses
        (
            "feed:kinship or feed:community mental",
            {
                "Kinship allowances and funding",
                "Wellbeing for kinship carers",
                "Mental health crisis beds",
            },
        ),
        (
            "(feed:kinship or feed:community) mental",
            {"Mental health crisis beds", "Wellbeing for kinship carers"},
        ),
        (
            "-(feed:kinship or feed:community)",
            {"Supervision that helps", "Social care funding explained"},
        ),
        ("(kinship or budget) -(funding or carers)", {"Council budget cuts"}),
        (
            "(mental or budget) (has:comments or feed:kinship)",
            {"Council budget cuts", "Wellbeing for kinship carers"},
        ),
        ("kinship (-funding)", {"Wellbeing for kinship carers"}),
        # FTS5 syntax typed by the user is only ever words
        ("NEAR", ALL),  # the word "near", in every post
        ("sea*", ALL),
        ('"NEAR(the sea)"', ALL),  # the phrase "near the sea"
        ('"NEAR(sea the)"', set()),
        ("care^2", set()),  # "care" and a word starting "2": ^ is not a column filter
        ("act:", set()),  # unknown field
        ("gov.uk", {"GOV.UK: the new Care Act guidance"}),
        ("budget-cuts", {"Council budget cuts"}),
    ],
)
def test_query_sql(cache: Store, query: str, expected: set[str]) -> None:
    if query == "act:":
        with pytest.raises(QueryError, match="unknown field"):
            titles(cache, query)
        return
    assert titles(cache, query) == expected


def test_plans_agree(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The top-level search (and topic) is walked or driven depending on a bounded count
    of its matches; both plans must list the same posts."""
    queries = [
        "funding",
        "kinship or budget",
        "tag:practice care",
        "feed:kinship funding",
        'topic:"Funding and finance" -kinship',  # topics drive or are probed the same way
        'topic:"Mental health" (topic:Carers or budget)',
    ]
    walked = {q: titles(cache, q) for q in queries}
    monkeypatch.setattr(Store, "FTS_COMMON", 1)  # every search "common": walk
    cache._fts_estimates = (-1, {})
    assert {q: titles(cache, q) for q in queries} == walked
    assert titles(cache, "", topics=("Mental health",)) == {
        "Mental health crisis beds",
        "Wellbeing for kinship carers",
    }
    monkeypatch.setattr(Store, "FTS_COMMON", 10**9)  # every search "rare": driven
    cache._fts_estimates = (-1, {})
    assert {q: titles(cache, q) for q in queries} == walked


def test_plan_choice(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def fts_clauses(flt: EntryFilter) -> list[str]:
        return [c for c in cache._where(flt)[0] if "entries_fts" in c or "json_each" in c]

    # a search alone walks the date index whatever it matches (index-only: cheap)
    assert fts_clauses(EntryFilter(search="kinship")) == [
        "+e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)"
    ]
    # with a test that reads rows, a rare search drives (by the ids the bounded read of
    # its matches found) and a common one walks
    rare = EntryFilter(query=parse_query("tag:practice kinship"))
    clauses, params = cache._where(rare)
    assert [c for c in clauses if "json_each" in c] == ["e.id IN (SELECT value FROM json_each(?))"]
    kinship = cache.entries(EntryFilter(search="kinship"), limit=None)
    assert sorted(json.loads(params[-1])) == sorted(e.id for e in kinship)
    monkeypatch.setattr(Store, "FTS_COMMON", 2)
    cache._fts_estimates = (-1, {})
    assert fts_clauses(rare)[0].startswith("+e.id IN")
    # a topic at the top: rare drives through its index, common is probed as walked
    topic = EntryFilter(query=parse_query('topic:"Mental health"'))
    assert "EXISTS (SELECT 1 FROM entry_topics" in " ".join(cache._where(topic)[0])
    monkeypatch.setattr(Store, "FTS_COMMON", 2000)
    assert "e.id IN (SELECT entry_id FROM entry_topics" in " ".join(cache._where(topic)[0])
    # ANDed words at the top are one MATCH; words under or/not each their own
    flt = EntryFilter(search="a", query=parse_query("b -c (d or e) (f or tag:x)"))
    cache._fts_estimates = (-1, {})
    _, params = cache._where(flt)
    assert [p for p in params if isinstance(p, str) and '"' in p] == ['("f"*)']
    assert list(cache._fts_estimates[1]) == [
        '((("a"*) AND ("b"*) AND (("d"*) OR ("e"*))) NOT ("c"*))'
    ]


def test_query_combines_with_the_other_fields_and_mutes(cache: Store) -> None:
    first = cache.entries(EntryFilter(search="budget"), limit=1)[0]
    cache.set_flags([first.id], read=True, starred=True)
    assert titles(cache, "funding or budget", unread=True) == {
        "Social care funding explained",
        "Kinship allowances and funding",
    }
    assert titles(cache, "starred") == titles(cache, "", starred=True) == {first.title}
    assert titles(cache, "-unread") == titles(cache, "is:read") == {first.title}
    assert titles(cache, "kinship", search="funding") == {"Kinship allowances and funding"}
    assert titles(cache, "", topics=("Funding and finance",), tags=("Budget",)) == {first.title}
    mute = (parse_query("feed:kinship"), parse_query('tag:"practice blogs" -supervision'))
    assert titles(cache, "", mute=mute) == {
        "Council budget cuts",
        "Mental health crisis beds",
        "Supervision that helps",
    }
    assert titles(cache, "funding", mute=mute) == set()
    assert titles(cache, "", feed="practice") == {
        "Supervision that helps",
        "Social care funding explained",
        "GOV.UK: the new Care Act guidance",  # listed once, under both feeds
    }


def test_stored_comments_count_for_has_comments(cache: Store) -> None:
    post = cache.entries(EntryFilter(search="supervision"), limit=1)[0]
    assert post.title not in titles(cache, "has:comments")
    cache.write_comments(
        CommentTarget(entry_id=post.id, url="https://pm.example/comments/"),
        NOW,
        comments=[CommentData(guid="c1", text="Thank you")],
    )
    assert post.title in titles(cache, "has:comments")


def test_paging_a_query(cache: Store) -> None:
    flt = EntryFilter(query=parse_query("-feed:kinship"))
    every = cache.entries(flt, limit=None)
    first = cache.entries(flt, limit=2)
    rest = cache.entries(flt, limit=None, before=first[-1].page_key)
    assert [e.id for e in first + rest] == [e.id for e in every]
    assert cache.page_key_at(flt, 2) == every[2].page_key


def test_unresolved_dates_and_odd_terms_are_query_errors(cache: Store) -> None:
    with pytest.raises(QueryError, match="since:7d is not a date"):
        cache.entries(EntryFilter(query=Term("since", "7d")))
    with pytest.raises(QueryError, match="cannot be used"):
        cache.entries(EntryFilter(query=Term("colour", "red")))


def test_no_fts_syntax_error_for_any_word(cache: Store) -> None:
    """Whatever the words, FTS5 sees only quoted tokens (no sqlite3 error leaks)."""
    hostile = ['"', "*", "^", "NEAR(", "a:b", "col:x", "(", ")", "{x}", "AND", "NOT", "+", "'"]
    for word in hostile:
        try:
            node = parse_query(f"care {word}")
        except QueryError:
            continue
        try:
            cache.entries(EntryFilter(query=node))
        except sqlite3.Error as exc:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{word!r}: {exc}")
    assert titles(cache, "", search='care " NEAR * ^') == titles(cache, "care near")
    assert len(titles(cache, "care near")) == 3


# --------------------------------------------------------------------------- API and CLI


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private home whose cache holds three differently filed blogs (no network)."""
    path = make_home(tmp_path / "home")
    with Carefeed.open(path) as app:
        feeds = {
            "Community Care": [
                ("Council budget cuts", ("Budget",), 1),
                ("Crisis beds for mental health", ("Mental health",), 30),
            ],
            "Practice Matters": [
                ("Social care funding explained", ("Social care funding",), 24 * 10),
                ("Supervision that helps", ("Social work practice",), 5),
            ],
            "Kinship Voices": [
                ("Allowances compared", ("Finance & funding",), 24 * 400),
            ],
        }
        now = datetime.now(UTC)
        for n, (title, posts) in enumerate(feeds.items()):
            feed_id, _ = app.store.add_feed(
                Subscription(url=f"https://blog{n}.example/feed/", title=title), now
            )
            data = [
                EntryData(
                    guid=f"{n}-{i}",
                    title=t,
                    link=f"https://blog{n}.example/{i}",
                    published=now - timedelta(hours=hours),
                    content=f"{t}. A post.",
                    categories=cats,
                )
                for i, (t, cats, hours) in enumerate(posts)
            ]
            app.store.apply_update(
                FeedIntent(feed_id=feed_id, fetched_at=now, next_due=None, ok=True),
                plan_entries({}, data, app.taxonomy.classify),
            )
    return path


def test_filter_from_query_resolves_topics_and_dates(home: Path) -> None:
    with Carefeed.open(home) as app:
        flt = app.filter_from_query("topic:fund since:7d", EntryFilter(unread=True))
        assert flt.unread and isinstance(flt.query, AllOf)
        topic, since = flt.query.parts
        assert topic == Term("topic", "Funding and finance")
        assert isinstance(since, Term) and since.value.startswith("20")
        narrower = app.filter_from_query("budget", flt)
        assert narrower.query == AllOf((flt.query, Text("budget")))
        with pytest.raises(QueryError) as caught:
            app.filter_from_query("budget topic:zzz")
        assert caught.value.position == 7 and "topic:zzz" in str(caught.value)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_today_is_the_users_midnight(
    home: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """The CLI and the reader agree: ``since:today`` starts at local midnight."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        with Carefeed.open(home) as app:
            (term,) = [app.filter_from_query("since:today").query]
        local = datetime.now().astimezone()
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        assert isinstance(term, Term) and term.field == "since"
        assert datetime.fromisoformat(term.value.replace("Z", "+00:00")) == midnight
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_entries_query(home: Path) -> None:
    def listed(*args: str) -> set[str]:
        return {e["title"] for e in cli_json(home, "entries", *args)}

    assert listed("--query", "topic:fund") == {
        "Council budget cuts",
        "Social care funding explained",
        "Allowances compared",
    }
    assert listed("--query", "topic:fund since:7d") == {"Council budget cuts"}
    assert listed("--query", "topic:fund -feed:community", "--search", "explained") == {
        "Social care funding explained"
    }
    assert listed("--query", "(supervision or crisis) -tag:budget", "--feed", "practice") == {
        "Supervision that helps"
    }
    assert listed("--query", '"care funding" or allowances') == {
        "Social care funding explained",
        "Allowances compared",
    }
    text = run_cli(home, "entries", "--query", "topic:fund before:2026-01-01").stdout.decode()
    assert "Allowances compared" in text and "Council budget" not in text


@pytest.mark.parametrize(
    ("query", "message", "caret"),
    [
        ("topic:fund (budget or", "'or' needs a term after it", 19),
        ("tag:News foo:bar", "unknown field 'foo:'", 9),
        ('budget "care', "unclosed quote", 7),
        ("budget topic:zzz", "topic:zzz: no topic matches", 7),
    ],
)
def test_entries_query_errors(home: Path, query: str, message: str, caret: int) -> None:
    result = run_cli(home, "entries", "--query", query, check=False)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith(f"carefeed: query: {message}")
    assert lines[1] == f"  {query}"
    assert lines[2] == "  " + " " * caret + "^"
    assert "Traceback" not in result.stderr.decode() and not result.stdout
