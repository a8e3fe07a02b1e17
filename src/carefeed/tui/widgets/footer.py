"""The footer: Textual's, with the help key first and less space at narrow widths.

At 80 columns only about half of the keys fit; whatever is cut, ``?`` (every key) must
stay on screen, so it leads. Below :data:`COMPACT` columns the keys close up (Textual's
compact footer) so that more of them fit.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer

COMPACT = 130
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
        # with a group, which the reader has none of): the same widgets, help first,
        # then in the order the code lists them (a key moved by [reader.keys] would
        # otherwise go to the end, and off the screen at 80 columns)
        widgets = list(super().compose())
        order = self._code_order()

        def rank(widget: Widget) -> int:
            action = getattr(widget, "action", None)
            if action in HELP_ACTIONS:
                return -1
            if widget.has_class("-command-palette"):
                return len(order) + 1
            return order.get(str(action), len(order))

        yield from sorted(widgets, key=rank)

    def _code_order(self) -> dict[str, int]:
        """Action -> its place in the BINDINGS of the focused widget, its parents, the
        screen and the app, in that order (the footer's own order before any keymap)."""
        order: dict[str, int] = {}
        focused = self.screen.focused
        nodes = list(focused.ancestors_with_self) if focused is not None else [self.screen]
        for node in [*nodes, self.app]:
            for binding in getattr(type(node), "BINDINGS", []):
                action = binding.action if isinstance(binding, Binding) else binding[1]
                order.setdefault(action, len(order))
        return order

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < COMPACT
