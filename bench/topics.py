"""Topics benchmark: how long does a changed topics.toml take to re-tag a big cache? (issue 5)

Fills a throwaway home with N generated posts (bench/reader.py's generator: 200 feeds,
three categories each from a social care list, ~200-character summaries), then measures
in one run:

* scan: reading every post's categories, title and summary once (the floor: the I/O
  a re-tag cannot avoid), the baseline for the ratios;
* classify: the taxonomy's work alone over those rows (no writes);
* re-tag: ``Carefeed.ensure_topics()`` after a topics.toml edit, reads + classify + writes
  in batches of short transactions (what the reader runs in the background);
* the first-time tagging of an untagged cache, the same path.

Prints the figures and writes bench/out/topics.md. The goal: 100,000 posts in seconds.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from reader import fill  # bench/reader.py: the same generated cache


def scan(db_path: Path) -> tuple[float, list[tuple[tuple[str, ...], str, str]]]:
    db = sqlite3.connect(db_path)
    started = time.perf_counter()
    rows = [
        (tuple(json.loads(cats)), title, summary)
        for cats, title, summary in db.execute(
            "SELECT categories, title, CASE WHEN summary != '' THEN summary"
            " ELSE substr(content, 1, 1000) END FROM entries ORDER BY id"
        )
    ]
    took = time.perf_counter() - started
    db.close()
    return took, rows


def run(posts: int) -> str:
    from carefeed.api import Carefeed
    from carefeed.topics import load_taxonomy

    with tempfile.TemporaryDirectory(prefix="carefeed-topics-bench-") as tmp:
        home = Path(tmp)
        fill(home, posts, tag=False)
        with Carefeed.open(home) as api:
            db_path = api.store.path
            scan_s, rows = scan(db_path)
            taxonomy = api.taxonomy
            started = time.perf_counter()
            tagged = sum(bool(taxonomy.classify(*row)) for row in rows)
            classify_s = time.perf_counter() - started
            started = time.perf_counter()
            first = api.ensure_topics()
            first_s = time.perf_counter() - started
        (home / "topics.toml").write_text(
            '[topics."Funding and finance"]\naliases = ["Direct payments"]\n', encoding="utf-8"
        )
        with Carefeed.open(home) as api:
            assert api.taxonomy.fingerprint != taxonomy.fingerprint
            assert not api.topics_current()
            started = time.perf_counter()
            again = api.ensure_topics()
            retag_s = time.perf_counter() - started
            assert api.topics_current() and api.ensure_topics() == 0
            funding = next(c for c in api.topic_counts() if c.name == "Funding and finance")
        fresh = load_taxonomy(home / "topics.toml")
        assert fresh.fingerprint == api.taxonomy.fingerprint

    lines = [
        f"# Topics benchmark ({posts:,} posts)",
        "",
        f"{tagged:,} of {len(rows):,} posts get at least one topic; after the edit "
        f"{funding.total:,} are about Funding and finance.",
        "",
        "| step | seconds | posts/s | × scan |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds, count in (
        ("scan (read every post once: the baseline)", scan_s, len(rows)),
        ("classify only (no writes)", classify_s, len(rows)),
        ("first tagging of an untagged cache", first_s, first),
        ("re-tag after a topics.toml edit", retag_s, again),
    ):
        lines.append(
            f"| {name} | {seconds:.2f} | {count / seconds:,.0f} | {seconds / scan_s:.1f}× |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    report = run(args.posts)
    print(report)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "topics.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
