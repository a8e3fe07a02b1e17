"""The reader in a real terminal (HOSTILE.md §3 cases 5, 11 and the sweep test).

One session of the real ``carefeed`` reader on a pseudo-terminal, over a cache whose every
text field is the combined payload of cases 1-5 and 11-12 (reader_kit.seed_hostile), with
a hostile ``feeds.opml`` in the working directory for ``i``/``I``. Every key of the help
screen's list is typed once, visiting each screen: list, post, comments, tag picker,
search, errors, help, palette, add, import. The tests below read that one session's bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from reader_kit import (
    BRACKETS,
    LINK_MARKUP,
    MARKUP_ACTION,
    MARKUP_BYPASS,
    PtyRun,
    assert_terminal_safe,
    browser_script,
    hostile_opml,
    run_reader_in_pty,
    seed_hostile,
)

from homes import run_cli

pytestmark = pytest.mark.tui

ESC = b"\x1b"
# DESIGN's key list (the help screen), each typed once, in an order that visits every
# screen and returns; typed text in the picker, the search and the palette is hostile too.
SWEEP: list[tuple[str, bytes] | tuple[str, bytes, bytes]] = [
    ("j", b"j"),
    ("k", b"k"),
    ("down", ESC + b"[B"),
    ("up", ESC + b"[A"),
    ("pgdn", ESC + b"[6~"),
    ("pgup", ESC + b"[5~"),
    ("G", b"G"),
    ("g", b"g"),
    ("enter", b"\r"),  # the newest post: the one with hostile comments
    ("c", b"c"),
    ("tab-in-post", b"\t"),
    ("escape-1", ESC),
    ("tab", b"\t"),
    ("tab-2", b"\t"),
    ("tab-3", b"\t"),
    ("t", b"t", b"Topics, tags and categories"),
    ("t-type", b"fund"),
    ("t-space", b" "),
    ("t-enter", b"\r"),
    ("escape-2", ESC),
    ("/", b"/", b"Search posts"),
    ("/-type", b"[@click=app.quit]Budget"),
    ("/-enter", b"\r"),
    ("escape-3", ESC),
    ("u", b"u"),
    ("u-again", b"u"),
    ("r", b"r"),
    ("s", b"s"),
    ("o", b"o"),
    ("e", b"e", b"R polls again"),
    ("e-close", ESC),
    ("?", b"?", "carefeed — keys".encode()),
    ("?-close", ESC),
    ("ctrl+p", b"\x10", b"Search for commands"),
    ("palette-type", b"Budget [/bold]"),
    ("palette-close", ESC),
    ("a", b"a", b"Add a feed"),
    ("a-close", ESC),
    ("i", b"i", b"Import an OPML"),
    ("i-close", ESC),
    ("j-2", b"j"),
    ("enter-2", b"\r"),  # the post whose comment fetch failed with a hostile message
    ("q-from-post", b"q"),
    ("I", b"I"),  # imports ./feeds.opml (hostile titles, closed loopback port) and polls
    ("R", b"R"),
    ("e-after-poll", b"e", b"R polls again"),
    ("e-after-poll-close", ESC),
]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PtyRun, Path]]:
    root = tmp_path_factory.mktemp("reader-pty")
    seeded = seed_hostile(root / "home")
    cwd = root / "cwd"
    cwd.mkdir()
    (cwd / "feeds.opml").write_bytes(hostile_opml())
    script, log = browser_script(root)
    keys = SWEEP
    # `I` imports the first feeds.opml the reader finds; if that were ever not ours, it
    # would poll the repository's real feeds over the internet: leave the key out then
    from carefeed.tui.screens.main import find_bundled_opml

    here = Path.cwd()
    try:
        os.chdir(cwd)
        found = find_bundled_opml()
    finally:
        os.chdir(here)
    if found is None or found.resolve() != (cwd / "feeds.opml").resolve():
        keys = [k for k in SWEEP if k[0] != "I"]
    # and should anything else reach for the internet, a dead proxy stops it there
    env = {
        "BROWSER": str(script),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    run = run_reader_in_pty(seeded.home, keys, root, env_extra=env, cwd=cwd)
    yield run, log


@pytest.mark.case(0, "sweep: every key, every screen, pty", "alive, no action from text, inert")
def test_sweep_every_key_in_a_real_terminal(session: tuple[PtyRun, Path]):
    run, browser_log = session
    assert run.alive_before_quit, run.output[-3000:]
    assert run.returncode == 0
    # the spy saw the keys' actions, so it works; none came from text in a style
    actions = run.actions()
    assert run.missed == [], run.missed  # every screen the keys should open was drawn
    for expected in (
        "open",
        "comments",
        "pick_tags",
        "toggle_unread",
        "toggle_read",
        "toggle_star",
        "open_link",
        "feed_errors",
        "help",
        "command_palette",
        "add_feed",
        "import_opml",
        "import_bundled",
        "poll",
    ):
        assert expected in actions, (expected, actions)
    assert run.from_text() == [], run.from_text()
    assert not any("quit" in a for a in actions), actions  # q means back/exit, not app.quit
    assert_terminal_safe(run.output)
    # hostile text was on screen, literally (not a screen that never showed it)
    for literal in ("[@click=app.quit]", "Budget [/bold] cuts", "[Green Paper]", "[Archive]"):
        assert literal.encode() in run.output, literal
    # o handed the browser one re-serialised http(s) URL at most
    launched = browser_log.read_text().splitlines() if browser_log.exists() else []
    assert all(u.startswith(("https://", "http://")) for u in launched), launched


@pytest.mark.case(5, "link markup in feed text (pty)", "literal; no OSC 8 hyperlink emitted")
def test_link_markup_is_literal_and_makes_no_hyperlink(session: tuple[PtyRun, Path]):
    run, _ = session
    assert run.alive_before_quit
    assert b"\x1b]8;" not in run.output  # no hyperlink at all, so none to evil.example
    shown = run.output.decode("utf-8", errors="replace")
    assert "[link=https://evil.example]x[/]" in shown or "[link='file:///etc/passwd']" in shown
    assert "file:///etc/passwd" not in shown.replace("[link='file:///etc/passwd']", "")
    assert LINK_MARKUP[0][:6] in shown


@pytest.mark.case(11, "terminal escapes in every field (pty)", "no OSC/CSI/C1 payload reaches pty")
def test_escape_sequences_never_reach_the_terminal(session: tuple[PtyRun, Path]):
    run, _ = session
    assert run.alive_before_quit
    out = run.output
    for seq in (b"\x1b]0;", b"\x1b]2;", b"\x1b]52;", b"\x1b]8;", b"\xc2\x9b", b"\xc2\x9d"):
        assert seq not in out, seq
    for payload in (b"pwned-title", b"c1-title", b"Y3VybCBldmlsCg", b"ZXZpbA", b"/osc8"):
        assert payload not in out, payload
    # the only OSC the reader itself sends is the pointer shape (OSC 22)
    import re

    oscs = set(re.findall(rb"\x1b\](\d+)", out))
    assert oscs <= {b"22"}, oscs
    # the text around the escapes arrived: they were removed, not the whole field
    for literal in (MARKUP_ACTION, MARKUP_BYPASS[0], BRACKETS):
        assert literal.encode() in out, literal


@pytest.mark.case(
    11, "terminal escapes: CLI on a raw hostile cache", "every command's output inert"
)
def test_cli_output_is_inert_on_a_raw_hostile_cache(tmp_path: Path):
    """The CLI's own cleaning, on a cache holding raw escapes (written by an older
    carefeed, or by hand): list, show, comments, feeds, doctor, and an OPML import whose
    titles are hostile."""
    seeded = seed_hostile(tmp_path / "home")
    post = str(seeded.entry_ids["with-comments"])
    opml = tmp_path / "hostile.opml"
    opml.write_bytes(hostile_opml())
    outputs = {}
    for args in (
        ("entries",),
        ("show", post),
        ("show", post, "--json"),
        ("comments", post, "--cached"),
        ("comments", post, "--cached", "--json"),
        ("feeds", "--json"),
        ("comments", str(seeded.entry_ids["comment-error"]), "--cached"),
        ("feeds",),
        ("doctor",),
        ("import", str(opml)),
    ):
        result = run_cli(seeded.home, *args, check=False)
        assert b"Traceback" not in result.stderr, (args, result.stderr[-2000:])
        outputs[args] = result.stdout + result.stderr
        assert_terminal_safe(result.stdout)
        assert_terminal_safe(result.stderr)
        assert b"\x1b" not in result.stdout + result.stderr, args
        assert b"\\u001b" not in result.stdout and b"\\u009b" not in result.stdout, args
    assert MARKUP_ACTION.encode() in outputs[("show", post)]
    assert b"Budget [/bold] cuts" in outputs[("comments", post, "--cached")]
