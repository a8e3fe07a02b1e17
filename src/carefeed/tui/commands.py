"""The command palette (ctrl+p): every action of the reader, the places of the sidebar
(All, Unread, Starred, saved filters, each tag, each feed), every topic, and a briefing of
the listed posts, beside Textual's own (themes, keys, screenshot).

Feed titles and tag names are feed text, and the palette turns a ``str`` prompt, and
every help line, into markup (``Content.from_markup``, HOSTILE.md F5). So a place's
prompt is ``Content`` made by :mod:`carefeed.tui.render` and highlighted here by offsets,
never a string; help lines are our own words and the keys from config.toml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from carefeed.text import NAME_MAX
from carefeed.tui import render
from carefeed.tui.screens.main import MainScreen
from carefeed.tui.widgets.sidebar import Place, Sidebar

# (prompt, help, action on MainScreen, its name in [reader.keys]): the same as the keys
ACTIONS: list[tuple[str, str, str, str]] = [
    ("Poll all feeds now", "fetch every feed; the list updates as posts arrive", "poll", "poll"),
    ("Filter by topic, tag or category", "pick one, or several with space", "pick_tags", "tags"),
    ("Search posts", "full text, results as you type", "search", "search"),
    ("Unread only", "show only unread posts (again: all)", "toggle_unread", "unread"),
    ("Clear the filter", "all posts", "clear_filter", "clear"),
    ("Toggle read", "mark the post read or unread", "toggle_read", "read"),
    ("Toggle star", "star or unstar the post", "toggle_star", "star"),
    ("Comments", "the post's comments as a thread", "comments", "comments"),
    ("Open in browser", "the post's web page", "open_link", "browser"),
    ("Add a feed", "subscribe by address", "add_feed", "add"),
    ("Import OPML", "import a subscription list", "import_opml", "import"),
    (
        "Import the bundled feeds",
        "the UK social care list that comes with carefeed",
        "import_bundled",
        "import_bundled",
    ),
    ("Feed errors", "feeds whose last poll failed, and why", "feed_errors", "errors"),
    ("Next pane", "sidebar, list, post", "cycle(1)", "next_pane"),
    ("Help", "every key", "help", "help"),
]

# the formats of `carefeed digest` the palette offers for the listed posts
BRIEFINGS = [("md", "Markdown"), ("html", "web page"), ("csv", "spreadsheet")]

# the sidebar's fixed places
PLACES: list[tuple[str, str, Place]] = [
    ("All posts", "every post of every feed", Place("all")),
    ("Unread posts", "posts you have not opened", Place("unread")),
    ("Starred posts", "posts you starred", Place("starred")),
]


@dataclass(frozen=True)
class Command:
    text: str  # what the query is matched against (our words + cleaned feed text)
    prompt: Content  # the same, literal
    help: str  # our words only: the palette parses it as markup
    run: Callable[[], object]


class ReaderCommands(Provider):
    """The reader's actions and places, offered when the palette opens over the main
    screen."""

    def _commands(self) -> Iterator[Command]:
        screen = self.screen
        if not isinstance(screen, MainScreen):
            return
        from carefeed.tui.app import CarefeedApp

        app = self.app
        keys = app.keys if isinstance(app, CarefeedApp) else None
        for prompt, help_text, action, name in ACTIONS:
            key = keys.keys_for(name) if keys is not None else ""
            shown_help = f"{key}: {help_text}" if key else help_text
            if action == "help":
                run: Callable[[], object] = partial(self.app.run_action, "help")
            else:
                run = partial(screen.run_action, action)
            yield Command(prompt, Content(prompt), shown_help, run)
        for prompt, help_text, place in PLACES:
            yield Command(prompt, Content(prompt), help_text, partial(self._go, place))
        for fmt, kind in BRIEFINGS:
            yield Command(
                f"Briefing of this list ({kind})",
                Content(f"Briefing of this list ({kind})"),
                "the listed posts grouped by topic, written to a file in this folder",
                partial(screen.run_action, f"digest('{fmt}')"),
            )
        sidebar = screen.sidebar
        for item in sidebar.saved:
            name = render.clean(item.view.name, max_len=NAME_MAX)
            yield Command(
                f"Filter: {name}",
                Content.assemble("Filter: ", render.plain(item.view.name, max_len=NAME_MAX)),
                "a saved filter from config.toml",
                partial(self._go, Place("saved", item.view.name, saved=item)),
            )
        for topic in screen.reader.api.taxonomy.topics:
            yield Command(
                f"Topic: {topic.name}",
                Content.assemble("Topic: ", render.plain(topic.name, max_len=NAME_MAX)),
                "posts about this topic, whatever each blog calls it",
                partial(screen.show_topic, topic.name),
            )
        for tag in sidebar.tags:
            name = render.clean(tag.name, max_len=NAME_MAX)
            yield Command(
                f"Tag: {name}",
                Content.assemble("Tag: ", render.plain(tag.name, max_len=NAME_MAX)),
                "list the posts of this tag",
                partial(self._go, Place("tag", tag.name)),
            )
        for feed in sidebar.feeds:
            title = feed.display_title
            name = render.clean(title, max_len=NAME_MAX)
            failing = " (its last poll failed: see Feed errors)" if feed.error or feed.gone else ""
            yield Command(
                f"Feed: {name}",
                Content.assemble("Feed: ", render.plain(title, max_len=NAME_MAX)),
                "list this feed's posts" + failing,
                partial(self._go, Place("feed", title, feed)),
            )

    def _go(self, place: Place) -> None:
        """What choosing the place in the sidebar does."""
        screen = self.screen
        if isinstance(screen, MainScreen):
            screen.sidebar.highlight_place(place)
            screen.sidebar.post_message(Sidebar.Chosen(place))

    async def discover(self) -> Hits:
        for command in self._commands():
            if not command.text.startswith(("Tag: ", "Feed: ", "Topic: ", "Filter: ")):
                yield DiscoveryHit(
                    command.prompt, command.run, text=command.text, help=command.help
                )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.text)
            if score > 0:
                yield Hit(
                    score,
                    highlight(matcher, command),
                    command.run,
                    text=command.text,
                    help=command.help,
                )


def highlight(matcher: Matcher, command: Command) -> Content:
    """The prompt with the matched letters styled, by offset (``Matcher.highlight`` would
    read the text as markup)."""
    content = command.prompt
    _score, offsets = matcher.fuzzy_search.match(matcher.query, command.text)
    for offset in offsets:
        if offset < len(command.text) and not command.text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
