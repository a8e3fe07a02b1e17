"""Private carefeed homes for tests: a config with small limits, the fixture feeds by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
CORPUS_MISSING = (
    "../shared/corpus not found: corpus tests need the shared folder beside the checkout"
)

SMALL_LIMITS: dict[str, float | int] = {
    "body_cap": 1048576,
    "deadline": 3.0,
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "parse_timeout": 5.0,
}


def make_home(path: Path, **limits: float | int) -> Path:
    """A home whose limits make hostile routes fail in seconds (``limits`` override)."""
    path.mkdir(parents=True, exist_ok=True)
    table = SMALL_LIMITS | limits
    lines = ["[limits]", *(f"{k} = {v!r}" for k, v in table.items())]
    (path / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def opml_for(feeds: dict[str, str], folder: str = "Practice blogs") -> bytes:
    """An OPML file naming ``{title: url}`` inside one folder."""
    from xml.sax.saxutils import quoteattr

    outlines = "\n".join(
        f'<outline type="rss" text={quoteattr(t)} title={quoteattr(t)} xmlUrl={quoteattr(u)}/>'
        for t, u in feeds.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>t</title>'
        f"</head><body><outline text={quoteattr(folder)}>{outlines}</outline></body></opml>"
    ).encode()


def run_cli(
    home: Path, *args: str, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``carefeed --home HOME ARGS`` in a subprocess, as a script would run it."""
    env = {k: v for k, v in os.environ.items() if k != "CAREFEED_HOME"}
    result = subprocess.run(
        [sys.executable, "-m", "carefeed", "--home", str(home), *args],
        capture_output=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"carefeed {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}"
        )
    return result


def cli_json(home: Path, *args: str) -> Any:
    return json.loads(run_cli(home, *args, "--json").stdout)
