"""Topics in the reader: `t` lists canonical topics first, and one pick gathers posts that
three blogs filed under three different spellings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from carefeed.api import Carefeed
from carefeed.tui.app import CarefeedApp
from carefeed.tui.screens.main import MainScreen
from carefeed.tui.screens.tag_picker import TagPicker
from conftest import FeedSpec, Post, fixed_clock, list_rows, seed, settle
from screens import status_text as status

SIZE = (120, 40)

THREE_SPELLINGS = [
    FeedSpec(
        "Town Hall Care Blog",
        [
            Post("Where the winter money goes", 30, ("Social care funding",)),
            Post("Listening events in the autumn", 50, ("Engagement",)),
        ],
    ),
    FeedSpec(
        "Provider Forum",
        [
            Post("Fee uplift letters have arrived", 70, ("Budget",)),
            Post("Night shifts and sleep-ins", 90, ("Rotas",)),
        ],
    ),
    FeedSpec(
        "Policy Desk",
        [
            Post("The settlement, line by line", 110, ("Finance & funding", "Policy")),
            Post("Talking therapies waiting times", 130, ("Mental health",)),
        ],
    ),
]


@pytest.fixture
def topics_app(tmp_path: Path) -> Iterator[CarefeedApp]:
    api = Carefeed.open(tmp_path / "home")
    seed(api, THREE_SPELLINGS)
    api.ensure_topics()
    yield CarefeedApp(api, clock=fixed_clock, preview_delay=0)
    api.close()


async def test_t_fund_enter_lists_funding_from_three_spellings(topics_app: CarefeedApp) -> None:
    app = topics_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert len(list_rows(app)) == 6
        await pilot.press("t")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, TagPicker)
        await pilot.press(*"fund")
        await settle(app, pilot)
        # the topic comes first, ahead of the raw categories that contain "fund"
        assert picker.shown[0][1] == "topic"
        assert picker.shown[0][0].name == "Funding and finance"
        assert {item.name for item, kind in picker.shown if kind != "topic"} >= {
            "Social care funding",
            "Finance & funding",
        }
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        rows = list_rows(app)
        assert len(rows) == 3, rows
        for title in (
            "Where the winter money goes",
            "Fee uplift letters have arrived",
            "The settlement, line by line",
        ):
            assert any(title in r for r in rows), (title, rows)
        assert "topic Funding and finance" in status(app)
        await pilot.press("escape")
        await settle(app, pilot)
        assert len(list_rows(app)) == 6


async def test_picker_lists_topics_with_counts_before_categories(topics_app: CarefeedApp) -> None:
    app = topics_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, TagPicker)
        kinds = [kind for _, kind in picker.shown]
        first_other = next(i for i, k in enumerate(kinds) if k != "topic")
        assert all(k == "topic" for k in kinds[:first_other])
        assert all(k != "topic" for k in kinds[first_other:])
        counts = {item.name: item.total for item, kind in picker.shown if kind == "topic"}
        assert counts["Funding and finance"] == 3
        assert counts["Mental health"] == 1
        # topics with no posts are not offered
        assert "Dementia" not in counts


async def test_topic_and_category_combine(topics_app: CarefeedApp) -> None:
    app = topics_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        await pilot.press(*"fund")
        await settle(app, pilot)
        await pilot.press("space")  # tick the topic
        for _ in range(4):
            await pilot.press("backspace")
        await pilot.press(*"policy")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, TagPicker)
        at = next(i for i, (item, kind) in enumerate(picker.shown) if item.name == "Policy")
        picker.query_one("#picker-list").highlighted = at  # type: ignore[attr-defined]
        await pilot.press("space", "enter")
        await settle(app, pilot)
        rows = list_rows(app)
        assert len(rows) == 1 and "The settlement, line by line" in rows[0]
        assert "topic Funding and finance" in status(app) and "Policy" in status(app)


@pytest.fixture
def filters_app(tmp_path: Path) -> Iterator[CarefeedApp]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        'mute = ["feed:\\"Provider Forum\\" tag:Rotas"]\n'
        "[filters]\n"
        '"Money" = "topic:fund"\n'
        '"Broken one" = "topic:"\n',
        encoding="utf-8",
    )
    api = Carefeed.open(home)
    seed(api, THREE_SPELLINGS)
    yield CarefeedApp(api, clock=fixed_clock, preview_delay=0)
    api.close()


async def test_saved_filters_in_the_sidebar_and_mute_rules(filters_app: CarefeedApp) -> None:
    app = filters_app
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        # the muted post is hidden from the list and from every count
        rows = list_rows(app)
        assert len(rows) == 5 and not any("Night shifts" in r for r in rows)
        places = {p.name: p for p in screen.sidebar._by_index if p.kind == "saved"}
        assert set(places) == {"Money", "Broken one"}
        assert places["Money"].saved is not None and places["Money"].saved.unread == 3
        assert places["Broken one"].saved is not None and places["Broken one"].saved.unread is None
        sidebar_text = "\n".join(
            str(screen.sidebar.get_option_at_index(i).prompt)
            for i in range(screen.sidebar.option_count)
        )
        assert "Filters" in sidebar_text and "Money  3" in sidebar_text
        assert "Unread  5" in sidebar_text  # not 6: the muted post is not counted
        screen.sidebar.focus()
        screen.sidebar.highlight_place(places["Money"])
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(list_rows(app)) == 3
        assert "filter Money" in status(app)
        # a filter that cannot be read says why instead of listing
        screen.sidebar.focus()
        screen.sidebar.highlight_place(places["Broken one"])
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(list_rows(app)) == 3
        assert any("needs a value" in str(n.message) for n in app._notifications)
