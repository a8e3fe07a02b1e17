"""The limits and intervals a user may tune, read from ``config.toml``.

Every limit that protects carefeed from a hostile server is a setting with a safe default
(HOSTILE.md §5), so that tests can shrink them to seconds and kilobytes and users with odd
feeds can raise them. Unknown keys and bad values are reported, never silently used.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from carefeed.errors import CarefeedError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    body_cap: int = 10 * MIB  # decoded bytes of one feed
    opml_cap: int = 20 * MIB  # bytes of an OPML file to import
    deadline: float = 30.0  # seconds for one feed's whole fetch, redirects and body included
    connect_timeout: float = 10.0
    read_timeout: float = 15.0
    max_redirects: int = 5
    concurrency: int = 16  # feeds fetched at once
    per_host: int = 2  # feeds fetched at once from one host
    parse_timeout: float = 10.0  # seconds one feed may spend in the parser process
    parse_memory: int = 1024 * MIB  # address-space cap of a parser process
    max_entries: int = 5000  # newest posts kept from one document
    parse_workers: int = 2  # parser processes (the machines here have 2 cores)
    comment_body_cap: int = 2 * MIB  # decoded bytes of one post's comment feed


@dataclass(frozen=True)
class Settings:
    limits: Limits = field(default_factory=Limits)
    interval: int = 3600  # seconds between polls of one feed (`poll --due`)
    max_backoff: int = 86400  # back-off after repeated errors never exceeds this
    max_defer: int = 7 * 86400  # Retry-After / max-age are honoured up to this
    comment_days: int = 14  # `poll --comments` refreshes posts younger than this…
    comment_budget: int = 100  # …with at most this many comment-feed requests per poll
    # after each poll, delete read, unstarred posts older than this many days that their
    # feed no longer lists (`carefeed prune`); 0 keeps every post
    keep_read_days: int = 0
    # [reader.keys]: (action name, keys) pairs, e.g. ("star", "S"); the reader checks
    # the names and keys when it starts and reports the bad ones
    reader_keys: tuple[tuple[str, str], ...] = ()
    # [reader] poll_comments: the reader's poll (R, and at start) also refreshes comment
    # feeds, as `poll --comments` does
    reader_poll_comments: bool = True
    filters: tuple[SavedFilter, ...] = ()  # [filters]: name = "query", in file order
    mute: tuple[str, ...] = ()  # mute = ["query", …]: posts matching any are hidden everywhere


@dataclass(frozen=True)
class SavedFilter:
    """A named filter query from ``[filters]`` ("Funding this week" = "topic:fund since:7d"):
    a sidebar entry with its unread count, like newsboat's query feeds."""

    name: str
    query: str


class SettingsError(CarefeedError):
    pass


def _coerce(cls: type[Any], table: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise SettingsError(f"{where}: unknown setting {key!r}")
        expected = type(getattr(cls(), key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) or value <= 0:
            raise SettingsError(f"{where}: {key} must be a positive {expected.__name__}")
        out[key] = value
    return out


def _reader_keys(reader: object, where: str) -> tuple[tuple[str, str], ...]:
    """``[reader.keys]``: action name = "keys" ("star = \"S\"", "down = \"n,down\"")."""
    if not isinstance(reader, dict):
        raise SettingsError(f"{where}: [reader] must be a table")
    keys = reader.get("keys", {})
    if not isinstance(keys, dict):
        raise SettingsError(f'{where}: [reader.keys] must be a table of action = "keys"')
    for name, value in keys.items():
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f'{where} [reader.keys]: {name} must be keys, e.g. "S" or "s,S"')
    return tuple(keys.items())


def _reader_poll_comments(reader: object, where: str) -> bool:
    value = reader.get("poll_comments", True) if isinstance(reader, dict) else True
    if not isinstance(value, bool):
        raise SettingsError(f"{where} [reader]: poll_comments must be true or false")
    return value


def _saved_filters(table: object, where: str) -> tuple[SavedFilter, ...]:
    if not isinstance(table, dict):
        raise SettingsError(f'{where}: [filters] must be a table of name = "query"')
    for name, query in table.items():
        if not isinstance(query, str) or not query.strip():
            raise SettingsError(f'{where} [filters]: "{name}" must be a query, e.g. "topic:fund"')
    return tuple(SavedFilter(name, query) for name, query in table.items())


def _mute_rules(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(q, str) and q.strip() for q in value):
        raise SettingsError(f'{where}: mute must be a list of queries, e.g. ["tag:Sponsored"]')
    return tuple(value)


def load_settings(path: Path) -> Settings:
    """Read ``config.toml``; a missing file means the defaults."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    limits_table = data.pop("limits", {})
    if not isinstance(limits_table, dict):
        raise SettingsError(f"{path}: [limits] must be a table")
    limits = replace(Limits(), **_coerce(Limits, limits_table, f"{path} [limits]"))
    top_keys = {
        "interval",
        "max_backoff",
        "max_defer",
        "comment_days",
        "comment_budget",
        "keep_read_days",
    }
    top = {k: v for k, v in data.items() if k in top_keys}
    unknown = set(data) - set(top) - {"reader", "filters", "mute"}
    if unknown:
        raise SettingsError(f"{path}: unknown setting {sorted(unknown)[0]!r}")
    probe = {k: v for k, v in _coerce(Settings, top, str(path)).items()}
    reader_keys = _reader_keys(data.get("reader", {}), str(path))
    return Settings(
        limits=limits,
        reader_keys=reader_keys,
        reader_poll_comments=_reader_poll_comments(data.get("reader", {}), str(path)),
        filters=_saved_filters(data.get("filters", {}), str(path)),
        mute=_mute_rules(data.get("mute", []), str(path)),
        **probe,
    )
