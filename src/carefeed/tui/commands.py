"""The command palette (ctrl+p): every action of the reader, beside Textual's own
(themes, keys, screenshot). The prompts are our own words; no feed text is offered here,
because the palette highlights matches through ``Content.from_markup`` (HOSTILE.md F5)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from carefeed.tui.screens.main import MainScreen

# (prompt, help, action on MainScreen): the same actions as the keys
ACTIONS: list[tuple[str, str, str]] = [
    ("Poll all feeds now", "R: fetch every feed; the list updates as posts arrive", "poll"),
    ("Filter by tag or category", "t: pick one, or several with space", "pick_tags"),
    ("Search posts", "/: full text, results as you type", "search"),
    ("Unread only", "u: show only unread posts (again: all)", "toggle_unread"),
    ("Clear the filter", "escape: all posts", "clear_filter"),
    ("Toggle read", "r: mark the post read or unread", "toggle_read"),
    ("Toggle star", "s: star or unstar the post", "toggle_star"),
    ("Comments", "c: the post's comments as a thread", "comments"),
    ("Open in browser", "o: the post's web page", "open_link"),
    ("Add a feed", "a: subscribe by address", "add_feed"),
    ("Import OPML", "i: import a subscription list", "import_opml"),
    (
        "Import the bundled feeds",
        "I: the UK social care list that comes with carefeed",
        "import_bundled",
    ),
    ("Feed errors", "e: feeds whose last poll failed, and why", "feed_errors"),
    ("Help", "?: every key", "help"),
]


class ReaderCommands(Provider):
    """The reader's actions, offered when the palette opens over the main screen."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        if not isinstance(screen, MainScreen):
            return []
        found: list[tuple[str, str, Callable[[], object]]] = []
        for prompt, help_text, action in ACTIONS:
            if action == "help":
                found.append((prompt, help_text, partial(self.app.run_action, "help")))
            else:
                found.append((prompt, help_text, getattr(screen, f"action_{action}")))
        return found

    async def discover(self) -> Hits:
        for prompt, help_text, command in self._commands():
            yield DiscoveryHit(prompt, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for prompt, help_text, command in self._commands():
            score = matcher.match(prompt)
            if score > 0:
                yield Hit(score, matcher.highlight(prompt), command, help=help_text)
