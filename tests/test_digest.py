"""Briefing digests (issue 5): grouping and rendering on hand-built posts, hostile text in
every format, and ``carefeed digest`` end to end on a cache polled from a real server."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from carefeed.digest import (
    OTHER,
    build_digest,
    csv_cell,
    md_escape,
    query_topics,
    summary_lines,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)
from carefeed.model import AllOf, AnyOf, Entry, Not, Term, Text, TopicMatch
from feedserver import FeedServer
from homes import make_home, opml_for, run_cli

ORDER = ("Mental health", "Funding and finance", "Adult social care", "Carers")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def post(
    id: int,
    title: str,
    *,
    feed: str = "Community Care",
    topics: tuple[str, ...] = (),
    also_in: tuple[str, ...] = (),
    days_ago: float = 1,
    summary: str = "A short summary.",
    link: str | None = "https://example.org/post",
    comment_count: int | None = None,
    comments_stored: int = 0,
    dated: bool = True,
) -> Entry:
    when = NOW - timedelta(days=days_ago)
    return Entry(
        id=id,
        feed_id=1,
        feed_title=feed,
        guid=f"g{id}",
        title=title,
        link=link,
        author=None,
        published=when,
        updated=None,
        summary=summary,
        content="",
        categories=(),
        comments_url=None,
        comments_feed=None,
        comment_count=comment_count,
        read=False,
        starred=False,
        first_seen=when,
        dated=dated,
        comments_stored=comments_stored,
        topics=tuple(TopicMatch(t) for t in topics),
        also_in=also_in,
    )


def digest_of(*entries: Entry, focus: tuple[str, ...] = ()):
    return build_digest(entries, ORDER, title="Funding, last 7 days", generated_at=NOW, focus=focus)


# --------------------------------------------------------------------------- grouping


def test_groups_in_taxonomy_order_newest_first_and_other_last():
    d = digest_of(
        post(1, "Untagged", days_ago=0.5),
        post(2, "Old funding", topics=("Funding and finance",), days_ago=5),
        post(3, "New funding", topics=("Funding and finance",), days_ago=1),
        post(4, "Mind", topics=("Mental health",), days_ago=3),
        post(5, "Carer", topics=("Carers",), days_ago=2),
    )
    assert [g.name for g in d.groups] == ["Mental health", "Funding and finance", "Carers", OTHER]
    assert [i.title for i in d.groups[1].items] == ["New funding", "Old funding"]
    assert [i.title for i in d.groups[-1].items] == ["Untagged"]
    assert (d.posts, d.topics) == (5, 3)  # "Other" is not a topic


def test_a_post_with_several_topics_is_listed_once_under_its_first():
    d = digest_of(post(1, "Both", topics=("Adult social care", "Funding and finance")))
    [group] = d.groups
    assert group.name == "Adult social care"
    [item] = group.items
    assert item.other_topics == ("Funding and finance",)
    assert "listed once" in d.note
    md = to_markdown(d)
    assert md.count("Both") == 1
    assert "also Funding and finance" in md
    assert "listed once, under its first topic" in md


def test_focus_puts_a_post_under_the_topic_the_briefing_asks_for():
    d = digest_of(
        post(1, "Both", topics=("Adult social care", "Funding and finance")),
        post(2, "Only care", topics=("Adult social care",)),
        focus=("Funding and finance",),
    )
    assert [(g.name, [i.title for i in g.items]) for g in d.groups] == [
        ("Funding and finance", ["Both"]),
        ("Adult social care", ["Only care"]),
    ]
    assert d.groups[0].items[0].other_topics == ("Adult social care",)
    assert "under Funding and finance when it has that topic" in d.note


def test_topics_outside_the_taxonomy_follow_it_by_name():
    d = digest_of(
        post(1, "x", topics=("Zebra care",)),
        post(2, "y", topics=("Alpaca care",)),
        post(3, "z", topics=("Carers",)),
        post(4, "w"),
    )
    assert [g.name for g in d.groups] == ["Carers", "Alpaca care", "Zebra care", OTHER]


def test_cross_post_lists_every_feed_and_comment_counts():
    d = digest_of(
        post(1, "Syndicated", also_in=("GOV.UK blog", "Community Care"), comment_count=4),
        post(2, "Cached more", comment_count=2, comments_stored=5, days_ago=2),
        post(3, "Unknown", days_ago=3),
        post(4, "None yet", comment_count=0, days_ago=4),
    )
    items = {i.title: i for i in d.groups[0].items}
    assert items["Syndicated"].sources == ("Community Care", "GOV.UK blog")  # deduplicated
    assert [items[t].comments for t in ("Syndicated", "Cached more", "Unknown", "None yet")] == [
        4,
        5,
        None,
        0,
    ]
    md = to_markdown(d)
    assert "Community Care, GOV\\.UK blog" not in md  # "." is not escaped mid-line
    assert "Community Care, GOV.UK blog · 2026-11-26 · 4 comments" in md
    assert "· 0 comments" in md  # a known zero is shown
    assert "Unknown](https://example.org/post)  \n  Community Care · 2026-11-24  \n" in md
    rows = list(csv.DictReader(io.StringIO(to_csv(d))))
    assert rows[0]["feeds"] == "Community Care; GOV.UK blog"
    assert [r["comments"] for r in rows] == ["4", "5", "", "0"]
    data = json.loads(to_json(d))
    assert data["groups"][0]["posts"][0]["feeds"] == ["Community Care", "GOV.UK blog"]
    assert data["groups"][0]["posts"][2]["comments"] is None


def test_undated_post_says_its_date_is_first_seen():
    d = digest_of(post(1, "When?", dated=False))
    assert "(first seen; the post gives no date)" in to_html(d)
    assert json.loads(to_json(d))["groups"][0]["posts"][0]["dated"] is False


def test_empty_digest_says_so():
    d = digest_of()
    assert d.groups == ()
    assert "No posts match." in to_markdown(d)
    assert "No posts match." in to_html(d)
    assert to_csv(d).splitlines() == ["topic,title,feeds,published,link,comments,summary,topics"]


def test_matched_count_in_the_header_when_the_list_was_cut():
    d = build_digest([post(1, "a")], ORDER, title="t", generated_at=NOW, matched=350)
    assert "1 post in 0 topics (the newest 1 of 350 matching posts)" in to_markdown(d)
    assert json.loads(to_json(d))["matched"] == 350


def test_query_topics_takes_positive_topic_terms_only():
    node = AllOf(
        (
            AnyOf((Term("topic", "Funding and finance"), Term("topic", "Carers"))),
            Not(Term("topic", "Mental health")),
            Term("tag", "Budget"),
            Text("council"),
        )
    )
    assert query_topics(node) == ("Funding and finance", "Carers")
    assert query_topics(None) == ()


# --------------------------------------------------------------------------- summaries


def test_summary_is_two_lines_cut_on_a_word_boundary():
    words = "Councils warn that the fair cost of care exercise leaves providers short " * 6
    lines = summary_lines(words)
    assert len(lines) == 2
    assert all(len(x) <= 100 for x in lines)
    assert lines[1].endswith("…")
    cut = lines[1][:-1]
    assert words.startswith(" ".join(lines)[:-1])  # nothing reordered or invented
    assert cut.split()[-1] in words.split()  # the last word is whole


def test_summary_short_text_is_kept_whole_and_links_refs_are_dropped():
    text = "Read the report[1] today.\n\nSecond paragraph.\n\n[1]: https://example.org/r"
    assert summary_lines(text) == ("Read the report today. Second paragraph.",)
    assert summary_lines("") == ()
    assert summary_lines("Exactly short.") == ("Exactly short.",)


def test_summary_one_enormous_word_is_cut_hard():
    lines = summary_lines("x" * 500)
    assert len(lines) == 2
    assert lines[0] == "x" * 100
    assert lines[1] == "x" * 99 + "…"


def test_summary_falls_back_to_content():
    e = post(1, "t", summary="")
    e = Entry(**{**e.__dict__, "content": "Body text here."})
    assert digest_of(e).groups[0].items[0].summary == "Body text here."


# --------------------------------------------------------------------------- hostile text

HOSTILE_TITLE = '</a><script>alert("t")</script> [click](javascript:alert(1)) **bold** `x`'
HOSTILE_FEED = "=cmd|' /C calc'!A0"
HOSTILE_SUMMARY = (
    "# Heading\x1b]52;c;ZXZpbA==\x07 <img src=x onerror=alert(1)> | a | b |\x00\x9b31m"
)


def hostile_digest():
    return digest_of(
        post(
            1,
            HOSTILE_TITLE,
            feed=HOSTILE_FEED,
            also_in=("@SUM(A1:A9)", "+44 blog", "-1 feed", "\tTabbed"),
            topics=("Funding and finance",),
            summary=HOSTILE_SUMMARY,
            link="javascript:alert(document.cookie)",
        ),
        post(2, "Data link", link="data:text/html,<script>alert(1)</script>", days_ago=2),
        post(3, "# Not a heading", link="https://example.org/a_(b)<c>\"d'", days_ago=3),
        post(4, "- not a list\n1. nor this", summary="=== not a setext underline", days_ago=4),
    )


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "href":
                self.hrefs.append(value or "")
            if name.startswith("on"):
                self.handlers.append(name)


def test_html_escapes_everything_and_links_only_http():
    page = to_html(hostile_digest())
    parsed = _Collect()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert parsed.handlers == []
    # only the http(s) links: not javascript:, not data:
    assert parsed.hrefs == ["https://example.org/a_(b)<c>\"d'", "https://example.org/post"]
    assert "&lt;/a&gt;&lt;script&gt;" in page
    assert "javascript:" not in page.replace("[click](javascript:alert(1))", "")
    assert "data:text" not in page
    assert "\x1b" not in page and "\x00" not in page and "\x9b" not in page
    assert "Content-Security-Policy" in page
    # the one link's quote characters cannot end the attribute
    assert 'href="https://example.org/a_(b)&lt;c&gt;&quot;d&#x27;"' in page


def test_markdown_escapes_markup_and_emits_no_html():
    md = to_markdown(hostile_digest())
    assert "<" not in md.replace("\\<", "")  # no raw HTML at all
    assert "javascript" not in md.replace("javascript:alert\\(1\\)", "")  # only as text
    assert "data:" not in md
    assert "\x1b" not in md and "\x00" not in md and "\x9b" not in md
    links = re.findall(r"(?<!\\)\]\((?P<url>[^)]*)\)", md)
    assert links == ["https://example.org/a_%28b%29%3Cc%3E%22d%27", "https://example.org/post"]
    assert "- \\</a\\>\\<script\\>alert" in md  # the hostile title is text
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\) \\*\\*bold\\*\\* \\`x\\`" in md
    assert "\\# Heading" in md  # from the summary, at the start of its line
    assert "\\| a \\| b \\|" in md
    assert "- [\\# Not a heading](" in md
    assert "\\- not a list 1. nor this" in md
    assert "  \\=== not a setext underline" in md
    for text_line in md.splitlines():
        stripped = text_line.lstrip()
        if stripped.startswith("#"):
            assert text_line.startswith(("# Funding", "## ")), text_line  # our headings only


@pytest.mark.parametrize(
    "text",
    ["# x", "- x", "+ x", "> x", "1. x", "2) x", "=== x", "[a](b)", "*a*", "_a_", "`a`", "<b>"],
)
def test_md_escape_leaves_nothing_active(text: str):
    escaped = md_escape(text)
    assert escaped != text
    assert escaped.replace("\\", "") == text


def test_csv_neutralises_formulas():
    rows = list(csv.reader(io.StringIO(to_csv(hostile_digest()))))
    header, first = rows[0], rows[1]
    row = dict(zip(header, first, strict=True))
    assert row["feeds"].startswith("'=cmd|' /C calc'!A0")
    for cell in row["feeds"].split("; ")[1:]:
        assert cell  # the later feeds follow "; ", which is not a formula start
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in r)
    assert row["link"] == ""  # javascript: is not a link
    assert "\x1b" not in row["summary"] and "\x00" not in row["summary"]
    last = dict(zip(header, rows[4], strict=True))
    assert last["title"] == "'- not a list 1. nor this"
    assert last["summary"] == "'=== not a setext underline"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'=1"),  # the tab becomes a space and is dropped, the = is caught
        ("\r=1", "'=1"),
        ("  =1", "'=1"),  # clean_text trims, the = is caught
        ("safe = text", "safe = text"),
    ],
)
def test_csv_cell(cell: str, expected: str):
    assert csv_cell(cell) == expected


def test_json_is_ascii_and_keeps_text_literal():
    text = to_json(hostile_digest())
    assert text.isascii()
    data = json.loads(text)
    first = data["groups"][0]["posts"][0]
    assert first["title"] == HOSTILE_TITLE
    assert first["link"] is None
    assert "\x1b" not in first["summary"] and "\x00" not in first["summary"]
    assert first["feeds"][0] == HOSTILE_FEED


# --------------------------------------------------------------------------- the command


def rss(title: str, items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


def item(
    guid: str,
    title: str,
    link: str,
    days_ago: int,
    cats: tuple[str, ...],
    summary: str,
    *,
    comments: int | None = None,
) -> str:
    when = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    categories = "".join(f"<category>{c}</category>" for c in cats)
    count = f"<slash:comments>{comments}</slash:comments>" if comments is not None else ""
    return (
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        f"<pubDate>{when}</pubDate>{categories}<description>{summary}</description>{count}"
        "</item>"
    )


@pytest.fixture
def polled(tmp_path: Path, feed_server: FeedServer) -> Path:
    return make_polled_home(tmp_path, feed_server)


def make_polled_home(tmp_path: Path, feed_server: FeedServer) -> Path:
    """Two blogs polled into a fresh home: funding posts spelled three ways, a post about
    nothing in the taxonomy, a hostile post, and a GOV.UK report carried by both."""
    home = make_home(tmp_path / "home")
    long = "Councils say the settlement leaves a gap in adult social care budgets " * 5
    finance = rss(
        "Care Finance Blog",
        item(
            "f1",
            "Council budgets squeezed again",
            "https://example.org/budgets",
            1,
            ("Social care funding",),
            long,
            comments=7,
        )
        + item(
            "f2",
            "Precept rise explained",
            "https://example.org/precept",
            3,
            ("Budget",),
            "What the precept means for you.",
        )
        + item(
            "f3",
            "Staff party photos",
            "https://example.org/party",
            2,
            ("Office life",),
            "Pictures from the office party.",
        )
        + item(
            "f4",
            "=HYPERLINK(&quot;http://evil&quot;) &lt;/a&gt;&lt;script&gt;x",
            "javascript:alert(1)",
            4,
            ("Finance &amp; funding",),
            "Hostile post.",
        )
        + item(
            "f5",
            "Shared report on carers' finances",
            "https://gov.example/carers",
            2,
            ("Carers",),
            "A GOV.UK report carried by two blogs.",
            comments=2,
        )
        + item(
            "f6",
            "Last month's settlement",
            "https://example.org/settlement",
            20,
            ("Funding",),
            "Older news.",
        ),
    )
    mind = rss(
        "Mind Matters",
        item(
            "m1",
            "Talking therapies waiting times",
            "https://example.org/iapt",
            1,
            ("Mental health",),
            "Waits are growing.",
        )
        + item(
            "m2",
            "Shared report on carers' finances",
            "https://gov.example/carers",
            2,
            ("Carers",),
            "A GOV.UK report carried by two blogs.",
            comments=2,
        ),
    )
    feeds = {
        "Care Finance Blog": feed_server.add("/finance.xml", finance),
        "Mind Matters": feed_server.add("/mind.xml", mind),
    }
    opml = tmp_path / "subs.opml"
    opml.write_bytes(opml_for(feeds))
    run_cli(home, "import", str(opml))
    run_cli(home, "poll")
    return home


def test_digest_cli_markdown_to_a_file(polled: Path, tmp_path: Path):
    out = tmp_path / "briefing.md"
    result = run_cli(
        polled, "digest", "--format", "md", "--out", str(out), "--title", "Funding, last 7 days"
    )
    assert result.stdout == b""
    assert re.fullmatch(rb"wrote 7 posts in \d+ topics to .*briefing\.md\n", result.stderr), (
        result.stderr
    )
    md = out.read_text(encoding="utf-8")
    assert md.startswith("# Funding, last 7 days\n")
    headings = [x[3:].rsplit(" (", 1)[0] for x in md.splitlines() if x.startswith("## ")]
    assert headings[-1] == "Other"
    assert headings.index("Mental health") < headings.index("Funding and finance")
    assert headings.index("Funding and finance") < headings.index("Carers")
    funding = md.split("## Funding and finance")[1].split("\n## ")[0]
    # newest first inside the group
    assert funding.index("Council budgets squeezed") < funding.index("Precept rise")
    assert "[Council budgets squeezed again](https://example.org/budgets)" in funding
    assert "Care Finance Blog · " in funding and "7 comments" in funding
    assert funding.count("…") == 1  # the long summary, cut to two lines
    other = md.split("## Other")[1]
    assert "Staff party photos" in other
    # the cross-post: once, with both feeds
    assert md.count("Shared report on carers") == 1
    assert re.search(r"(Care Finance Blog, Mind Matters|Mind Matters, Care Finance Blog)", md)
    # the hostile post: no link, no HTML
    assert "javascript" not in md
    assert "<" not in md.replace("\\<", "")
    assert "\\=HYPERLINK" in md
    assert not list(tmp_path.glob(".briefing.md.*"))  # no temp file left behind


def test_digest_cli_csv_and_json(polled: Path):
    text = run_cli(polled, "digest", "--format", "csv").stdout.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 7
    by_title = {r["title"]: r for r in rows}
    hostile = next(r for t, r in by_title.items() if "HYPERLINK" in t)
    assert hostile["title"].startswith("'=HYPERLINK")
    assert hostile["link"] == ""
    assert by_title["Council budgets squeezed again"]["comments"] == "7"
    assert by_title["Staff party photos"]["topic"] == "Other"
    shared = by_title["Shared report on carers' finances"]
    assert sorted(shared["feeds"].split("; ")) == ["Care Finance Blog", "Mind Matters"]

    data = json.loads(run_cli(polled, "digest", "--json").stdout)
    assert data["posts"] == 7
    assert data["groups"][-1]["topic"] == "Other"
    titles = [p["title"] for g in data["groups"] for p in g["posts"]]
    assert len(titles) == len(set(titles)) == 7
    same = json.loads(run_cli(polled, "digest", "--format", "json").stdout)
    for report in (data, same):
        del report["generated_at"]  # the clock moved between the runs
    assert same == data


def test_digest_cli_topic_flag_focuses_and_limits(polled: Path):
    data = json.loads(run_cli(polled, "digest", "--topic", "fund", "--json").stdout)
    assert [g["topic"] for g in data["groups"]] == ["Funding and finance"]
    assert "under Funding and finance when it has that topic" in data["note"]
    titles = [p["title"] for p in data["groups"][0]["posts"]]
    assert titles[:2] == ["Council budgets squeezed again", "Precept rise explained"]
    limited = json.loads(run_cli(polled, "digest", "--limit", "2", "--json").stdout)
    assert limited["posts"] == 2 and limited["matched"] == 7


def test_digest_cli_refuses_a_missing_folder_and_conflicting_flags(polled: Path, tmp_path: Path):
    target = tmp_path / "nowhere" / "briefing.md"
    result = run_cli(polled, "digest", "--out", str(target), check=False)
    assert result.returncode == 1
    assert result.stderr.decode().count("\n") == 1
    assert "does not exist" in result.stderr.decode()
    assert not target.parent.exists()
    clash = run_cli(polled, "digest", "--format", "csv", "--json", check=False)
    assert clash.returncode == 2
    assert "disagree" in clash.stderr.decode()


def test_digest_cli_html_replaces_an_existing_file(polled: Path, tmp_path: Path):
    out = tmp_path / "briefing.html"
    out.write_text("old", encoding="utf-8")
    run_cli(polled, "digest", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parsed = _Collect()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert all(h.startswith("https://") for h in parsed.hrefs)
    assert "https://example.org/budgets" in parsed.hrefs


def test_digest_cli_query_filters_focuses_and_titles(polled: Path, tmp_path: Path):
    out = tmp_path / "funding.md"
    result = run_cli(polled, "digest", "--query", "topic:fund since:7d", "--out", str(out))
    assert result.stderr.decode().startswith("wrote 3 posts in 1 topic to ")
    md = out.read_text(encoding="utf-8")
    assert md.startswith("# Reading list: topic:fund since:7d\n")
    assert "under Funding and finance when it has that topic" in md
    headings = [x for x in md.splitlines() if x.startswith("## ")]
    assert headings == ["## Funding and finance (3)"]
    assert "Last month" not in md  # older than 7 days
    assert "Staff party" not in md and "Talking therapies" not in md

    rows = list(
        csv.DictReader(
            io.StringIO(
                run_cli(
                    polled, "digest", "--query", "topic:carers or feed:mind", "--format", "csv"
                ).stdout.decode()
            )
        )
    )
    assert [(r["topic"], r["title"]) for r in rows] == [
        ("Mental health", "Talking therapies waiting times"),
        ("Carers", "Shared report on carers' finances"),
    ]


def test_digest_cli_malformed_query_points_at_the_problem(polled: Path):
    result = run_cli(polled, "digest", "--query", "topic:fund (since:7d", check=False)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("carefeed: query: ")
    assert "^" in err and "Traceback" not in err
