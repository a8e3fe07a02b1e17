"""The footer: Textual's, with the help key first and less space at narrow widths.

At 80 columns only about half of the keys fit; whatever is cut, ``?`` (every key) must
stay on screen, so it leads. Below :data:`COMPACT` columns the keys close up (Textual's
compact footer) so that more of them fit.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer

COMPACT = 120
HELP_ACTIONS = frozenset({"help", "app.help"})


class ReaderFooter(Footer):
    # compact, Textual gives the (docked) palette key a right margin, and the key under
    # it then shows through in the last column ("^p Paletteo")
    DEFAULT_CSS = """
    ReaderFooter.-compact FooterKey.-command-palette {
        margin-right: 0;
        padding-right: 1;
    }
    """

    def compose(self) -> ComposeResult:
        # Footer.compose yields one FooterKey per binding (KeyGroups only for bindings
        # with a group, which the reader has none of): the same widgets, help first
        widgets = list(super().compose())
        first = [w for w in widgets if getattr(w, "action", None) in HELP_ACTIONS]
        yield from first
        yield from (w for w in widgets if w not in first)

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < COMPACT
