"""The main screen: sidebar | post list | post, the status line and the footer.

It owns the one piece of state, the :class:`~carefeed.tui.source.View`, and the workers
that touch the network (poll, add feed) so they die with it. Every other widget only
shows what it is given.
"""

from __future__ import annotations

import os
import shlex
import webbrowser
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from carefeed.api import Carefeed, ImportReport
from carefeed.errors import CarefeedError, PollRunningError, QueryError
from carefeed.model import CommentEvent, Entry, EntryFilter, Feed, LabelCount, PollStatus
from carefeed.text import safe_url
from carefeed.tui import render
from carefeed.tui.messages import (
    EntryHighlighted,
    EntryOpened,
    FeedPolled,
    ListCounted,
    PollProgressed,
)
from carefeed.tui.source import View
from carefeed.tui.widgets.entry_list import EntryList
from carefeed.tui.widgets.footer import ReaderFooter
from carefeed.tui.widgets.post_view import PostView
from carefeed.tui.widgets.sidebar import Place, SavedCount, Sidebar
from carefeed.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from carefeed.tui.app import CarefeedApp

NARROW = 100  # below this many columns the post goes under the list
CATEGORY_LIMIT = 200  # categories offered by the tag picker (most used first)


def find_bundled_opml() -> Path | None:
    """The repository's feeds.opml: beside the current directory, or above the package."""
    candidates = [Path.cwd() / "feeds.opml"]
    candidates += [parent / "feeds.opml" for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def browser_for_env() -> webbrowser.BaseBrowser | None:
    """The browser named by $BROWSER, read now (webbrowser caches it at first use)."""
    choice = os.environ.get("BROWSER", "")
    for cmdline in choice.split(os.pathsep):
        if not cmdline.strip():
            continue
        if "%s" in cmdline:
            return webbrowser.GenericBrowser(shlex.split(cmdline))
        try:
            return webbrowser.get(cmdline)
        except webbrowser.Error:
            return webbrowser.GenericBrowser(cmdline)
    return None


def openable(link: str | None) -> str | None:
    """The link re-serialised as an absolute http(s) URL, or None (HOSTILE.md F19).

    ``%action`` is refused too: webbrowser substitutes it inside the URL for some
    browsers (CPython gh-148169)."""
    url = safe_url(link)
    if url is None or url.startswith("-") or "%action" in url.lower():
        return None
    return url


def search_problem(exc: QueryError, text: str) -> str:
    """A query error for the status line, pointing at the place: ``Search: 'or' needs a
    term after it, at column 9 (“or b”)``."""
    where = ""
    if exc.position is not None:
        near = " ".join(text[exc.position : exc.position + 12].split())
        where = f", at column {exc.position + 1}" + (f" (\u201c{near}\u201d)" if near else "")
    return f"Search: {exc}{where}"


@dataclass(frozen=True)
class SidebarCounts:
    """What one pool-thread job brings back for the sidebar."""

    feeds: list[Feed]
    tags: list[LabelCount]
    saved: list[SavedCount]
    total: int
    unread: int
    starred: int


class MainScreen(Screen[None]):
    """Read: pick a place on the left, a post in the middle, read it on the right."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(render.STYLES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "cycle(1)", "Pane", show=False, id="main.next_pane", tooltip="Next pane"),
        Binding("shift+tab", "cycle(-1)", "Previous pane", show=False, id="main.prev_pane"),
        Binding(
            "t", "pick_tags", "Topics", id="main.tags", tooltip="Filter by topic, tag or category"
        ),
        Binding("slash", "search", "Search", key_display="/", id="main.search"),
        Binding("u", "toggle_unread", "Unread", id="main.unread", tooltip="Unread posts only"),
        Binding("r", "toggle_read", "Read", id="main.read", tooltip="Mark read / unread"),
        Binding("s", "toggle_star", "Star", id="main.star"),
        Binding("c", "comments", "Comments", id="main.comments", tooltip="The post's comments"),
        Binding("o", "open_link", "Browser", id="main.open", tooltip="Open the post in a browser"),
        Binding("R", "poll", "Poll", id="main.poll", tooltip="Fetch every feed now"),
        Binding("a", "add_feed", "Add", show=False, id="main.add", tooltip="Subscribe to a feed"),
        Binding(
            "i",
            "import_opml",
            "Import",
            show=False,
            id="main.import",
            tooltip="Import an OPML file",
        ),
        Binding("I", "import_bundled", "Import bundled", show=False, id="main.import_bundled"),
        Binding("e", "feed_errors", "Errors", id="main.errors", tooltip="Feeds whose poll failed"),
        Binding(
            "escape", "clear_filter", "Clear", show=False, id="main.clear", tooltip="Show all posts"
        ),
        Binding("q", "back", "Quit", id="main.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = View()
        self.categories: list[LabelCount] | None = None
        self.topic_counts: list[LabelCount] | None = None
        self.has_feeds: bool | None = None  # None: not known yet
        self._reload_timer: Timer | None = None
        self._preview_timer: Timer | None = None
        self._counts_timer: Timer | None = None
        self._offered_welcome = False
        self._want_comments: int | None = None  # c was pressed before they arrived

    @property
    def reader(self) -> CarefeedApp:
        from carefeed.tui.app import CarefeedApp

        assert isinstance(self.app, CarefeedApp)
        return self.app

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        app = self.reader
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="reading"):
                with Vertical(id="list-pane"):
                    yield Input(
                        placeholder="Search posts (enter: to the list, escape: clear)", id="search"
                    )
                    yield EntryList(app.api, app.pool, app.clock, id="entries")
                yield PostView(app.clock, id="post")
        yield StatusBar(app.clock, id="status")
        yield ReaderFooter()

    @property
    def entries(self) -> EntryList:
        return self.query_one(EntryList)

    @property
    def post(self) -> PostView:
        return self.query_one(PostView)

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def search_input(self) -> Input:
        return self.query_one("#search", Input)

    def on_mount(self) -> None:
        self.search_input.display = False
        self.sidebar.fill([], [])
        self.status.set_filter(self._filter_words())
        self.entries.show(self.view)
        self.entries.focus()
        self.refresh_counts()
        self.set_interval(60, self._tick)
        self._retag_if_needed()
        if self.reader.poll_on_start:
            self.call_after_refresh(self.action_poll)

    def _retag_if_needed(self) -> None:
        """A changed topics.toml re-tags the cache in the background; the list then
        re-lists, since topic filters and counts may have changed. Mute rules that cannot
        be read are said here, once."""

        def job(api: Carefeed) -> tuple[int, tuple[str, ...]]:
            return api.ensure_topics(), api.mute_errors()

        def done(result: tuple[int, tuple[str, ...]]) -> None:
            retagged, mute_problems = result
            for problem in mute_problems:
                self.notify(render.message(problem), severity="warning", markup=False)
            if retagged:
                self.notify(f"Topics worked out for {retagged:,} posts.", markup=False, timeout=4)
                self.categories = self.topic_counts = None
                self.entries.reload()
                self.refresh_counts()

        def failed(error: BaseException) -> None:
            self.notify(render.message(str(error)), title="Topics", severity="error", markup=False)

        self.reader.pool.submit(job, done, group="retag", failed=failed)

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")

    def _tick(self) -> None:
        self.status.redraw()
        self.entries.clear_row_cache()

    # ----------------------------------------------------------------- the view

    def _filter_words(self) -> Content:
        view = self.view
        return render.filter_words(
            feed_title=view.feed_title,
            tags=view.tags,
            topics=view.topics,
            saved=view.saved,
            unread=view.unread,
            starred=view.starred,
            search=view.search,
        )

    def set_view(self, view: View) -> None:
        """List ``view``: the one way the filter changes."""
        self.view = view
        self.status.set_filter(self._filter_words())
        self.status.set_feed(self._listed_feed())
        self.status.set_posts(None)
        self.entries.show(view)
        if self.entries.counted:
            self.status.set_posts(self.entries.total)

    def _listed_feed(self) -> Feed | None:
        """The feed the list shows, as the sidebar last counted it."""
        feed_id = self.view.feed_id
        return next((f for f in self.sidebar.feeds if f.id == feed_id), None)

    def on_list_counted(self, message: ListCounted) -> None:
        self.status.set_posts(message.total)

    def on_entry_highlighted(self, message: EntryHighlighted) -> None:
        """Preview the post under the cursor once the cursor rests: a new post in the
        pane re-lays the screen out (~50 ms on a slow machine), which must not happen on
        every j of a held key (bench/reader.py measures it)."""
        entry = message.entry
        if self._preview_timer is not None:
            self._preview_timer.stop()
            self._preview_timer = None
        if entry is None:
            if self.entries.total == 0:
                self.post.show(None, has_feeds=self.has_feeds is not False)
            return
        shown = self.post.entry
        delay = self.reader.preview_delay
        if delay <= 0 or (shown is not None and shown.id == entry.id):
            self._show_post(entry)
        else:
            self._preview_timer = self.set_timer(delay, lambda: self._preview(entry))

    def _preview(self, entry: Entry) -> None:
        self._preview_timer = None
        current = self.entries.current
        if current is not None and current.id == entry.id:
            self._show_post(current)

    def on_entry_opened(self, message: EntryOpened) -> None:
        entry = message.entry
        if self._preview_timer is not None:
            self._preview_timer.stop()
            self._preview_timer = None
        if not entry.read:
            entry = self._mark(entry, read=True)
        self._show_post(entry, fetch=True)
        self.post.focus()

    # ----------------------------------------------------------------- comments

    def _show_post(self, entry: Entry, *, fetch: bool = False) -> None:
        """Show ``entry`` with its cached comments at once; with ``fetch``, also fetch its
        comment feed in the background (the tree fills in when it arrives)."""
        before = self.post.entry
        self.post.show(entry)
        if before is not None and before.id == entry.id and not fetch:
            return
        api = self.reader.api
        try:
            comments = api.comments(entry.id)
            state = api.comment_state(entry.id)
            target = api.comment_target(entry.id) if fetch else None
        except CarefeedError as exc:
            self.notify(render.message(str(exc)), severity="error", markup=False)
            return
        seen = state.seen_at
        new_ids = {c.id for c in comments if seen is not None and c.first_seen > seen}
        fetching = target is not None and target.url is not None
        error = (target.refused if target is not None else None) or state.error
        self.post.set_comments(entry.id, comments, error=error, fetching=fetching, new_ids=new_ids)
        if fetching:
            self.fetch_comments(entry.id, seen)

    @work(exclusive=True, group="comments", exit_on_error=False)
    async def fetch_comments(self, entry_id: int, seen: datetime | None) -> None:
        """One post's comment feed, fetched now; a failure is one line in the post."""
        api = self.reader.api
        try:
            event = await api.refresh_comments(entry_id)
        except CarefeedError as exc:
            event = CommentEvent(entry_id, None, PollStatus.ERROR, error=str(exc))
        shown = self.post.entry
        if shown is None or shown.id != entry_id:
            return
        try:
            comments = api.comments(entry_id)
            if comments or event.url is not None:
                api.mark_comments_seen(entry_id)
        except CarefeedError as exc:
            self.notify(render.message(str(exc)), severity="error", markup=False)
            return
        new_ids = {c.id for c in comments if seen is not None and c.first_seen > seen}
        updated = replace(shown, comments_stored=len(comments), comments_seen=len(comments))
        self.entries.update_entry(updated)
        self.post.show(updated)
        self.post.set_comments(
            entry_id, comments, error=event.error if event.url else None, new_ids=new_ids
        )
        if self._want_comments == entry_id:
            self._want_comments = None
            if comments and self.focused is self.post:
                self.post.focus_comments()

    def action_comments(self) -> None:
        """c: to the comments of the post being read (or under the cursor)."""
        entry = self._target()
        if entry is None:
            self.notify("No post selected.", markup=False)
            return
        if self.post.entry is None or self.post.entry.id != entry.id:
            self._show_post(entry, fetch=True)
        if not self.post.focus_comments():
            self._want_comments = entry.id if self.post.fetching else None

    @property
    def _in_post(self) -> bool:
        return self.focused is self.post or self.focused is self.post.comment_tree

    def _mark(
        self, entry: Entry, *, read: bool | None = None, starred: bool | None = None
    ) -> Entry:
        try:
            if read is not None:
                self.reader.api.set_read([entry.id], read)
            if starred is not None:
                self.reader.api.set_starred([entry.id], starred)
        except CarefeedError as exc:
            self.notify(render.message(str(exc)), severity="error", markup=False)
            return entry
        changed = self.entries.set_marks(entry, read=read, starred=starred)
        if self.post.entry is not None and self.post.entry.id == entry.id:
            self.post.show(changed)
        self._schedule_counts()
        return changed

    @on(Sidebar.Chosen)
    def _place_chosen(self, message: Sidebar.Chosen) -> None:
        place = message.place
        search = self.view.search
        if place.kind == "all":
            view = View(search=search)
        elif place.kind == "unread":
            view = View(unread=True, search=search)
        elif place.kind == "starred":
            view = View(starred=True, search=search)
        elif place.kind == "saved" and place.saved is not None:
            saved = place.saved.view
            if saved.filter is None:
                self.notify(
                    render.message(saved.error or saved.name),
                    title="Saved filter",
                    severity="error",
                    markup=False,
                )
                return
            view = View(saved=saved.name, query=saved.filter.query, search=search)
        elif place.kind == "tag":
            view = View(tags=(place.name,), unread=self.view.unread, search=search)
        elif place.kind == "feed" and place.feed is not None:
            view = View(
                feed_id=place.feed.id,
                feed_title=place.feed.display_title,
                unread=self.view.unread,
                search=search,
            )
        else:
            return
        self.set_view(replace(view, search_query=self.view.search_query))
        self.entries.focus()

    # ----------------------------------------------------------------- counts

    def refresh_counts(self) -> None:
        """Sidebar numbers from a pool thread (hundreds of ms on a big cache)."""

        def job(api: Carefeed) -> SidebarCounts:
            saved = [
                SavedCount(
                    view,
                    None
                    if view.filter is None
                    else api.count_entries(replace(view.filter, unread=True)),
                )
                for view in api.saved_filters()
            ]
            return SidebarCounts(
                feeds=api.feeds(),
                tags=api.tag_counts(),
                saved=saved,
                # a cross-post is one post; mute rules hide what they match
                total=api.count_entries(EntryFilter()),
                unread=api.count_entries(EntryFilter(unread=True)),
                starred=api.count_entries(EntryFilter(starred=True)),
            )

        self.reader.pool.submit(job, self._counts_arrived, group="sidebar")

    def _counts_arrived(self, counts: SidebarCounts) -> None:
        feeds = counts.feeds
        self.sidebar.fill(
            feeds,
            counts.tags,
            unread=counts.unread,
            starred=counts.starred,
            total=counts.total,
            saved=counts.saved,
        )
        self.status.set_feed(self._listed_feed())  # a poll may have mended or broken it
        self.has_feeds = bool(feeds)
        polled = [f.last_fetch for f in feeds if f.last_fetch is not None]
        if not self.is_polling:
            self.status.poll_done(max(polled) if polled else None)
        if not feeds and self.entries.total == 0:
            self.post.show(None, has_feeds=False)
            if not self._offered_welcome and not self.reader.poll_on_start:
                self._offered_welcome = True
                self.offer_first_run()

    def _schedule_counts(self, delay: float = 0.5) -> None:
        """Sidebar numbers again soon: marks and polls come in bursts."""
        if self._counts_timer is not None:
            self._counts_timer.stop()
            self._counts_timer = None
        if self.reader.preview_delay <= 0:  # tests: no timers, so no races with snapshots
            self.refresh_counts()
            return
        self._counts_timer = self.set_timer(delay, self.refresh_counts)

    def _schedule_reload(self, delay: float = 1.0) -> None:
        if self._reload_timer is not None:
            return
        self._reload_timer = self.set_timer(delay, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        self.categories = self.topic_counts = None
        self.entries.reload()

    # ----------------------------------------------------------------- first run

    def offer_first_run(self) -> None:
        from carefeed.tui.screens.welcome import WelcomeScreen

        bundled = find_bundled_opml()

        def chosen(choice: str | None) -> None:
            if choice == "import" and bundled is not None:
                self.import_file(bundled)
            elif choice == "add":
                self.action_add_feed()
            elif choice == "import_file":
                self.action_import_opml()

        self.app.push_screen(WelcomeScreen(bundled), chosen)

    # ----------------------------------------------------------------- actions

    def action_cycle(self, step: int) -> None:
        panes = [self.sidebar, self.entries, self.post]
        focused = self.focused
        index = next((i for i, p in enumerate(panes) if focused is p), 0 if step > 0 else 1)
        panes[(index + step) % len(panes)].focus()

    def on_key(self, event: events.Key) -> None:
        """Textual routes a key to the widget focused when it *arrived* and runs bindings
        only after it bubbles up, so in a burst ("/fund" typed fast, or pasted) the
        letters after "/" reach the list before "/" has moved focus. Open the search box
        here, synchronously, and hand the rest of the burst to it. Escape always leaves
        the search box, whatever key [reader.keys] gives "clear"."""
        if event.key == "escape" and self.focused is self.search_input:
            self._close_search()
            event.stop()
            event.prevent_default()
            return
        if not (event.is_printable and event.character):
            return
        search_keys = self.reader.keys.effective.get("search", ["slash"])
        if event.key in search_keys and not isinstance(self.focused, Input):
            self.action_search()
        elif isinstance(self.focused, Input):  # an Input stops its own keys: this one
            self.focused.insert_text_at_cursor(event.character)  # came from elsewhere
        else:
            return
        event.stop()
        event.prevent_default()

    def action_search(self) -> None:
        box = self.search_input
        box.display = True
        # focus now, not via Widget.focus()'s call_later: keys typed right after "/" in
        # the same burst (a fast typist, a paste) must land in the box, not on the list
        self.set_focus(box)

    @on(Input.Changed, "#search")
    def _search_typed(self, event: Input.Changed) -> None:
        """Re-list as the user types; the box speaks the filter language (query.py), so
        a half-typed or malformed query keeps the last results and says what is wrong."""
        text = event.value
        if text == self.view.search:
            return
        box = self.search_input
        try:
            app = self.reader
            query = app.api.filter_from_query(text, now=app.clock()).query if text.strip() else None
        except QueryError as exc:
            box.set_class(True, "-invalid")
            self.status.set_filter(render.plain(search_problem(exc, text), max_len=200))
            return
        box.set_class(False, "-invalid")
        self.set_view(replace(self.view, search=text, search_query=query))

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        if not self.search_input.value:
            self.search_input.display = False
        self.entries.focus()

    def _close_search(self) -> None:
        box = self.search_input
        box.display = False
        if box.value:
            box.value = ""
        box.set_class(False, "-invalid")
        if self.view.search:
            self.set_view(replace(self.view, search="", search_query=None))
        else:
            self.status.set_filter(self._filter_words())  # drop a query error shown
        self.entries.focus()

    def action_clear_filter(self) -> None:
        if self.focused is self.search_input:
            self._close_search()
            return
        self.search_input.display = False
        with self.search_input.prevent(Input.Changed):
            self.search_input.value = ""
        if self.view.is_filtered:
            self.set_view(View())
        self.sidebar.highlight_place(Place("all"))
        self.entries.focus()

    def action_back(self) -> None:
        if self._in_post or self.focused is self.sidebar:
            self.entries.focus()
        elif self.focused is self.search_input:
            self._close_search()
        else:
            self.app.exit()

    def action_toggle_unread(self) -> None:
        self.set_view(replace(self.view, unread=not self.view.unread, starred=False))

    def action_toggle_read(self) -> None:
        entry = self._target()
        if entry is not None:
            self._mark(entry, read=not entry.read)

    def action_toggle_star(self) -> None:
        entry = self._target()
        if entry is not None:
            self._mark(entry, starred=not entry.starred)

    def _target(self) -> Entry | None:
        """The post the keys act on: the one shown when reading it, else the cursor's."""
        if self._in_post and self.post.entry is not None:
            current = self.entries.current
            if current is not None and current.id == self.post.entry.id:
                return current
            return self.post.entry
        return self.entries.current

    def action_open_link(self) -> None:
        entry = self._target()
        if entry is None:
            return
        url = openable(entry.link)
        if url is None:
            shown = render.clean(entry.link, max_len=60) or "none"
            self.notify(
                f"Not opened: the post's link is not a web address ({shown})",
                severity="warning",
                markup=False,
            )
            return
        self.open_in_browser(url)
        if not entry.read:
            self._mark(entry, read=True)

    @work(thread=True, exit_on_error=False, group="browser")
    def open_in_browser(self, url: str) -> None:
        """$BROWSER (or the system's) gets one argument: the re-serialised URL."""
        browser = browser_for_env()
        try:
            ok = browser.open(url) if browser is not None else webbrowser.open(url)
        except (OSError, webbrowser.Error) as exc:
            self.app.notify(render.message(f"No browser: {exc}"), severity="error", markup=False)
            return
        if not ok:
            self.app.notify("The browser did not start", severity="warning", markup=False)

    def action_pick_tags(self) -> None:
        from carefeed.tui.screens.tag_picker import Picked, TagPicker

        picker = TagPicker(
            self.sidebar.tags,
            self.categories,
            topics=self.topic_counts,
            selected=self.view.tags,
            selected_topics=self.view.topics,
        )
        if self.categories is None or self.topic_counts is None:

            def job(api: Carefeed) -> tuple[list[LabelCount], list[LabelCount]]:
                return api.category_counts(CATEGORY_LIMIT), api.topic_counts()

            def arrived(counts: tuple[list[LabelCount], list[LabelCount]]) -> None:
                self.categories, self.topic_counts = counts
                if picker.is_attached:
                    picker.set_categories(*counts)

            self.reader.pool.submit(job, arrived, group="categories")

        def chosen(picked: Picked | None) -> None:
            if picked is None:
                return
            self.set_view(
                replace(
                    self.view,
                    tags=picked.tags,
                    topics=picked.topics,
                    feed_id=None,
                    feed_title=None,
                )
            )
            self.entries.focus()

        self.app.push_screen(picker, chosen)

    def show_topic(self, topic: str) -> None:
        """List one topic's posts (the palette's "Topic: …")."""
        self.set_view(View(topics=(topic,), unread=self.view.unread))
        self.entries.focus()

    def action_digest(self, fmt: str = "md") -> None:
        """Write a briefing (carefeed digest) of what the list shows to a file in the
        current folder, and say where; on a pool thread (it reads up to 200 posts)."""
        from carefeed.digest import FORMATS
        from carefeed.digest import render as render_digest
        from carefeed.files import write_atomic

        if fmt not in FORMATS:
            return
        flt = self.view.to_filter()
        title = "Reading list: " + self._filter_words().plain
        stamp = self.reader.clock().strftime("%Y-%m-%d-%H%M")
        folder = Path.cwd() if os.access(Path.cwd(), os.W_OK) else Path.home()
        path = folder / f"carefeed-briefing-{stamp}.{fmt}"

        def job(api: Carefeed) -> tuple[int, int]:
            digest = api.digest(flt, title=title)
            write_atomic(path, render_digest(digest, fmt))
            return digest.posts, digest.topics

        def done(result: tuple[int, int]) -> None:
            posts, topics = result
            self.notify(
                f"Wrote {posts} posts in {topics} topics to {render.clean(str(path), max_len=300)}",
                title="Briefing",
                markup=False,
            )

        def failed(error: BaseException) -> None:
            self.notify(
                render.message(str(error)), title="Briefing", severity="error", markup=False
            )

        self.reader.pool.submit(job, done, group="digest", failed=failed)

    def action_feed_errors(self) -> None:
        from carefeed.tui.screens.feed_errors import FeedErrorsScreen

        failing = [f for f in self.sidebar.feeds if f.error or f.gone]
        if not failing:
            self.notify("No feed has failed its last poll.", markup=False)
            return
        place = self.sidebar.highlighted_place
        first = place.feed.id if place is not None and place.feed is not None else None
        self.app.push_screen(FeedErrorsScreen(failing, first))

    def action_add_feed(self) -> None:
        from carefeed.tui.screens.add_feed import AddFeedScreen

        def chosen(url: str | None) -> None:
            if url:
                self.add_feed(url)

        self.app.push_screen(AddFeedScreen(), chosen)

    @work(exclusive=True, group="add", exit_on_error=False)
    async def add_feed(self, url: str) -> None:
        self.notify(f"Adding {render.clean(url, max_len=80)}…", markup=False, timeout=3)
        try:
            result = await self.reader.api.add_feed(url)
        except PollRunningError as exc:
            self.notify(render.message(str(exc)), severity="warning", markup=False)
            return
        except CarefeedError as exc:
            self.notify(render.message(str(exc)), title="Not added", severity="error", markup=False)
            return
        name = render.clean(result.feed.display_title, max_len=80)
        if not result.created:
            self.notify(f"Already subscribed: {name}", markup=False)
        else:
            event = result.event
            if event is not None and event.status in (PollStatus.ERROR, PollStatus.GONE):
                self.notify(
                    render.message(f"Added {name}, but its first poll failed: {event.error}"),
                    severity="warning",
                    markup=False,
                )
            else:
                posts = event.new if event is not None else 0
                self.notify(f"Added {name}: {posts} posts", markup=False)
        self._reload_now()
        self.refresh_counts()

    def action_import_opml(self) -> None:
        from carefeed.tui.screens.import_opml import ImportOpmlScreen

        def chosen(path: str | None) -> None:
            if path:
                self.import_file(Path(path).expanduser())

        self.app.push_screen(ImportOpmlScreen(find_bundled_opml()), chosen)

    def action_import_bundled(self) -> None:
        bundled = find_bundled_opml()
        if bundled is None:
            self.notify(
                "No feeds.opml found here; press a to add a feed, or i to import a file.",
                severity="warning",
                markup=False,
            )
            return
        self.import_file(bundled)

    def import_file(self, path: Path) -> None:
        """Import on a pool thread (OPML files may be large), then poll."""

        def job(api: Carefeed) -> ImportReport:
            return api.import_opml(path)

        def failed(error: BaseException) -> None:
            text = (
                str(error)
                if isinstance(error, CarefeedError)
                else f"{type(error).__name__}: {error}"
            )
            self.notify(render.message(text), title="Import failed", severity="error", markup=False)

        def done(report: ImportReport) -> None:
            text = f"Imported {len(report.added)} feeds from {path.name}"
            if report.existing:
                text += f" ({len(report.existing)} already there)"
            if report.refused:
                first = report.refused[0]
                text += f"; {len(report.refused)} refused, e.g. {first.where}: {first.reason}"
            self.notify(render.message(text), markup=False)
            self.refresh_counts()
            if report.added:
                self.action_poll()

        self.reader.pool.submit(job, done, failed=failed)

    # ----------------------------------------------------------------- polling

    @property
    def is_polling(self) -> bool:
        return any(w.group == "poll" and w.is_running for w in self.workers)

    def action_poll(self) -> None:
        if self.is_polling:
            self.notify("A poll is already running.", markup=False)
            return
        self.poll_feeds()

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll_feeds(self) -> None:
        """Poll every feed (those backing off after errors wait their turn); the list
        and sidebar update as feeds finish."""
        api = self.reader.api
        try:
            total = len(api.feeds_to_poll())
        except CarefeedError as exc:
            self.notify(render.message(str(exc)), severity="error", markup=False)
            return
        if total == 0:
            self.notify("Nothing to poll: no feeds, or all are backing off.", markup=False)
            return
        self.status.set_polling(0, total)
        done = new = failed = 0
        comments: tuple[int, int] | None = None
        try:
            async for event in api.poll():
                done += 1
                new += event.new
                failed += event.status in (PollStatus.ERROR, PollStatus.GONE)
                self.post_message(PollProgressed(done, total))
                self.post_message(FeedPolled(event))
            if api.settings.reader_poll_comments:
                comments = await self._poll_comments(api)
        except PollRunningError as exc:
            self.notify(
                render.message(str(exc)), title="Not polled", severity="warning", markup=False
            )
        except CarefeedError as exc:
            self.notify(
                render.message(str(exc)), title="Poll failed", severity="error", markup=False
            )
        except Exception as exc:  # a bug below us must not take the reader (or the cache) down
            self.notify(
                render.message(f"{type(exc).__name__}: {exc}"),
                title="Poll stopped",
                severity="error",
                markup=False,
            )
        finally:
            self.status.poll_done(self.reader.clock() if done else None)
        if done:
            text = f"Polled {done} feeds: {new} new posts"
            if failed:
                text += f", {failed} failed (press {self.reader.keys.keys_for('errors')})"
            if comments is not None and comments[0]:
                text += f"; comments of {comments[0]} posts: {comments[1]} new"
            self.notify(text, markup=False, severity="warning" if failed else "information")
        self._reload_now()
        self.refresh_counts()

    async def _poll_comments(self, api: Carefeed) -> tuple[int, int]:
        """R's second half (``[reader] poll_comments``): comment feeds under the rules of
        ``poll --comments``, counted in the status line; the list and the open post
        update as comments arrive. Returns (comment feeds done, new comments)."""
        targets = api.comment_targets()
        done = new = 0
        if not targets:
            return done, new
        self.status.set_polling(0, len(targets))
        async for event in api.poll_comments(targets):
            done += 1
            new += event.new
            self.post_message(PollProgressed(done, len(targets)))
            if event.new:
                self._schedule_reload()
                shown = self.post.entry
                if shown is not None and shown.id == event.entry_id:
                    self._refresh_open_comments(event.entry_id)
        return done, new

    def _refresh_open_comments(self, entry_id: int) -> None:
        """New comments on the post being read: into its tree, marked new."""
        api = self.reader.api
        try:
            comments = api.comments(entry_id)
            seen = api.comment_state(entry_id).seen_at
        except CarefeedError:
            return
        new_ids = {c.id for c in comments if seen is not None and c.first_seen > seen}
        self.post.set_comments(entry_id, comments, new_ids=new_ids)

    def on_poll_progressed(self, message: PollProgressed) -> None:
        if self.is_polling:
            self.status.set_polling(message.done, message.total)

    def on_feed_polled(self, message: FeedPolled) -> None:
        event = message.event
        if event.new or event.updated or event.new_comments:
            self._schedule_reload()
        self._schedule_counts(1.0)

    def current_time(self) -> datetime:
        return self.reader.clock()
