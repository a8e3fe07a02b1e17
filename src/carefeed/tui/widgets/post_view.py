"""The post pane: header, the text of the post, then the comments section.

Three ``Static`` widgets fed ``Content`` from :mod:`carefeed.tui.render` (never a str,
so markup in a post is just text). The body is plain text already (text.html_to_text at
ingest: paragraphs, "• " lists, "> " quotes, "[n]" references listed at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from carefeed.model import Entry
from carefeed.tui import render


class PostView(VerticalScroll, can_focus=True):
    """One post, readable; j/k and space scroll it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="post.down"),
        Binding("k", "scroll_up", "Up", show=False, id="post.up"),
        Binding("space", "page_down", "Page down", show=False, id="post.page_down"),
    ]

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.entry: Entry | None = None

    def compose(self) -> ComposeResult:
        yield Static(render.empty_post(True), id="post-header")
        yield Static("", id="post-body", markup=False)
        yield Static("", id="post-comments", markup=False)

    def show(self, entry: Entry | None, *, has_feeds: bool = True) -> None:
        """Show ``entry`` (None: the empty state) from its top."""
        same = entry is not None and self.entry is not None and entry.id == self.entry.id
        self.entry = entry
        header = self.query_one("#post-header", Static)
        body = self.query_one("#post-body", Static)
        comments = self.query_one("#post-comments", Static)
        if entry is None:
            header.update(render.empty_post(has_feeds))
            body.update("")
            comments.update("")
            body.display = comments.display = False
            return
        header.update(render.post_header(entry, self.clock()))
        if not same:
            body.update(render.post_body(entry))
            self.scroll_home(animate=False)
        comments.update(render.post_comments(entry))
        body.display = comments.display = True
