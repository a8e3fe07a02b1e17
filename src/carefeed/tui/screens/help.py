"""``?``: every key of the reader, in one place."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from carefeed.tui import render

KEYS: list[tuple[str, str]] = [
    ("j k ↓ ↑", "move in the list (and scroll a post)"),
    ("pgup pgdn", "a page up or down"),
    ("g G", "first or last post"),
    ("enter", "open the post (marks it read)"),
    ("tab", "next pane: sidebar, list, post"),
    ("t", "tags and categories: type to narrow, space ticks, enter applies"),
    ("/", "search as you type (enter: back to the list)"),
    ("u", "unread posts only (again: all)"),
    ("r", "mark read / unread"),
    ("s", "star / unstar"),
    ("c", "the post's comments (enter/space folds a thread)"),
    ("o", "open the post in the browser ($BROWSER)"),
    ("R", "poll every feed now"),
    ("a", "add a feed by its address"),
    ("i", "import an OPML file"),
    ("I", "import the bundled feeds.opml"),
    ("e", "feeds whose last poll failed, and why"),
    ("escape", "clear the filter"),
    ("q", "back (from the post or the search), else quit"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action, and themes"),
]


class HelpScreen(ModalScreen[None]):
    """The keys, and what the glyphs mean."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(Content("carefeed — keys"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(render.key_table(KEYS))
                yield Static(
                    render.key_table(
                        [
                            (render.UNREAD_GLYPH, "unread"),
                            (render.STAR_GLYPH, "starred"),
                            (render.COMMENT_GLYPH + "4", "comments"),
                            ("3 new", "comments since you last read the post"),
                            (render.ERROR_GLYPH, "the feed's last poll failed (press e)"),
                            (render.GONE_GLYPH, "the feed is gone (410) and no longer polled"),
                        ]
                    ),
                    id="help-glyphs",
                )

    def action_close(self) -> None:
        self.dismiss(None)
