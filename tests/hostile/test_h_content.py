"""HOSTILE.md §3a cases that do not fit the shared batch: a unit test and big documents."""

from __future__ import annotations

import re
import time

import pytest
from hostile_kit import GOOD_GUIDS, Victim, db_rows, item, rss

from carefeed.text import clean_text, safe_url


@pytest.mark.case(12, "bidi and zero-width characters", "overrides removed; words still match")
def test_bidi_overrides_and_zero_width_are_removed():
    assert clean_text("Invoice \u202egnp.exe") == "Invoice gnp.exe"
    assert clean_text("Dr \u2066Smith\u2069") == "Dr Smith"
    assert clean_text("fund\u200bing") == "funding"
    assert clean_text("\u200e\u200f\u061cx\ufeff\u2060") == "x"
    assert clean_text("👩\u200d⚕️ care") == "👩\u200d⚕️ care"  # the emoji joiner stays
    link = safe_url("http://example.org/\u202efdp.exe")
    assert link is None or not re.search("[\u202a-\u202e\u2066-\u2069]", link)


@pytest.mark.case(16, "huge fields (5 MB title, 10 MB content)", "stored truncated, fast")
def test_huge_fields_are_truncated(victim: Victim):
    (victim.home / "config.toml").write_text(
        (victim.home / "config.toml")
        .read_text()
        .replace("body_cap = 1048576", "body_cap = 33554432")
        .replace("parse_timeout = 3.0", "parse_timeout = 15.0")  # 20 MB is honest work
    )
    big = "care " * (1024 * 1024)  # 5 MB
    extra = (
        f"<category>{'c' * 5_000_000}</category>"
        f"<content:encoded>{'word ' * 2_000_000}</content:encoded>"
    )
    doc = rss("Huge", [item("huge-1", big, extra=extra)]).replace(
        b"<rss version='2.0'>",
        b"<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'>",
    )
    victim.server.set("/victim", doc)
    started = time.monotonic()
    victim.expect_stored(bound=15 + 2)
    entry = next(e for e in victim.entries() if e["guid"] == "huge-1")
    assert len(entry["title"]) <= 500 and entry["title"].endswith("…")
    assert all(len(c) <= 200 for c in entry["categories"])
    content = db_rows(victim.home, "SELECT length(content) FROM entries WHERE guid = 'huge-1'")
    assert content[0][0] <= 1024 * 1024 + 1
    assert time.monotonic() - started < 20


@pytest.mark.case(17, "20,000 items", "capped with a note, within the deadline")
def test_twenty_thousand_items_are_capped(victim: Victim):
    items = "".join(f"<item><title>P{n}</title><guid>g{n}</guid></item>" for n in range(20_000))
    victim.server.set("/victim", rss("Many", items))
    # ~1 MB and 20,000 items is honest work for feedparser (2-4 s on a busy 2-core box):
    # this case is about the cap and the note, so it gets a parse deadline of 15 s
    config = victim.home / "config.toml"
    config.write_text(config.read_text().replace("parse_timeout = 3.0", "parse_timeout = 15.0"))
    run = victim.expect_stored(bound=15 + 2)
    event = run.event(victim.url)
    assert 0 < event["new"] <= 5000
    assert any(
        "5" in w and ("kept" in w or "first" in w or "newest" in w) for w in event["warnings"]
    ), event["warnings"]
    count = db_rows(
        victim.home,
        "SELECT count(*) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.url = ?",
        victim.url,
    )[0][0]
    assert count == event["new"] + len(GOOD_GUIDS)
