"""``[reader.keys]`` in config.toml: keys moved through Textual's keymap, bad entries
reported in one line when the reader starts (and left out), ``?`` showing the keys in
effect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Footer

from carefeed import cli
from carefeed.api import Carefeed
from carefeed.model import EntryFilter
from carefeed.settings import SettingsError
from carefeed.tui.app import CarefeedApp
from carefeed.tui.keymap import ACTIONS, build_keymap, default_keys, normalize
from carefeed.tui.screens.help import HelpScreen
from carefeed.tui.screens.main import MainScreen
from conftest import STANDARD, fixed_clock, list_rows, screen_text, seed, settle, static_text
from screens import main_screen as main

pytestmark = pytest.mark.tui

SIZE = (120, 40)


def configured(home: Path, toml: str) -> Iterator[CarefeedApp]:
    (home / "config.toml").write_text(toml, encoding="utf-8")
    api = Carefeed.open(home)
    seed(api, STANDARD)
    try:
        yield CarefeedApp(api, clock=fixed_clock, preview_delay=0)
    finally:
        api.close()


def errors(app: CarefeedApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


def help_line(app: CarefeedApp, words: str) -> str:
    text = static_text(app, "#help-keys")
    return next(line for line in text.splitlines() if words in line)


@pytest.fixture
def star_on_S(home: Path) -> Iterator[CarefeedApp]:
    yield from configured(home, '[reader.keys]\nstar = "S"\ndown = "n,down"\n')


async def test_a_configured_key_moves_the_action(star_on_S: CarefeedApp) -> None:
    app = star_on_S
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert errors(app) == []
        await pilot.press("s")  # no longer star
        await settle(app, pilot)
        assert not app.api.entries(EntryFilter(), limit=1)[0].starred
        await pilot.press("S")
        await settle(app, pilot)
        assert app.api.entries(EntryFilter(), limit=1)[0].starred
        assert list_rows(app)[0].startswith("● ★")
        # j is gone from the list, n and the arrow move
        entries = main(app).entries
        await pilot.press("j")
        assert entries.cursor == 0
        await pilot.press("n", "down")
        assert entries.cursor == 2
        # the footer shows the key in effect
        footer = main(app).query_one(Footer)
        shown = {(k.key, k.description) for k in footer.query("FooterKey")}  # type: ignore[attr-defined]
        assert ("S", "Star") in shown and ("s", "Star") not in shown
        # in its usual place, after ? and Read, not moved to the end (and off screen)
        order = [k.key for k in footer.query("FooterKey")]  # type: ignore[attr-defined]
        assert order[0] == "question_mark"
        assert order.index("S") == order.index("r") + 1


async def test_question_mark_shows_the_keys_in_effect(star_on_S: CarefeedApp) -> None:
    app = star_on_S
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        assert help_line(app, "star / unstar").split() == ["S", "star", "/", "unstar"]
        assert help_line(app, "move in the list").split()[:4] == ["n", "↓", "k", "↑"]
        assert help_line(app, "mark read / unread").split()[0] == "r"
        assert "[reader.keys]" in screen_text(app)


async def test_bad_entries_are_one_line_at_start_and_left_out(home: Path) -> None:
    toml = '[reader.keys]\nstra = "x"\nread = "ctrl+"\npoll = "r"\nhelp = "ctrl+q"\nunread = "U"\n'
    for app in configured(home, toml):
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.is_running and isinstance(app.screen, MainScreen)
            (message,) = errors(app)
            assert "\n" not in message and "config.toml [reader.keys]" in message
            assert "unknown action 'stra' (did you mean 'star'?)" in message
            assert "'ctrl+' is not a key" in message
            assert "poll = 'r': r is already read's key, so poll stays R" in message
            assert "ctrl+q always quits" in message
            # the good entry is applied, the bad ones are not
            await pilot.press("U")
            await settle(app, pilot)
            assert "Unread" in main(app).status.render().plain  # type: ignore[union-attr]
            await pilot.press("r")
            await settle(app, pilot)
            assert app.api.entries(EntryFilter(), limit=1)[0].read
            assert not main(app).is_polling


async def test_rebound_help_palette_and_search(home: Path) -> None:
    toml = '[reader.keys]\nhelp = "h"\npalette = "ctrl+k"\nsearch = "f"\n'
    for app in configured(home, toml):
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("h")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("h")  # the help key closes the help too
            assert isinstance(app.screen, MainScreen)
            await pilot.press("slash")  # / no longer searches
            assert not main(app).search_input.display
            await pilot.press("f", *"carers")
            await settle(app, pilot)
            assert main(app).search_input.value == "carers"
            await pilot.press("escape", "ctrl+k")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "CommandPalette"
            await pilot.press("escape")
            footer = main(app).query_one(Footer)
            keys = {k.key for k in footer.query("FooterKey")}
            assert "ctrl+k" in keys and "ctrl+p" not in keys


def test_every_configurable_action_names_real_bindings() -> None:
    defaults = default_keys()
    for name, ids in ACTIONS.items():
        assert ids and all(i in defaults for i in ids), name
    assert build_keymap(()).errors == []  # the defaults do not clash


def test_a_swap_is_not_a_clash() -> None:
    config = build_keymap([("star", "r"), ("read", "s")])
    assert config.errors == []
    assert config.keymap == {"main.star": "r", "main.read": "s"}


def test_a_malformed_table_stops_the_reader_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "config.toml").write_text("[reader.keys]\nstar = 5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="star must be keys"):
        Carefeed.open(home)
    assert cli.main(["--home", str(home)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[reader.keys]: star must be keys" in err


async def test_the_palette_names_the_keys_in_effect(star_on_S: CarefeedApp) -> None:
    from textual.command import CommandList

    app = star_on_S
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p", *"toggle star")
        palette = app.screen
        commands = palette.query_one(CommandList)
        for _ in range(100):  # the palette gathers hits in a worker, in batches
            await pilot.pause(0.05)
            await palette.workers.wait_for_complete()
            await pilot.pause()
            if commands.option_count and not any(w.is_running for w in palette.workers):
                break
        first = commands.get_option_at_index(0).prompt
        assert "S: star or unstar the post" in str(first)


@pytest.mark.parametrize(
    ("keys", "ok"),
    [
        ("S", True),
        ("!", True),
        ("exclamation_mark", True),
        ("f5", True),
        ("ctrl+shift+left", True),
        ("f6, F", True),
        ("space", False),  # page_down keeps it
        ("comma", True),
        ("ctrl+", False),
        ("hyper-s", False),
        ("fn+x", False),
        ("enterr", False),
        (" , ", False),
    ],
)
def test_which_keys_are_keys(keys: str, ok: bool) -> None:
    config = build_keymap([("poll", keys)])
    assert (config.errors == []) is ok, config.errors
    if ok:
        assert config.keymap["main.poll"] == ",".join(k.strip() for k in normalize(keys))


async def test_first_steps_name_the_keys_in_effect(home: Path) -> None:
    (home / "config.toml").write_text(
        '[reader.keys]\nimport_bundled = "B"\nadd = "plus"\n', encoding="utf-8"
    )
    with Carefeed.open(home) as api:  # no subscriptions: the empty post pane shows first steps
        app = CarefeedApp(api, clock=fixed_clock, preview_delay=0)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            if not isinstance(app.screen, MainScreen):  # the first-run offer: not now
                await pilot.press("escape")
                await settle(app, pilot)
            header = static_text(app, "#post-header")
            assert "B  import the bundled list" in header
            assert "i  import an OPML file" in header
            assert "+  add a feed" in header or "plus  add a feed" in header


async def test_escape_leaves_the_search_box_when_clear_is_moved(home: Path) -> None:
    for app in configured(home, '[reader.keys]\nclear = "x"\n'):
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            screen = main(app)
            await pilot.press("slash", *"reablement")
            await settle(app, pilot)
            assert len(list_rows(app)) == 1
            await pilot.press("escape")
            await settle(app, pilot)
            assert not screen.search_input.display
            assert app.focused is screen.entries
            assert len(list_rows(app)) == 11
