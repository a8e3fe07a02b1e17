"""carefeed's exceptions, one tree so callers can catch at the depth they care about.

::

    CarefeedError
    ├── FeedError            one feed went wrong; the poll goes on with the others
    │   ├── FetchError       the HTTP exchange failed (timeout, cap, status, TLS…)
    │   └── ParseError       the bytes are not a feed we can read
    ├── OpmlError            an OPML file cannot be read at all
    ├── InvalidUrlError      a URL given by the user or an OPML outline is refused
    ├── FeedNotFoundError    no subscription matches
    ├── EntryNotFoundError   no post with that id
    ├── PollRunningError     another process is polling this cache
    ├── QueryError           a filter query cannot be read (says where and why)
    ├── TopicError           a topic name matches none or several; a bad topics.toml
    └── StoreError           the cache cannot be used
        ├── CorruptCacheError    not a SQLite file, or damaged
        └── SchemaVersionError   another program's database, or a newer carefeed's

Every message is one line meant for a person: it names the thing and the cause,
never a traceback, and contains only cleaned text.
"""

from __future__ import annotations


class CarefeedError(Exception):
    """Base class: anything carefeed reports to the user on purpose."""


class FeedError(CarefeedError):
    pass


class FetchError(FeedError):
    pass


class ParseError(FeedError):
    pass


class OpmlError(CarefeedError):
    pass


class InvalidUrlError(CarefeedError):
    pass


class FeedNotFoundError(CarefeedError):
    pass


class EntryNotFoundError(CarefeedError):
    pass


class PollRunningError(CarefeedError):
    pass


class QueryError(CarefeedError):
    """A malformed filter query; ``position`` is the 0-based character offset of the
    problem, so the CLI and the reader's search bar can point at it."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class TopicError(CarefeedError):
    pass


class StoreError(CarefeedError):
    pass


class CorruptCacheError(StoreError):
    pass


class SchemaVersionError(StoreError):
    pass
