"""The reader's test kit: a cache filled in a private home, a fixed clock, screen text.

Posts are written through the real store (the poller's own write path), so the reader
under test reads exactly what a poll would have left. The clock is fixed, so "3h" and
"12 Mar" are the same on every run and snapshots are stable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.decide import plan_entries
from carefeed.model import EntryData, FeedIntent, Subscription
from carefeed.tui.app import CarefeedApp
from screens import browser_script, screen_text, settle  # noqa: F401  (re-exported)

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


@dataclass
class Post:
    title: str
    minutes_ago: int
    categories: tuple[str, ...] = ()
    content: str = ""
    link: str | None = None
    author: str | None = "Deepa Shah"
    comments: int | None = None
    comments_url: str | None = None


@dataclass
class FeedSpec:
    title: str
    posts: Sequence[Post]
    tags: tuple[str, ...] = ()
    error: str | None = None
    url: str = ""
    guid_prefix: str = field(default="")


def seed(api: Carefeed, feeds: Sequence[FeedSpec], now: datetime = NOW) -> None:
    """Subscribe to ``feeds`` and store their posts as a poll at ``now`` would."""
    store = api.store
    for number, spec in enumerate(feeds, 1):
        url = spec.url or f"http://127.0.0.1:9/feed-{number}.xml"
        feed_id, _ = store.add_feed(Subscription(url=url, title=spec.title, tags=spec.tags), now)
        data = [
            EntryData(
                guid=f"{spec.guid_prefix or number}-{i}",
                title=post.title,
                link=post.link if post.link is not None else f"https://example.org/{number}/{i}",
                author=post.author,
                published=now - timedelta(minutes=post.minutes_ago),
                content=post.content or f"The text of “{post.title}”.",
                categories=post.categories,
                comment_count=post.comments,
                comments_url=post.comments_url,
            )
            for i, post in enumerate(spec.posts)
        ]
        intent = FeedIntent(
            feed_id=feed_id,
            fetched_at=now - timedelta(minutes=3),
            next_due=now + timedelta(hours=1),
            ok=spec.error is None,
            error=spec.error,
            error_count=1 if spec.error else 0,
        )
        store.apply_update(intent, plan_entries({}, data, api.taxonomy.classify))
    api.ensure_topics()  # as a poll leaves it: tagged by the taxonomy in force


LONG_BODY = "\n\n".join(
    [
        "Councils across the region have set out how they will spend the discharge fund "
        "this winter. Most of it goes on reablement and short-term care home beds.",
        "What changes for people leaving hospital:",
        "• assessments of long-term need happen at home, not on the ward\n"
        "• reablement starts within 48 hours\n"
        "• families get a named contact, in writing",
        "> Getting home quickly only helps if the support is there on the first night.",
        *[
            f"Paragraph {n}: providers told us that recruitment remains the hardest part, "
            "with vacancies highest in home care and in rural areas."
            for n in range(1, 9)
        ],
        "See the plan[1] and the consultation[2].",
        "[1]: https://example.org/plan\n[2]: https://example.org/consultation",
    ]
)

STANDARD = [
    FeedSpec(
        "Northfield Adult Care",
        [
            Post(
                "Hospital discharge: what changes this winter",
                30,
                ("Hospital discharge", "Reablement", "Funding"),
                content=LONG_BODY,
                comments=4,
                comments_url="https://example.org/1/0#comments",
            ),
            Post("Adult social care [Green Paper] response", 180, ("Policy", "Funding")),
            Post("Direct payments explained", 60 * 30, ("Direct payments",)),
            Post("Safeguarding week: five conversations", 60 * 24 * 9, ("Safeguarding",)),
        ],
        tags=("Adult social care",),
    ),
    FeedSpec(
        "Carers Voice",
        [
            Post("Carers' breaks survey results", 90, ("Carers", "Research"), comments=2),
            Post("Dementia and the carer's assessment", 60 * 50, ("Dementia", "Carers")),
            Post("Young carers at college", 60 * 24 * 20, ("Carers", "Transitions")),
        ],
        tags=("Carers",),
    ),
    FeedSpec(
        "Practice Matters",
        [
            Post("[@click=app.quit]x[/]", 120, ("[Archive]",), link="javascript:alert(1)"),
            Post("Budget [/bold] cuts", 240, ("Funding",), author="[/] Anon"),
            Post("Supervision that helps", 60 * 26, ("Practice", "Dementia")),
        ],
    ),
    FeedSpec(
        "Workforce Bulletin",
        [Post("Pay parity in care homes", 60 * 24 * 40, ("Workforce", "Funding"))],
        tags=("Workforce",),
        error="not a feed (HTML page)",
    ),
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def api(home: Path) -> Iterator[Carefeed]:
    cache = Carefeed.open(home)
    seed(cache, STANDARD)
    yield cache
    cache.close()


@pytest.fixture
def empty_api(home: Path) -> Iterator[Carefeed]:
    cache = Carefeed.open(home)
    yield cache
    cache.close()


@pytest.fixture
def app(api: Carefeed) -> CarefeedApp:
    return CarefeedApp(api, clock=fixed_clock, preview_delay=0)


# --------------------------------------------------------------------------- reading the screen


def list_rows(app: CarefeedApp) -> list[str]:
    """The post list's visible rows as text."""
    from carefeed.tui.widgets.entry_list import EntryList

    entries = app.screen.query_one(EntryList)
    rows = []
    for y in range(min(entries.size.height, entries.total)):
        rows.append(entries.render_line(y).text.rstrip())
    return rows


def static_text(app: CarefeedApp, selector: str) -> str:
    from textual.widgets import Static

    widget = app.screen.query_one(selector, Static)
    return str(widget.render())
