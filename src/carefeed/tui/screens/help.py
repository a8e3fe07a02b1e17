"""``?``: every key of the reader, in one place."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from carefeed.tui import render
from carefeed.tui.keymap import ACTIONS, KeyConfig, build_keymap

# (actions whose keys are shown, or the keys themselves when they cannot be changed; what)
KEYS: list[tuple[tuple[str, ...] | str, str]] = [
    (("down", "up"), "move in the list (and scroll a post)"),
    (("page_up", "page_down"), "a page up or down"),
    (("first", "last"), "first or last post"),
    (("open",), "open the post (marks it read)"),
    (("next_pane", "previous_pane"), "next / previous pane: sidebar, list, post"),
    (("tags",), "topics, tags and categories; space ticks, enter applies"),
    (("search",), "search as you type (enter: back to the list)"),
    (("unread",), "unread posts only (again: all)"),
    (("read",), "mark read / unread"),
    (("star",), "star / unstar"),
    (("comments",), "the post's comments (enter/space folds a thread)"),
    (("browser",), "open the post in the browser ($BROWSER)"),
    (("poll",), "poll every feed now"),
    (("add",), "add a feed by its address"),
    (("import",), "import an OPML file"),
    (("import_bundled",), "import the bundled feeds.opml"),
    (("errors",), "feeds whose last poll failed, and why"),
    (("clear",), "clear the filter"),
    (("back",), "back (from the post or the search), else quit"),
    (("help",), "this help"),
    (("palette",), "command palette: every action, feeds, tags, themes"),
]


def key_rows(keys: KeyConfig) -> list[tuple[str, str]]:
    """The help's rows with the keys in effect ([reader.keys] in config.toml)."""
    rows = []
    for which, what in KEYS:
        shown = which if isinstance(which, str) else " ".join(keys.keys_for(a) for a in which)
        rows.append((shown, what))
    return rows


class HelpScreen(ModalScreen[None]):
    """The keys, and what the glyphs mean."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        from carefeed.tui.app import CarefeedApp

        app = self.app
        keys = app.keys if isinstance(app, CarefeedApp) else build_keymap(())
        with Vertical(id="help"):
            yield Static(Content("carefeed — keys"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(render.key_table(key_rows(keys)), id="help-keys")
                yield Static(
                    render.key_table(
                        [
                            (render.UNREAD_GLYPH, "unread"),
                            (render.STAR_GLYPH, "starred"),
                            (render.COMMENT_GLYPH + "4", "comments"),
                            ("3 new", "comments since you last read the post"),
                            (
                                render.ERROR_GLYPH,
                                f"the feed's last poll failed (press {keys.keys_for('errors')})",
                            ),
                            (render.GONE_GLYPH, "the feed is gone (410) and no longer polled"),
                        ]
                    ),
                    id="help-glyphs",
                )
                yield Static(
                    Content.assemble(
                        "Change a key in config.toml (config folder, or --home): ",
                        ("[reader.keys]", ".cf--key"),
                        " then ",
                        ('star = "S"', ".cf--key"),
                        " (several: ",
                        ('down = "n,down"', ".cf--key"),
                        "). Actions: ",
                        (" ".join(ACTIONS), ".cf--muted"),
                    ),
                    id="help-config",
                )

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 100, "-narrow")

    def on_key(self, event: events.Key) -> None:
        """The help key closes the help, wherever [reader.keys] put it (the app's own
        bindings do not reach into a modal screen)."""
        from carefeed.tui.app import CarefeedApp

        app = self.app
        if isinstance(app, CarefeedApp) and event.key in app.keys.effective.get("help", ()):
            event.stop()
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
