"""``a``: subscribe to a feed by its address (or a page that names one)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class AddFeedScreen(ModalScreen[str | None]):
    """An address in, the text as typed out (the core validates and explains)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="add.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content("Add a feed"), classes="dialog-title")
            yield Input(placeholder="https://example.org/feed/", id="add-url")
            yield Static(
                Content(
                    "The feed's address, or a blog page that links to it. enter adds, "
                    "escape cancels."
                ),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
