"""Parse-only baseline: one process, a loop over feed files, no fetching and no cache.

Usage: ``python bench/parseonly.py feedparser|carefeed FILE...``; prints one JSON line
(``feeds``, ``seconds``, ``entries``). ``feedparser`` is a plain ``feedparser.parse`` with
its defaults (HTML sanitising on), what most Python feed readers do; ``carefeed`` is
``carefeed.parse.parse_feed``, the function the poller's parser processes run.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    mode, files = argv[0], [Path(p) for p in argv[1:]]
    bodies = [p.read_bytes() for p in files]
    entries = 0
    if mode == "feedparser":
        import feedparser

        start = time.perf_counter()
        for body in bodies:
            entries += len(feedparser.parse(io.BytesIO(body)).entries)
    elif mode == "carefeed":
        from carefeed.parse import parse_feed

        start = time.perf_counter()
        for path, body in zip(files, bodies, strict=True):
            kind = "application/atom+xml" if path.suffix == ".atom" else "application/rss+xml"
            entries += len(parse_feed(body, "http://127.0.0.1/feed/", kind).entries)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - start
    print(json.dumps({"feeds": len(bodies), "seconds": seconds, "entries": entries}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
