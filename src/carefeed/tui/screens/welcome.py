"""First run: no subscriptions yet, so offer the bundled list (and a poll) or `a`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from carefeed.tui import render


class WelcomeScreen(ModalScreen[str | None]):
    """Returns "import" (the bundled list), "import_file", "add" or None."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "later", "Later", id="welcome.later"),
        Binding("a", "add", "Add a feed", id="welcome.add"),
        Binding("I", "import", "Import", id="welcome.import"),
        Binding("i", "import_file", "Import a file", id="welcome.import_file"),
    ]

    def __init__(self, bundled: Path | None) -> None:
        super().__init__()
        self.bundled = bundled

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="welcome"):
            yield Static(Content("Welcome to carefeed"), classes="dialog-title")
            if self.bundled is not None:
                text = Content.assemble(
                    "You have no subscriptions yet. carefeed comes with a list of UK social "
                    "care blogs and news feeds:\n",
                    (render.clean(str(self.bundled), max_len=200), ".cf--link"),
                    "\nImport it and poll the feeds now?",
                )
            else:
                text = Content(
                    "You have no subscriptions yet, and no feeds.opml was found here. "
                    f"Add a feed by its address ({self._key('add')}), "
                    f"or import an OPML file ({self._key('import')})."
                )
            yield Static(text)
            keys = [("import_bundled", "imports and polls")] if self.bundled is not None else []
            keys += [("add", "adds a feed"), ("import", "imports an OPML file")]
            yield Static(
                Content(
                    " · ".join(f"{self._key(a)} {what}" for a, what in keys) + " · escape: later"
                ),
                classes="dialog-hint",
            )
            with Horizontal(classes="dialog-buttons"):
                if self.bundled is not None:
                    yield Button(Content("Import and poll"), id="import", variant="primary")
                yield Button(Content("Add a feed…"), id="add")
                yield Button(Content("Later"), id="later")

    def _key(self, action: str) -> str:
        """The key in effect for ``action`` ([reader.keys] may have moved it)."""
        from carefeed.tui.app import CarefeedApp

        app = self.app
        return app.keys.keys_for(action) if isinstance(app, CarefeedApp) else ""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "later" else event.button.id)

    def action_later(self) -> None:
        self.dismiss(None)

    def action_add(self) -> None:
        self.dismiss("add")

    def action_import_file(self) -> None:
        self.dismiss("import_file")

    def action_import(self) -> None:
        if self.bundled is not None:
            self.dismiss("import")
