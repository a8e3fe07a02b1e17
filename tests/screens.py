"""Reading the reader's screen in tests: the text a terminal would show, a settled pilot,
and a $BROWSER that only logs. Shared by tests/tui and tests/hostile."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any


def screen_text(app: Any) -> str:
    """What the terminal shows, as lines of text (from the SVG screenshot)."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(
        r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+"[^>]*>(.*?)</text>',
        svg,
    ):
        x, y = float(match.group(1)), float(match.group(2))
        text = html.unescape(match.group(3)).replace("\xa0", " ")
        rows.setdefault(y, []).append((x, text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


async def settle(app: Any, pilot: Any) -> None:
    """Let queries on pool threads, workers and messages finish."""
    for _ in range(3):
        await pilot.pause()
        await app.wait_idle()


def browser_script(tmp: Path) -> tuple[Path, Path]:
    """A $BROWSER that appends each argument it gets to a log, one per line."""
    script, log = tmp / "browser.sh", tmp / "browser.log"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a" >> "{log}"; done\n')
    script.chmod(0o755)
    return script, log


def main_screen(app: Any) -> Any:
    """The reader's main screen, asserting that it is the one showing."""
    from carefeed.tui.screens.main import MainScreen

    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def status_text(app: Any) -> str:
    """The status line as plain text (filter words, counts, poll state)."""
    from textual.content import Content

    shown = main_screen(app).status.render()
    assert isinstance(shown, Content)
    return shown.plain
