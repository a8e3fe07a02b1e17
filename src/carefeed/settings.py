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
    top_keys = {"interval", "max_backoff", "max_defer", "comment_days", "comment_budget"}
    top = {k: v for k, v in data.items() if k in top_keys}
    unknown = set(data) - set(top) - {"reader"}
    if unknown:
        raise SettingsError(f"{path}: unknown setting {sorted(unknown)[0]!r}")
    probe = {k: v for k, v in _coerce(Settings, top, str(path)).items()}
    return Settings(limits=limits, **probe)
