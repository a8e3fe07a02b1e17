"""Topics, saved filters, mute rules and cross-posts through the command line, on feeds
polled from the loopback server into a real cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedserver import FeedServer
from homes import cli_json, make_home, opml_for, run_cli


def rss(title: str, items: list[tuple[str, str, list[str], str]]) -> bytes:
    """(guid/link, title, categories, description) items; guids are the links."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        + "".join(f"<category>{c}</category>" for c in cats)
        + f"<description>{d}</description><pubDate>Mon, 0{n + 1} Jun 2026 10:00:00 GMT</pubDate>"
        "</item>"
        for n, (link, t, cats, d) in enumerate(items)
    )
    return f"<rss version='2.0'><channel><title>{title}</title>{body}</channel></rss>".encode()


SHARED_LINK = "https://gov.example/blog/2026/06/charging-reform"


@pytest.fixture
def home(tmp_path: Path, feed_server: FeedServer) -> Path:
    home = make_home(tmp_path / "home")
    feeds = {
        "Town Hall Care": feed_server.add(
            "/townhall.xml",
            rss(
                "Town Hall Care",
                [
                    (
                        "https://th.example/a",
                        "Where the winter money goes",
                        ["Social care funding"],
                        "Grants.",
                    ),
                    (
                        "https://th.example/b",
                        "Open day at the day centre",
                        ["Events"],
                        "Come along.",
                    ),
                    (SHARED_LINK, "Charging reform explained", ["Policy"], "The cap."),
                ],
            ),
        ),
        "Provider Forum": feed_server.add(
            "/forum.xml",
            rss(
                "Provider Forum",
                [
                    ("https://pf.example/a", "Fee uplift letters", ["Budget"], "Rates set."),
                    (
                        "https://pf.example/b",
                        "Mental health crisis cafe opens",
                        ["Uncategorized"],
                        "A new crisis cafe for people with mental health problems opens on Friday.",
                    ),
                    (SHARED_LINK, "Charging reform explained", ["News"], "The cap."),
                ],
            ),
        ),
        "Policy Desk": feed_server.add(
            "/desk.xml",
            rss(
                "Policy Desk",
                [
                    (
                        "https://pd.example/a",
                        "Settlement, line by line",
                        ["Finance & funding"],
                        "Sums.",
                    )
                ],
            ),
        ),
    }
    opml = tmp_path / "subs.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(home, "import", str(opml))
    run_cli(home, "poll")
    return home


def titles(rows: list[dict]) -> set[str]:
    return {r["title"] for r in rows}


def test_topic_prefix_gathers_three_spellings(home: Path):
    rows = cli_json(home, "entries", "--topic", "fund")
    assert titles(rows) == {
        "Where the winter money goes",
        "Fee uplift letters",
        "Settlement, line by line",
    }
    for row in rows:
        assert {"name": "Funding and finance", "inferred": False} in row["topics"]


def test_topics_are_inferred_only_when_categories_say_nothing(home: Path):
    (cafe,) = [
        r for r in cli_json(home, "entries") if r["title"] == "Mental health crisis cafe opens"
    ]
    assert cafe["categories"] == ["Uncategorized"]
    assert {"name": "Mental health", "inferred": True} in cafe["topics"]
    shown = run_cli(home, "show", str(cafe["id"])).stdout.decode()
    assert "topics: Mental health (inferred)" in shown


def test_topics_command_counts_posts_and_unread(home: Path):
    counts = {t["name"]: t for t in cli_json(home, "topics")}
    assert counts["Funding and finance"]["posts"] == 3
    assert counts["Funding and finance"]["unread"] == 3
    assert counts["Dementia"]["posts"] == 0
    text = run_cli(home, "topics").stdout.decode()
    assert "Funding and finance" in text.splitlines()[1]  # taxonomy order: after Mental health


def test_ambiguous_or_unknown_topic_is_a_clear_error(home: Path):
    result = run_cli(home, "entries", "--topic", "zzz", check=False)
    assert result.returncode == 2
    assert b"zzz" in result.stderr and b"Traceback" not in result.stderr


def test_cross_post_is_one_row_naming_both_feeds_and_read_once(home: Path):
    rows = [r for r in cli_json(home, "entries") if r["title"] == "Charging reform explained"]
    assert len(rows) == 1
    assert sorted(rows[0]["feeds"]) == ["Provider Forum", "Town Hall Care"]
    run_cli(home, "mark", str(rows[0]["id"]), "--read")
    feeds = {f["title"]: f for f in cli_json(home, "feeds")}
    assert feeds["Town Hall Care"]["unread"] == 2
    assert feeds["Provider Forum"]["unread"] == 2
    # either feed's listing shows it
    for feed in ("Town Hall Care", "Provider Forum"):
        assert "Charging reform explained" in titles(cli_json(home, "entries", "--feed", feed))


def test_saved_filters_and_mute_rules_from_config(home: Path):
    config = home / "config.toml"
    config.write_text(
        'mute = ["feed:\\"Policy Desk\\"", "broken ("]\n'
        + config.read_text()
        + '[filters]\n"Funding" = "topic:fund"\n"Mind" = "topic:mental unread"\n'
        + '"Bad" = "since:tomorrowish"\n',
        encoding="utf-8",
    )
    listed = {f["name"]: f for f in cli_json(home, "filters")}
    assert listed["Funding"]["posts"] == 2  # the Policy Desk post is muted
    assert listed["Mind"]["posts"] == listed["Mind"]["unread"] == 1
    assert listed["Bad"]["posts"] is None and "since" in listed["Bad"]["error"]
    result = run_cli(home, "entries", "--filter", "fun", "--json")
    assert "mute rule 'broken (' ignored" in result.stderr.decode()
    import json

    assert titles(json.loads(result.stdout)) == {
        "Where the winter money goes",
        "Fee uplift letters",
    }
    # muted everywhere: the plain listing, the feed and topic counts
    assert "Settlement, line by line" not in titles(cli_json(home, "entries"))
    assert {f["title"]: f["entries"] for f in cli_json(home, "feeds")}["Policy Desk"] == 0
    topics = {t["name"]: t["posts"] for t in cli_json(home, "topics")}
    assert topics["Funding and finance"] == 2
    bad = run_cli(home, "entries", "--filter", "nothing-like-this", check=False)
    assert bad.returncode == 2 and b"Funding" in bad.stderr
