"""The records that travel between carefeed's layers.

Named by role, as lemon24/reader does: ``*Data`` is what a feed said (parse output),
``Feed``/``Entry`` are what the cache holds (with the user's state), ``FetchOutcome`` is
what one HTTP exchange produced, ``PollEvent`` is what one feed's poll amounted to.
All are frozen so that a record handed to another layer (or another process) cannot be
changed behind the back of whoever made it. No I/O here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    """The one clock carefeed reads, so tests and the poller agree on "now"."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------- from a feed


@dataclass(frozen=True)
class FeedData:
    """What a feed document says about itself; every string already cleaned by text.py."""

    title: str = ""
    site_url: str | None = None
    generator: str | None = None  # "WordPress …" lets the comments feature guess /feed/ URLs


@dataclass(frozen=True)
class EntryData:
    """One post as the feed gave it, cleaned; identity is ``guid`` within its feed."""

    guid: str
    title: str
    link: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""
    content: str = ""
    categories: tuple[str, ...] = ()
    comments_url: str | None = None  # the page where people comment (RSS <comments>)
    comments_feed: str | None = None  # wfw:commentRss or Atom link rel="replies"
    comment_count: int | None = None  # slash:comments or thr:total


@dataclass(frozen=True)
class ParsedFeed:
    """The result of parsing one document: the feed, its posts, and survivable problems."""

    feed: FeedData
    entries: tuple[EntryData, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommentData:
    """One comment as a comment feed gave it, cleaned; identity is ``guid`` within its post.

    ``in_reply_to`` is what the feed said the comment answers, unresolved: an Atom
    ``thr:in-reply-to`` ref (a comment's id, or the post's), or the ``#comment-N`` link of a
    WordPress "In reply to" marker. comments.py turns it into a parent, or none.
    """

    guid: str
    text: str
    link: str | None = None
    author: str | None = None
    author_link: str | None = None
    published: datetime | None = None
    in_reply_to: str | None = None
    in_reply_to_link: str | None = None  # thr:in-reply-to href, when given


@dataclass(frozen=True)
class ParsedComments:
    """The result of parsing one comment feed."""

    title: str
    comments: tuple[CommentData, ...]
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- HTTP


class FetchStatus(enum.StrEnum):
    OK = "ok"  # 200 with a body to parse
    NOT_MODIFIED = "not_modified"  # 304: nothing to parse
    GONE = "gone"  # 410: stop polling, keep the posts
    ERROR = "error"  # anything else; ``error`` says what in one line


@dataclass(frozen=True)
class FetchOutcome:
    """Everything the poller needs from one polite GET, and nothing about parsing."""

    url: str  # the URL asked for
    status: FetchStatus
    final_url: str = ""  # where the body came from after redirects
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # set when every hop was 301/308
    retry_after: float | None = None  # seconds, from Retry-After on 429/503
    max_age: float | None = None  # seconds, from Cache-Control on a 200/304
    error: str | None = None  # one clean line, for the user


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class TopicMatch:
    """A canonical social care topic a post is about (topics.py decides).

    ``inferred`` is True when the topic came from the post's title and summary because its
    categories said nothing useful (none, or only "News"/"Uncategorized"), so the reader
    can tell a blogger's own filing from carefeed's guess.
    """

    name: str
    inferred: bool = False


# --------------------------------------------------------------------------- the cache


@dataclass(frozen=True)
class Feed:
    """A subscription as stored, with its polling state."""

    id: int
    url: str
    title: str
    site_url: str | None
    tags: tuple[str, ...]
    added: datetime
    last_fetch: datetime | None = None
    last_ok: datetime | None = None
    error: str | None = None
    error_count: int = 0
    next_due: datetime | None = None
    interval: int | None = None  # seconds; None: the global setting
    gone: bool = False
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    warning: str | None = None
    entry_count: int = 0
    unread_count: int = 0
    # a site-wide comments feed with comments waiting for their post: the newest post id
    # of its site when it was last read in full (None: nothing waits)
    orphans_upto: int | None = None

    @property
    def display_title(self) -> str:
        return self.title or self.url


@dataclass(frozen=True)
class Entry:
    """A post as stored: what the feed said plus the reader's own marks."""

    id: int
    feed_id: int
    feed_title: str
    guid: str
    title: str
    link: str | None
    author: str | None
    published: datetime  # the feed's date, or first-seen time when it gave none
    updated: datetime | None
    summary: str
    content: str
    categories: tuple[str, ...]
    comments_url: str | None
    comments_feed: str | None
    comment_count: int | None
    read: bool
    starred: bool
    first_seen: datetime
    dated: bool = True  # False when ``published`` is only the first-seen time
    sort_time: int = 0  # the list's order key with ``id``: pass (sort_time, id) as ``before``
    comments_stored: int = 0  # comments in the cache
    comments_seen: int | None = None  # how many there were when the reader last opened them
    topics: tuple[TopicMatch, ...] = ()  # canonical topics, categories' first
    also_in: tuple[str, ...] = ()  # other feeds that carry the same post (cross-posts)

    @property
    def new_comments(self) -> int:
        """Comments that arrived since the reader last opened this post's comments."""
        if self.comments_seen is None:
            return 0
        return max(0, self.comments_stored - self.comments_seen)

    @property
    def page_key(self) -> tuple[int, int]:
        """The keyset position of this post; the next page starts after it."""
        return (self.sort_time, self.id)


@dataclass(frozen=True)
class Comment:
    """A comment as stored; ``parent`` is the id of the comment it answers (None: top level)."""

    id: int
    entry_id: int
    guid: str
    link: str | None
    author: str | None
    author_link: str | None
    published: datetime  # the feed's date, or first-seen time when it gave none
    text: str
    parent: int | None
    first_seen: datetime


@dataclass(frozen=True)
class CommentState:
    """A post's comment feed as the cache knows it: validators, when fetched, what failed,
    and when the reader last opened the post's comments (for "3 new")."""

    entry_id: int
    feed_url: str | None = None  # the comment feed fetched last time
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: datetime | None = None
    error: str | None = None
    seen_at: datetime | None = None  # when the user last read the comments
    seen_count: int | None = None  # how many comments there were then
    stored: int = 0  # comments in the cache


@dataclass(frozen=True)
class LabelCount:
    """A tag or category with how many posts carry it, for pickers and the sidebar."""

    name: str
    total: int
    unread: int


@dataclass(frozen=True)
class EntryFilter:
    """Which posts to list; every field narrows, ``None``/False means "any"."""

    feed: str | None = None  # feed URL, id, or a case-insensitive part of its title
    tags: tuple[str, ...] = ()  # each a blog category or feed tag (OPML folder); all must match
    unread: bool = False
    starred: bool = False
    search: str | None = None  # full text (FTS5) over title, summary, content, categories
    query: QueryNode | None = None  # a parsed, resolved filter query (query.py), ANDed
    mute: tuple[QueryNode, ...] = ()  # each hides what it matches (AND NOT)
    topics: tuple[str, ...] = ()  # canonical topic names; all must match


# --------------------------------------------------------------------------- polling


@dataclass(frozen=True)
class CommentTarget:
    """One post's comment feed to fetch: where, and the validators from last time."""

    entry_id: int
    url: str | None  # None: the post names no comment feed (and none can be guessed)
    refused: str | None = None  # why it will not be fetched (a different site, not http)
    etag: str | None = None
    last_modified: str | None = None
    comment_count: int | None = None  # what the post's feed says now


@dataclass(frozen=True)
class CommentEvent:
    """One post's comment feed fetched (or refused): how many comments are new."""

    entry_id: int
    url: str | None
    status: PollStatus
    new: int = 0
    total: int = 0
    error: str | None = None


class PollStatus(enum.StrEnum):
    UPDATED = "ok"  # fetched and parsed; counts say what changed
    UNCHANGED = "unchanged"  # 200 with the same bytes as last time: not parsed again
    NOT_MODIFIED = "not_modified"  # 304
    ERROR = "error"
    GONE = "gone"


@dataclass(frozen=True)
class PollEvent:
    """One feed's poll, reported as it finishes (the progress bar and --json lines use it)."""

    feed_id: int
    url: str
    title: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    new_url: str | None = None  # the feed moved permanently to this address
    new_comments: int = 0  # a site-wide comments feed: comments it added under posts


@dataclass(frozen=True)
class PollSummary:
    """The totals a poll ends with."""

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    new: int = 0
    updated: int = 0
    failures: tuple[PollEvent, ...] = field(default=())


# --------------------------------------------------------------------------- OPML


@dataclass(frozen=True)
class Subscription:
    """A feed named by an OPML outline (or ``carefeed add``): where it is and how it is filed."""

    url: str
    title: str = ""
    site_url: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """An outline that was not imported, and why, so the user sees every one of them."""

    where: str  # the outline's title or URL, cleaned
    reason: str


@dataclass(frozen=True)
class OpmlDocument:
    subscriptions: tuple[Subscription, ...]
    refused: tuple[Refusal, ...] = ()
    title: str = ""


# --------------------------------------------------------------------------- update planning


@dataclass(frozen=True)
class EntryState:
    """What the store knows about a cached post when deciding whether to rewrite it."""

    guid: str
    hash: str
    updated: datetime | None
    hash_changes: int


@dataclass(frozen=True)
class EntryIntent:
    """A post to insert or rewrite (user state is never part of it)."""

    data: EntryData
    hash: str
    is_new: bool
    hash_changes: int = 0
    topics: tuple[TopicMatch, ...] = ()


@dataclass(frozen=True)
class FeedIntent:
    """Everything one poll writes to a feed's row, success or failure."""

    feed_id: int
    fetched_at: datetime
    next_due: datetime | None
    ok: bool
    error: str | None = None
    error_count: int = 0
    gone: bool = False
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_data: FeedData | None = None  # None: keep title/site as they are
    warning: str | None = None
    new_url: str | None = None
    orphans_upto: int | None = None  # written with feed_data (see Feed.orphans_upto)


# ---- filter language


@dataclass(frozen=True)
class Term:
    """One field test of a filter query (query.py reads and writes them).

    ``field`` is one of ``topic`` (a canonical topic, or a prefix before resolving),
    ``tag`` (a blog category or feed tag), ``feed`` (part of a feed's title, or its URL),
    ``author`` (part of the author's name), ``is`` (``unread``, ``read`` or ``starred``),
    ``has`` (``comments``), ``since`` and ``before`` (an ISO date or time once resolved;
    ``7d``, ``24h``, ``2w``, ``3m``, ``1y``, ``today`` before).
    """

    field: str
    value: str


@dataclass(frozen=True)
class Text:
    """Free words (each a prefix) or, with ``phrase``, a quoted phrase: full-text search."""

    value: str
    phrase: bool = False


@dataclass(frozen=True)
class AllOf:
    """Every part matches (``a b``; no parts: everything matches)."""

    parts: tuple[QueryNode, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part matches (``a or b``)."""

    parts: tuple[QueryNode, ...]


@dataclass(frozen=True)
class Not:
    """The part does not match (``-a``)."""

    part: QueryNode


QueryNode = Term | Text | AllOf | AnyOf | Not
