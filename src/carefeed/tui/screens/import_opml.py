"""``i``: import an OPML file (folders become tags), then poll the new feeds."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ImportOpmlScreen(ModalScreen[str | None]):
    """A path in (the bundled feeds.opml offered when there is one)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="import.cancel")
    ]

    def __init__(self, suggestion: Path | None = None) -> None:
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content("Import an OPML file"), classes="dialog-title")
            yield Input(
                value=str(self.suggestion) if self.suggestion else "",
                placeholder="~/Downloads/subscriptions.opml",
                id="import-path",
            )
            yield Static(
                Content(
                    "Folders become tags. enter imports and polls the new feeds, escape cancels."
                ),
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
