"""Messages the reader's workers and widgets post, named in the past tense (Harlequin).

Handlers only update widgets; the work happened before the message was sent. Poll
progress can be replaced by a newer one in the queue (Toolong's ``can_replace``), so a
poll of a thousand feeds cannot flood the screen with stale progress.
"""

from __future__ import annotations

from textual.message import Message

from carefeed.model import Entry, PollEvent


class PollProgressed(Message):
    """``done`` of ``total`` feeds polled so far."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PollProgressed)


class FeedPolled(Message):
    """One feed's poll finished (posts may have arrived)."""

    def __init__(self, event: PollEvent) -> None:
        super().__init__()
        self.event = event


class EntryHighlighted(Message):
    """The list's cursor is on a post (the post pane previews it)."""

    def __init__(self, entry: Entry | None) -> None:
        super().__init__()
        self.entry = entry

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EntryHighlighted)


class EntryOpened(Message):
    """Enter (or a click) on a post: show it and mark it read."""

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry


class ListCounted(Message):
    """The list learned how many posts its view holds."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
