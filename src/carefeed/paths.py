"""Where carefeed keeps its files.

One home for everything when ``--home DIR`` or ``CAREFEED_HOME`` is given (tests and
scripts get a private, throwaway cache that way); otherwise the platform's user data and
config folders, so the cache survives upgrades and sits where backups expect it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "carefeed"
HOME_ENV = "CAREFEED_HOME"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "cache.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def poll_lock(self) -> Path:
        return self.data_dir / "poll.lock"

    def ensure(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_dir.mkdir(parents=True, exist_ok=True)


def resolve_paths(home: str | os.PathLike[str] | None = None) -> Paths:
    """``home`` (the --home flag) wins over CAREFEED_HOME, which wins over platformdirs."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or None
    if chosen is not None:
        root = Path(chosen).expanduser().resolve()
        return Paths(data_dir=root, config_dir=root)
    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
    )
