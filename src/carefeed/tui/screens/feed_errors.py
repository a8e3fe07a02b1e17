"""``e``: the feeds whose last poll failed, each with its one-line reason."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from carefeed.model import Feed
from carefeed.tui import render


class FeedErrorsScreen(ModalScreen[None]):
    """Failing feeds, the selected one first."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,e", "close", "Close", id="errors.close")
    ]

    def __init__(self, feeds: list[Feed], first: int | None = None) -> None:
        super().__init__()
        self.feeds = sorted(feeds, key=lambda f: (f.id != first, f.display_title.casefold()))

    def compose(self) -> ComposeResult:
        from carefeed.tui.app import CarefeedApp

        app = self.app
        now = app.clock() if isinstance(app, CarefeedApp) else None
        poll_key = (app.keys.keys_for("poll") if isinstance(app, CarefeedApp) else "") or "R"
        with Vertical(id="errors"):
            yield Static(
                Content(f"Feeds with problems ({len(self.feeds)})"), classes="dialog-title"
            )
            with VerticalScroll(id="errors-body"):
                for feed in self.feeds:
                    if now is not None:
                        yield Static(render.feed_error(feed, now), classes="feed-error")
            yield Static(
                Content(
                    f"{poll_key} polls again (feeds backing off wait their turn) · escape closes"
                ),
                classes="dialog-hint",
            )

    def action_close(self) -> None:
        self.dismiss(None)
