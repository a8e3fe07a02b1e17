"""The sidebar: All, Unread, Starred, saved filters, tags (OPML folders), then feeds,
with counts.

An OptionList is right here (tens of lines, not 100,000). Every prompt is ``Content``
from :mod:`carefeed.tui.render`, so a feed called ``[/] Budget`` is shown as written. The
counts come from a pool thread (a GROUP BY over every post costs ~400 ms on a 100,000-post
cache), so the sidebar first paints with names only and fills in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from carefeed.api import SavedView
from carefeed.model import Feed, LabelCount
from carefeed.tui import render


@dataclass(frozen=True)
class Place:
    """What a sidebar line stands for."""

    kind: str  # "all" | "unread" | "starred" | "saved" | "tag" | "feed"
    name: str = ""
    feed: Feed | None = None
    saved: SavedCount | None = None


@dataclass(frozen=True)
class SavedCount:
    """A saved filter ([filters] in config.toml) and its unread posts (None: it cannot be
    read, and ``view.error`` says why)."""

    view: SavedView
    unread: int | None


class Sidebar(OptionList):
    """Places to read from; enter (or a click) lists one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = OptionList.COMPONENT_CLASSES | render.STYLES

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="sidebar.down"),
        Binding("k", "cursor_up", "Up", show=False, id="sidebar.up"),
    ]

    class Chosen(Message):
        def __init__(self, place: Place) -> None:
            super().__init__()
            self.place = place

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._by_index: list[Place] = []
        self.feeds: list[Feed] = []
        self.tags: list[LabelCount] = []
        self.saved: list[SavedCount] = []

    def fill(
        self,
        feeds: list[Feed],
        tags: list[LabelCount],
        *,
        unread: int | None = None,
        starred: int | None = None,
        total: int | None = None,
        saved: list[SavedCount] | None = None,
    ) -> None:
        """Rebuild the lines, keeping the highlight on the same place."""
        keep = self.highlighted_place
        self.feeds = feeds
        self.tags = tags
        if saved is not None:
            self.saved = saved
        rows: list[tuple[Option | None, Place | None]] = []

        def add(place: Place, prompt: Content) -> None:
            rows.append((Option(prompt), place))

        def heading(label: str) -> None:
            rows.append((None, None))  # a divider under the previous line
            rows.append((Option(render.sidebar_heading(label), disabled=True), Place("heading")))

        add(Place("all"), render.sidebar_item("All", None if total is None else unread))
        add(Place("unread"), render.sidebar_item("Unread", unread))
        add(Place("starred"), render.sidebar_item(f"{render.STAR_GLYPH} Starred", starred))
        if self.saved:
            heading("Filters")
            for item in self.saved:
                prompt = render.sidebar_item(
                    item.view.name, item.unread, indent=1, broken=item.view.filter is None
                )
                add(Place("saved", item.view.name, saved=item), prompt)
        if tags:
            heading("Tags")
            for tag in tags:
                add(Place("tag", tag.name), render.sidebar_item(tag.name, tag.unread, indent=1))
        if feeds:
            heading("Feeds")
            for feed in feeds:
                prompt = render.sidebar_item(
                    feed.display_title, feed.unread_count, feed=feed, indent=1
                )
                add(Place("feed", feed.display_title, feed), prompt)
        self._by_index = [place for option, place in rows if option is not None and place]
        self.set_options(option for option, _ in rows)
        if keep is not None:
            self.highlight_place(keep)
        elif self.highlighted is None and self.option_count:
            self.highlighted = 0

    def place_at(self, index: int | None) -> Place | None:
        if index is None:
            return None
        mapping = self._by_index
        if 0 <= index < len(mapping) and mapping[index].kind != "heading":
            return mapping[index]
        return None

    @property
    def highlighted_place(self) -> Place | None:
        return self.place_at(self.highlighted)

    def highlight_place(self, place: Place) -> None:
        mapping = self._by_index
        for index, candidate in enumerate(mapping):
            same_feed = (
                candidate.feed is not None
                and place.feed is not None
                and candidate.feed.id == place.feed.id
            )
            if candidate.kind == place.kind and (candidate.name == place.name or same_feed):
                self.highlighted = index
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        place = self.place_at(event.option_index)
        if place is not None:
            self.post_message(self.Chosen(place))
