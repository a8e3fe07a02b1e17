"""The post list: a virtual Line-API list over keyset pages (Toolong's LogLines idea).

Why not DataTable, OptionList or ListView: they build a row (or a widget) per post up
front, and 100,000 cached posts took seconds to first paint (STYLE.md §2). Here the
list's height is a number (``virtual_size``), ``render_line(y)`` asks for the post at
``scroll_offset.y + y``, and posts come from the cache a page of 200 at a time:

* a page whose predecessor's last key is known is one indexed query (~5 ms on 100k
  posts, bench/reader.py) and is read on the UI thread, unless the view is slow (a
  full-text search), when it is read on a pool thread and the row shows "…" until it
  arrives;
* a jump far ahead (End, a scrollbar drag) needs the key that ends the page before: a
  pool thread asks the cache for it by position while the rows show "…";
* the count (the virtual height) is always computed on a pool thread; until it arrives
  the list is as long as what it has read;
* pages live in an LRU cache; rendered rows in another, keyed by what they show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual

from carefeed.api import Carefeed
from carefeed.model import Entry
from carefeed.tui import render
from carefeed.tui.messages import EntryHighlighted, EntryOpened, ListCounted
from carefeed.tui.queries import QueryPool
from carefeed.tui.source import PAGE, View, count, fetch_page, page_keys


class EntryList(ScrollView, can_focus=True):
    """Posts of the current :class:`View`, newest first, one line each."""

    DEFAULT_CSS = """
    EntryList {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "entry-list--row",
        "entry-list--cursor",
        "entry-list--cursor-blurred",
        *render.STYLES,
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "first", "First post", show=False, id="list.first"),
        Binding("end,G", "last", "Last post", show=False, id="list.last"),
        Binding("enter", "open", "Open", id="list.open", tooltip="Show the post and mark it read"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)
    total: reactive[int] = reactive(0, init=False, repaint=False)

    def __init__(
        self,
        api: Carefeed,
        pool: QueryPool,
        clock: Callable[[], datetime],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.api = api
        self.pool = pool
        self.clock = clock
        self.view_state = View()
        self.counted = False  # has the pool reported the real count of this view?
        self._generation = 0
        self._pages: LRUCache[int, list[Entry]] = LRUCache(64)
        self._keys: dict[int, tuple[int, int]] = {}
        self._loading: set[int] = set()
        self._walking = False
        self._rows: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._exhausted = False  # a short page was read: the provisional total is exact
        self._count_pending: Callable[[], None] | None = None  # runs when page 0 arrives

    # ----------------------------------------------------------------- the data

    def show(self, view: View, *, keep_cursor: bool = False) -> None:
        """List ``view`` from the top (or, with ``keep_cursor``, near the same post)."""
        previous = self.current if keep_cursor else None
        self.view_state = view
        self._generation += 1
        self._pages.clear()
        self._keys.clear()
        self._loading.clear()
        self._rows.clear()
        self._walking = False
        self._exhausted = False
        self.counted = False
        generation = self._generation
        old_cursor = self.cursor
        if not keep_cursor:
            self._set_total(0)  # a reload keeps the old height until the new count

        def count_it() -> None:
            self._count_pending = None
            self.pool.submit(
                lambda api: count(api, view),
                lambda n: self._counted(generation, n),
                group="list-count",
            )

        if view.is_slow:
            # The count waits for the first page: run side by side on a busy machine,
            # the two queries made the first page 2-3x slower (bench/reader.py).
            self._count_pending = count_it
            self._request_page(0)
        else:
            self._store_page(0, fetch_page(self.api, view, None))
            count_it()
        if previous is not None and keep_cursor:
            self._restore_cursor(previous, old_cursor)
        else:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def reload(self) -> None:
        """The cache changed under the list (a poll wrote posts): re-read, stay put."""
        self.show(self.view_state, keep_cursor=True)

    def _restore_cursor(self, previous: Entry, old_cursor: int) -> None:
        """Find the post the cursor was on; new posts usually arrive above it."""
        for index, entry in enumerate(self._pages.get(0) or ()):
            if entry.id == previous.id:
                self._move_to(index)
                return
        self._move_to(min(old_cursor, max(0, self.total - 1)))

    def _counted(self, generation: int, n: int) -> None:
        if generation != self._generation:
            return
        self.counted = True
        self._set_total(n)
        self.post_message(ListCounted(n))

    def _set_total(self, n: int) -> None:
        self.total = n
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, n)
        if self.cursor >= n > 0:
            self.cursor = n - 1
        self.refresh()

    def _store_page(self, page: int, rows: list[Entry]) -> None:
        self._pages[page] = rows
        self._loading.discard(page)
        if rows:
            self._keys[page] = rows[-1].page_key
        if len(rows) < PAGE:
            self._exhausted = True
        if not self.counted:
            seen = page * PAGE + len(rows)
            provisional = seen if self._exhausted else seen + 1
            if provisional > self.total or self._exhausted:
                self._set_total(provisional)
        self._rows.clear()
        self.refresh()
        if page * PAGE <= self.cursor < (page + 1) * PAGE:
            self.post_message(EntryHighlighted(self.current))

    def _request_page(self, page: int) -> None:
        """Read ``page`` (now if cheap, else on a pool thread), or walk to it first."""
        if page in self._loading:
            return
        if page > 0 and page - 1 not in self._keys:
            self._walk_to(page)
            return
        before = self._keys.get(page - 1) if page > 0 else None
        view, generation = self.view_state, self._generation
        if not view.is_slow:
            self._store_page(page, fetch_page(self.api, view, before))
            return
        self._loading.add(page)

        def arrived(rows: list[Entry]) -> None:
            if generation == self._generation:
                self._store_page(page, rows)
                if page == 0 and self._count_pending is not None:
                    self._count_pending()

        self.pool.submit(lambda api: fetch_page(api, view, before), arrived)

    def _walk_to(self, page: int) -> None:
        if self._walking:
            return
        view, generation = self.view_state, self._generation
        self._walking = True

        def walked(keys: dict[int, tuple[int, int]]) -> None:
            if generation != self._generation:
                return
            self._walking = False
            self._keys.update(keys)
            if not keys:
                return
            self._rows.clear()
            self.refresh()  # rows now on screen ask for their pages again

        self.pool.submit(lambda api: page_keys(api, view, page - 1), walked)

    def entry_at(self, index: int, *, load: bool = True) -> Entry | None:
        """The post at row ``index``, or None while its page is being read."""
        if index < 0:
            return None
        page, offset = divmod(index, PAGE)
        rows = self._pages.get(page)
        if rows is None:
            if not load:
                return None
            self._request_page(page)
            rows = self._pages.get(page)
            if rows is None:
                return None
        return rows[offset] if offset < len(rows) else None

    @property
    def current(self) -> Entry | None:
        """The post under the cursor."""
        return self.entry_at(self.cursor) if self.total else None

    def update_entry(self, entry: Entry) -> None:
        """A post's read/starred marks changed: swap it into its page and repaint."""
        for page in list(self._pages.keys()):
            rows = self._pages.get(page)
            if rows is None:
                continue
            for offset, old in enumerate(rows):
                if old.id == entry.id:
                    rows[offset] = entry
                    self.refresh_line_at(page * PAGE + offset)
                    return

    def set_marks(
        self, entry: Entry, *, read: bool | None = None, starred: bool | None = None
    ) -> Entry:
        changed = replace(
            entry,
            read=entry.read if read is None else read,
            starred=entry.starred if starred is None else starred,
        )
        self.update_entry(changed)
        return changed

    # ----------------------------------------------------------------- the cursor

    def _move_to(self, index: int) -> None:
        if self.total <= 0:
            return
        index = max(0, min(index, self.total - 1))
        old = self.cursor
        self.cursor = index
        self.refresh_line_at(old)
        self.refresh_line_at(index)
        self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def watch_cursor(self) -> None:
        self.post_message(EntryHighlighted(self.current))

    def refresh_line_at(self, index: int) -> None:
        y = index - round(self.scroll_y)
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height)
        self._move_to(self.cursor + direction * height)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(self.total - 1)

    def action_open(self) -> None:
        entry = self.current
        if entry is not None:
            self.post_message(EntryOpened(entry))

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_y) + event.y
        if 0 <= index < self.total:
            self._move_to(index)
            if event.chain >= 2:
                self.action_open()

    def on_focus(self) -> None:
        self._rows.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._rows.clear()
        self.refresh()

    def on_resize(self) -> None:
        self._rows.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows.clear()

    def clear_row_cache(self) -> None:
        """Relative dates moved on ("3h" became "4h"): render rows again."""
        self._rows.clear()
        self.refresh()

    # ----------------------------------------------------------------- painting

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        base = self.get_visual_style("entry-list--row")
        if index >= self.total or width <= 0:
            return Strip.blank(width, base.rich_style)
        is_cursor = index == self.cursor
        if is_cursor:
            part = "entry-list--cursor" if self.has_focus else "entry-list--cursor-blurred"
            style = self.get_visual_style("entry-list--row", part)
        else:
            style = base
        entry = self.entry_at(index)
        if entry is None:
            content = render.loading_row(width)
            key: tuple[object, ...] = ("loading", is_cursor, width, self.has_focus)
        else:
            key = (
                entry.id,
                entry.read,
                entry.starred,
                entry.comments_stored,
                entry.comments_seen,
                is_cursor,
                width,
                self.has_focus,
            )
            cached = self._rows.get(key)
            if cached is not None:
                return cached
            content = render.entry_row(entry, width, self.clock())
        strips = Visual.to_strips(self, content, width, 1, style)
        strip = strips[0] if strips else Strip.blank(width)
        strip = strip.extend_cell_length(width, style.rich_style).crop(0, width)
        if entry is not None:
            self._rows[key] = strip
        return strip
