"""The command line as a script or a person uses it: subprocesses, real files, real server."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from feedserver import FeedServer
from homes import REPO, cli_json, fixture_bytes, make_home, opml_for, run_cli

ENTRY_KEYS = {
    "id",
    "feed_id",
    "feed",
    "guid",
    "title",
    "link",
    "author",
    "published",
    "dated",
    "updated",
    "categories",
    "topics",  # issue 5: canonical topics, each {"name", "inferred"}
    "feeds",  # issue 5: every feed carrying the post (cross-posts), its own first
    "comment_count",
    "comments_cached",
    "new_comments",
    "comments_url",
    "comments_feed",
    "read",
    "starred",
    "summary",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def subscribed(home: Path, feed_server: FeedServer, tmp_path: Path) -> dict[str, str]:
    feeds = {
        "Practice Matters": feed_server.add("/wp/feed/", fixture_bytes("wordpress.xml")),
        "Kinship Care Voices": feed_server.add("/atom.xml", fixture_bytes("atom.xml")),
        "Council Bulletin": feed_server.add("/broken.xml", fixture_bytes("broken.xml")),
        "Dead Blog": feed_server.error("/dead/", 404),
    }
    opml = tmp_path / "subs.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(home, "import", str(opml))
    return feeds


def test_import_reports_added_existing_and_refused(home: Path, tmp_path: Path):
    opml = tmp_path / "mixed.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="Sector news">'
        '<outline type="rss" text="Community Care" xmlUrl="https://www.communitycare.co.uk/feed/"/>'
        '<outline type="rss" text="Evil" xmlUrl="javascript:alert(1)"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    out = run_cli(home, "import", str(opml)).stdout.decode()
    assert "added     Community Care  [Sector news]" in out
    assert "refused   Evil: only http and https" in out
    assert "1 added, 0 already subscribed, 1 refused" in out
    again = cli_json(home, "import", str(opml))
    assert again["added"] == [] and again["existing"] == ["https://www.communitycare.co.uk/feed/"]
    assert again["refused"][0]["outline"] == "Evil"


def test_bundled_feeds_opml_imports(home: Path):
    report = cli_json(home, "import", str(REPO / "feeds.opml"))
    assert len(report["added"]) >= 25 and report["refused"] == []
    feeds = cli_json(home, "feeds")
    assert all(f["tags"] for f in feeds)


def test_poll_prints_a_line_per_feed_and_a_summary(home: Path, subscribed: dict[str, str]):
    result = run_cli(home, "poll")
    out = result.stdout.decode()
    assert "ok        Practice Matters: 3 new, 0 updated" in out
    assert "failed    Dead Blog: HTTP 404" in out
    assert "4 feeds: 3 ok, 0 not modified, 1 failed; 7 new posts, 0 updated" in out
    again = cli_json(home, "poll", "--force")
    assert again["summary"] == {
        "feeds": 4,
        "ok": 0,
        "not_modified": 3,
        "failed": 1,
        "new": 0,
        "updated": 0,
    }
    [dead] = [f for f in again["feeds"] if f["status"] == "error"]
    assert dead["error"].startswith("HTTP 404")


def test_poll_due_takes_only_feeds_whose_time_has_come(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    assert cli_json(home, "poll", "--due")["summary"]["feeds"] == 0
    assert cli_json(home, "poll")["deferred"] == 1  # the failing one backs off


def test_feeds_listing(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    feeds = {f["title"]: f for f in cli_json(home, "feeds")}
    assert feeds["Dead Blog"]["error"].startswith("HTTP 404")
    assert feeds["Practice Matters"]["unread"] == 3 and feeds["Practice Matters"]["tags"] == [
        "Practice blogs"
    ]
    assert feeds["Council Bulletin"]["warning"]  # malformed XML, posts recovered
    text = run_cli(home, "feeds").stdout.decode()
    assert "error: HTTP 404" in text and "Practice Matters" in text


def test_entries_filters_and_json_shape(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    entries = cli_json(home, "entries")
    assert len(entries) == 7 and set(entries[0]) == ENTRY_KEYS
    assert [e["published"] for e in entries] == sorted(
        (e["published"] for e in entries), reverse=True
    )
    assert entries[0]["published"].endswith("Z")
    assert {e["title"] for e in cli_json(home, "entries", "--tag", "MENTAL HEALTH")} == {
        "What a good carers assessment looks like"
    }
    assert len(cli_json(home, "entries", "--tag", "practice blogs")) == 7  # the OPML folder
    assert {e["feed"] for e in cli_json(home, "entries", "--feed", "kinship")} == {
        "Kinship Care Voices"
    }
    assert [e["title"] for e in cli_json(home, "entries", "--search", "guardianship")] == [
        "Special guardianship allowances compared"
    ]
    assert len(cli_json(home, "entries", "--limit", "2")) == 2
    first = entries[0]["id"]
    run_cli(home, "mark", str(first), "--read", "--star")
    assert first not in [e["id"] for e in cli_json(home, "entries", "--unread")]
    assert [e["id"] for e in cli_json(home, "entries", "--starred")] == [first]
    text = run_cli(home, "entries", "--tag", "carers").stdout.decode()
    assert (
        "What a good carers assessment looks like  [Carers, Mental health, Social care funding]"
        in text
    )
    assert "4 comments" in text


def test_show_prints_the_post_and_json_adds_content(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    [post] = cli_json(home, "entries", "--search", "carers assessment")
    text = run_cli(home, "show", str(post["id"])).stdout.decode()
    assert text.startswith(
        "What a good carers assessment looks like\nPractice Matters · 2026-02-16"
    )
    assert "categories: Carers, Mental health, Social care funding" in text
    assert "• What does a bad week look like?" in text
    full = cli_json(home, "show", str(post["id"]))
    assert full["content"].startswith("Three things we ask every carer before")
    missing = run_cli(home, "show", "99999", check=False)
    assert missing.returncode == 1 and b"no post with id 99999" in missing.stderr


def test_export_round_trips_through_import(home: Path, subscribed: dict[str, str], tmp_path: Path):
    out = tmp_path / "export.opml"
    run_cli(home, "export", str(out))
    other = make_home(tmp_path / "other")
    run_cli(other, "import", str(out))
    mine = {(f["url"], tuple(f["tags"])) for f in cli_json(home, "feeds")}
    theirs = {(f["url"], tuple(f["tags"])) for f in cli_json(other, "feeds")}
    assert mine == theirs and len(mine) == 4


def test_add_finds_the_feed_on_a_blog_page(home: Path, feed_server: FeedServer):
    feed_server.add("/blog/feed/", fixture_bytes("wordpress.xml"))
    page = feed_server.add(
        "/blog/",
        b"<!doctype html><html><head><title>Practice Matters</title>"
        b'<link rel="alternate" type="application/rss+xml" title="Feed" href="/blog/feed/">'
        b"</head><body>hello</body></html>",
        content_type="text/html; charset=utf-8",
    )
    result = cli_json(home, "add", page, "--tag", "Practice blogs")
    assert result["created"] and result["discovered_from"] == page
    assert result["feed"]["url"] == feed_server.url("/blog/feed/")
    assert result["poll"]["new"] == 3
    assert feed_server.hits("/blog/") == 1 and feed_server.hits("/blog/feed/") == 1
    assert cli_json(home, "feeds")[0]["tags"] == ["Practice blogs"]
    again = run_cli(home, "add", feed_server.url("/blog/feed/")).stdout.decode()
    assert "already subscribed" in again


def test_add_asks_the_server_once_for_a_feed_address(home: Path, feed_server: FeedServer):
    url = feed_server.add("/direct/feed/", fixture_bytes("wordpress.xml"))
    result = cli_json(home, "add", url)
    assert result["created"] and result["discovered_from"] is None
    assert result["poll"]["new"] == 3
    assert feed_server.hits("/direct/feed/") == 1  # checked and polled with one request
    # its validators were kept: the next poll is a conditional GET
    run_cli(home, "poll")
    (second,) = feed_server.requests_for("/direct/feed/")[1:]
    assert "if-none-match" in {k.lower() for k in second.headers}


def test_add_refuses_what_is_not_a_feed(home: Path, feed_server: FeedServer):
    page = feed_server.add(
        "/plain/", b"<html><body>no feed here</body></html>", content_type="text/html"
    )
    result = run_cli(home, "add", page, check=False)
    assert result.returncode == 1 and b"names no feed" in result.stderr
    bad = run_cli(home, "add", "javascript:alert(1)", check=False)
    assert bad.returncode == 1 and b"only http and https" in bad.stderr
    assert cli_json(home, "feeds") == []


def test_remove(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    out = run_cli(home, "remove", subscribed["Practice Matters"]).stdout.decode()
    assert out.startswith("removed Practice Matters")
    assert len(cli_json(home, "feeds")) == 3
    assert all(e["feed"] != "Practice Matters" for e in cli_json(home, "entries"))
    missing = run_cli(home, "remove", "http://nowhere.example/feed", check=False)
    assert missing.returncode == 1


def test_hostile_text_reaches_stdout_literally_without_escapes(home: Path, feed_server: FeedServer):
    url = feed_server.add("/evil/", fixture_bytes("hostile.xml"))
    run_cli(home, "add", url)
    for args in (
        ("entries",),
        ("entries", "--json"),
        ("feeds",),
        ("show", "1"),
        ("show", "1", "--json"),
    ):
        out = run_cli(home, *args).stdout
        assert b"\x1b" not in out and b"\xc2\x9b" not in out and b"\x07" not in out
    assert b"[@click=app.quit]x[/]" in run_cli(home, "entries").stdout
    assert cli_json(home, "show", "1")["link"] is None


def test_home_from_environment(tmp_path: Path):
    env = dict(os.environ, CAREFEED_HOME=str(tmp_path / "envhome"))
    subprocess.run(
        [sys.executable, "-m", "carefeed", "feeds"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (tmp_path / "envhome" / "cache.db").exists()


def test_damaged_cache_gets_a_clear_message_and_is_not_touched(home: Path):
    (home / "cache.db").write_bytes(b"this is not sqlite" * 500)
    before = (home / "cache.db").read_bytes()
    result = run_cli(home, "feeds", check=False)
    assert result.returncode == 1
    assert b"is not a carefeed database or is damaged" in result.stderr
    assert b"Traceback" not in result.stderr
    assert (home / "cache.db").read_bytes() == before


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_poll_killed_mid_write_loses_nothing_committed(home: Path, feed_server: FeedServer):
    words = "supervision " * 200

    def items(n: int) -> str:  # guids are links: distinct per feed, or they are cross-posts
        return "".join(
            f"<item><title>Post {i}</title><guid>f{n}/g{i}</guid>"
            f"<description>{words}</description></item>"
            for i in range(300)
        )

    feeds = {
        f"Feed {n}": feed_server.add(
            f"/f{n}",
            f"<rss><channel><title>Feed {n}</title>{items(n)}</channel></rss>".encode(),
        )
        for n in range(20)
    }
    opml = home / "subs.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(home, "import", str(opml))
    stored_after_kill = []
    orphans: set[int] = set()
    for delay in (0.5, 0.8, 1.1, 1.5):
        child = subprocess.Popen(
            [sys.executable, "-m", "carefeed", "--home", str(home), "poll", "--force"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        parsers = _children(child.pid)
        child.send_signal(signal.SIGKILL)
        child.wait()
        orphans.update(parsers)
        db = sqlite3.connect(home / "cache.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_feed = db.execute("SELECT count(*) FROM entries GROUP BY feed_id").fetchall()
        assert all(n == 300 for (n,) in per_feed)  # whole feeds or nothing
        stored_after_kill.append(len(per_feed))
        db.close()
    assert min(stored_after_kill) < 20  # at least one kill landed mid-poll
    assert orphans  # the parser processes were running when the poll was killed
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in orphans):
        time.sleep(0.2)
    assert not [pid for pid in orphans if Path(f"/proc/{pid}").exists()], "parsers outlived poll"
    summary = cli_json(home, "poll", "--force")["summary"]
    assert summary["failed"] == 0
    assert cli_json(home, "entries", "--limit", "100000").__len__() == 300 * 20


def test_doctor_reports_cache_and_failing_feeds(home: Path, subscribed: dict[str, str]):
    run_cli(home, "poll")
    report = cli_json(home, "doctor")
    assert report["integrity"] == "ok" and report["schema"] >= 1 and report["size_bytes"] > 0
    assert report["feeds"] == 4 and report["posts"] == 7
    assert [f["title"] for f in report["failing"]] == ["Dead Blog"]
    assert report["failing"][0]["error"].startswith("HTTP 404")
    assert any("--force" in a for a in report["advice"])
    text = run_cli(home, "doctor").stdout.decode()
    assert "integrity  ok" in text and "failing    Dead Blog: HTTP 404" in text


def test_doctor_finds_a_search_index_that_drifted_and_rebuilds_it(
    home: Path, subscribed: dict[str, str]
):
    run_cli(home, "poll")
    assert cli_json(home, "doctor")["search_index"] == "ok"
    posts = len(cli_json(home, "entries", "--search", "care"))
    db = sqlite3.connect(home / "cache.db")
    with db:  # an index entry for a post that is not in the cache
        db.execute(
            "INSERT INTO entries_fts(rowid, title, summary, content, categories)"
            " VALUES (987654, 'Phantom care post', '', '', '[]')"
        )
    db.close()
    result = run_cli(home, "doctor", check=False)
    assert result.returncode == 1
    text = result.stdout.decode()
    assert "search     ok" not in text and "--rebuild-search" in text
    rebuilt = run_cli(home, "doctor", "--rebuild-search")
    assert b"search     ok" in rebuilt.stdout and b"all good" not in rebuilt.stdout  # Dead Blog
    assert len(cli_json(home, "entries", "--search", "care")) == posts
    assert cli_json(home, "doctor")["search_index"] == "ok"


def test_doctor_on_a_damaged_cache_says_so_and_touches_nothing(home: Path):
    (home / "cache.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    before = (home / "cache.db").read_bytes()
    result = run_cli(home, "doctor", check=False)
    assert result.returncode == 1 and b"damaged" in result.stderr
    assert (home / "cache.db").read_bytes() == before


def _first_item_only(xml: bytes) -> bytes:
    """The same RSS document listing only its first post (the others have left it)."""
    head, rest = xml.split(b"<item>", 1)
    first = rest.split(b"</item>", 1)[0]
    tail = xml[xml.rindex(b"</item>") + len(b"</item>") :]
    return head + b"<item>" + first + b"</item>" + tail


def _read_then_drop_all_but_newest(home: Path, feed_server: FeedServer) -> list[dict[str, Any]]:
    run_cli(home, "poll")
    posts: list[dict[str, Any]] = cli_json(home, "entries", "--feed", "Practice Matters")
    assert len(posts) == 3
    run_cli(home, "mark", *[str(p["id"]) for p in posts], "--read")
    feed_server.set("/wp/feed/", _first_item_only(fixture_bytes("wordpress.xml")))
    # last_seen is in whole seconds: a post last seen in the same second as the feed's
    # latest read cannot be told from one still listed, and is kept (the safe side)
    time.sleep(1.1)
    return posts


def test_prune_removes_old_read_posts_that_left_their_feed(
    home: Path, subscribed: dict[str, str], feed_server: FeedServer
):
    posts = _read_then_drop_all_but_newest(home, feed_server)
    run_cli(home, "poll")
    assert cli_json(home, "prune", "--older-than", "30", "--dry-run") == {
        "removed": 2,
        "older_than_days": 30,
        "dry_run": True,
    }
    assert len(cli_json(home, "entries", "--feed", "Practice Matters")) == 3
    out = run_cli(home, "prune", "--older-than", "30").stdout.decode()
    assert out.startswith("removed 2 read posts older than 30 days")
    left = cli_json(home, "entries", "--feed", "Practice Matters")
    assert [p["title"] for p in left] == [posts[0]["title"]]  # the feed still lists it
    assert cli_json(home, "prune", "--older-than", "30")["removed"] == 0
    assert run_cli(home, "prune", "--older-than", "0", check=False).returncode == 2


def test_keep_read_days_prunes_after_each_poll(
    home: Path, subscribed: dict[str, str], feed_server: FeedServer
):
    posts = _read_then_drop_all_but_newest(home, feed_server)
    config = home / "config.toml"
    config.write_text("keep_read_days = 30\n" + config.read_text(), encoding="utf-8")
    run_cli(home, "poll")
    left = cli_json(home, "entries", "--feed", "Practice Matters")
    assert [p["title"] for p in left] == [posts[0]["title"]]
