"""The status line: the active filter in words, how many posts, and the poll's state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.content import Content
from textual.widgets import Static

from carefeed.model import Feed
from carefeed.tui import render


class StatusBar(Static):
    """``Unread · tag Dementia      1,204 posts · polled 3 min ago``"""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.clock = clock
        self.filter_words: Content = Content("")
        self.posts: int | None = None
        self.last_poll: datetime | None = None
        self.polling: tuple[int, int] | None = None
        self.note = ""
        self.feed_problem: Content | None = None

    def set_filter(self, words: Content) -> None:
        self.filter_words = words
        self.redraw()

    def set_feed(self, feed: Feed | None) -> None:
        """The feed being listed, if any: when its last poll failed, say so after the
        filter, with the key that shows why (our words only; the error is on that key)."""
        problem = None
        if feed is not None and (feed.gone or feed.error):
            from carefeed.tui.app import CarefeedApp

            app = self.app
            key = app.keys.keys_for("errors") if isinstance(app, CarefeedApp) else "e"
            glyph = render.GONE_GLYPH if feed.gone else render.ERROR_GLYPH
            what = "gone (410), no longer polled" if feed.gone else "its last poll failed"
            problem = Content.styled(f"{glyph} {what} · {key}: why", ".cf--error")
        if problem != self.feed_problem:
            self.feed_problem = problem
            self.redraw()

    def set_posts(self, posts: int | None) -> None:
        self.posts = posts
        self.redraw()

    def set_polling(self, done: int, total: int) -> None:
        self.polling = (done, total)
        self.redraw()

    def poll_done(self, when: datetime | None) -> None:
        self.polling = None
        if when is not None:
            self.last_poll = when
        self.redraw()

    def right_text(self) -> str:
        parts: list[str] = []
        if self.posts is None:
            parts.append("counting…")
        else:
            parts.append(f"{self.posts:,} post{'s' if self.posts != 1 else ''}")
        if self.polling is not None:
            done, total = self.polling
            parts.append(f"polling {done} of {total}")
        elif self.last_poll is not None:
            parts.append(f"polled {render.ago(self.last_poll, self.clock())}")
        else:
            parts.append("not polled yet")
        return " · ".join(parts)

    def redraw(self) -> None:
        width = self.content_region.width or self.size.width or 80
        left = self.filter_words
        if self.feed_problem is not None:
            left = Content.assemble(left, "  ", self.feed_problem)
        self.update(render.status_line(left, self.right_text(), width))

    def on_resize(self) -> None:
        self.redraw()
