"""ctrl+p: the command palette offers every action, the sidebar's places, each tag and
each feed; feed text in it is literal and inert (HOSTILE.md F5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from carefeed.api import Carefeed
from carefeed.tui.app import CarefeedApp
from carefeed.tui.commands import ACTIONS
from carefeed.tui.keymap import ACTIONS as KEY_ACTIONS
from carefeed.tui.screens.main import MainScreen
from conftest import STANDARD, FeedSpec, Post, fixed_clock, list_rows, screen_text, seed, settle
from screens import main_screen as main
from screens import status_text as status

pytestmark = pytest.mark.tui

SIZE = (120, 40)


def hits(app: CarefeedApp) -> list[str]:
    """The palette's hits as text (prompt, then help), top first."""
    commands = app.screen.query_one(CommandList)
    return [
        commands.get_option_at_index(i).prompt.plain  # type: ignore[union-attr]
        for i in range(commands.option_count)
    ]


async def ask(app: CarefeedApp, pilot: object, query: str) -> list[str]:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.press("ctrl+p")
    await settle(app, pilot)
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    palette = app.screen
    for _ in range(200):  # the palette gathers hits in a worker, in batches
        await pilot.pause(0.05)
        await palette.workers.wait_for_complete()
        await pilot.pause()
        if hits(app) and not any(w.is_running for w in palette.workers):
            break
    return hits(app)


def test_every_key_action_is_in_the_palette() -> None:
    offered = {name for _prompt, _help, _action, name in ACTIONS}
    missing = set(KEY_ACTIONS) - offered
    # moving the cursor and backing out are not commands
    assert missing <= {"down", "up", "page_down", "page_up", "first", "last", "open"} | {
        "previous_pane",
        "back",
        "palette",
    }


async def test_palette_lists_actions_with_their_keys(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        found = await ask(app, pilot, "toggle star")
        assert found[0] == "Toggle star\ns: star or unstar the post"


async def test_palette_jumps_to_a_feed(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        found = await ask(app, pilot, "carers voice")
        assert found[0].startswith("Feed: Carers Voice\n")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "feed Carers Voice" in status(app)
        assert len(list_rows(app)) == 3
        place = main(app).sidebar.highlighted_place
        assert place is not None and place.kind == "feed" and place.name == "Carers Voice"


async def test_palette_applies_a_tag_and_a_place(app: CarefeedApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        found = await ask(app, pilot, "tag: carers")
        assert found[0].startswith("Tag: Carers\n")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "tag Carers" in status(app)
        assert len(list_rows(app)) == 3
        found = await ask(app, pilot, "starred posts")
        assert found[0].startswith("Starred posts\n")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Starred" in status(app)
        assert list_rows(app) == []


HOSTILE = [
    "[@click=app.quit]Evil feed[/]",
    "Budget [/bold] cuts [b",
    "[ @click=app.quit]Spaced",
]


async def test_hostile_feed_titles_in_the_palette_are_literal_and_inert(home: Path) -> None:
    quits: list[str] = []
    with Carefeed.open(home) as api:
        seed(
            api,
            [
                *STANDARD,
                *(FeedSpec(t, [Post(f"post of {i}", 5 + i)]) for i, t in enumerate(HOSTILE)),
                FeedSpec("Tagged", [Post("tagged post", 9)], tags=("[red]Loud[/red] tag",)),
            ],
        )
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)

            async def spy_quit() -> None:
                quits.append("quit")

            app.action_quit = spy_quit  # type: ignore[method-assign]
            for title in HOSTILE:
                found = await ask(app, pilot, "feed: " + title.split("]")[-1][:6])
                assert any(h.startswith(f"Feed: {title}\n") for h in found), (title, found)
                assert f"Feed: {title}" in screen_text(app)
                await pilot.press("escape")
                await settle(app, pilot)
            found = await ask(app, pilot, "loud")
            assert found[0].startswith("Tag: [red]Loud[/red] tag\n")
            await pilot.press("escape")
            await settle(app, pilot)
            # clicking the hit jumps to the feed; the [@click=…] in its title does nothing
            found = await ask(app, pilot, "evil feed")
            assert found[0].startswith("Feed: [@click=app.quit]Evil feed[/]")
            commands = app.screen.query_one(CommandList)
            await pilot.click(commands, offset=(12, 1))  # under the blank top border
            await settle(app, pilot)
            assert app.is_running and not quits
            assert isinstance(app.screen, MainScreen)
            assert "feed [@click=app.quit]Evil feed[/]" in status(app)
            assert list_rows(app)[0].endswith("5m") or "post of 0" in list_rows(app)[0]


async def test_palette_lists_a_topic_and_writes_a_briefing_of_the_list(
    app: CarefeedApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        shown = await ask(app, pilot, "topic: funding")
        assert shown and shown[0].startswith("Topic: Funding and finance")
        await pilot.press("enter")
        await settle(app, pilot)
        rows = list_rows(app)
        assert rows and "topic Funding and finance" in status(app)
        listed = len(rows)
        shown = await ask(app, pilot, "briefing markdown")
        assert shown[0].startswith("Briefing of this list (Markdown)")
        await pilot.press("enter")
        await settle(app, pilot)
        await app.pool.wait_idle()
        await settle(app, pilot)
        (written,) = tmp_path.glob("carefeed-briefing-*.md")
        text = written.read_text(encoding="utf-8")
        assert text.startswith("# Reading list: topic Funding and finance")
        assert text.count("\n- [") == listed  # every listed post, once
        assert any("Wrote" in str(n.message) for n in app._notifications)
