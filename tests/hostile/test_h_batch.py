"""HOSTILE.md §3a-3c: every case that needs one hostile route and up to three polls.

They share one batch (see ``hostile_kit.run_batch``): one seeded feed per case, one control
feed, poll 1 against the hostile versions, polls 2 and 3 after. Each test then checks its
own feed's outcome and the invariants I1-I6 (I1, I2, I5, I6 are properties of the shared
poll, checked by every test so that each case reports them).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hostile_kit import (
    GOOD_GUIDS,
    BatchResult,
    Ctx,
    Route,
    assert_clean_line,
    assert_inert,
    db_rows,
    good_victim,
    item,
    rss,
    run_batch,
)

from feedserver import MIB, FeedServer
from homes import CORPUS, CORPUS_MISSING

ROUTES: list[Route] = []
TLS: dict[str, str] = {}  # the self-signed server's URL, when one could be made


def case(key: str, serve: Callable[[Ctx], None], between: Callable[[Ctx], None] | None = None):
    ROUTES.append(Route(key, serve, between))
    return key


def static(body: bytes, content_type: str = "application/rss+xml") -> Callable[[Ctx], None]:
    return lambda c: c.server.set(c.path, body, content_type=content_type) and None


def corpus_file(name: str, content_type: str = "application/rss+xml") -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        path = CORPUS / "broken" / name
        if path.exists():
            c.server.set(c.path, path.read_bytes(), content_type=content_type)

    return serve


def need_corpus(name: str) -> None:
    if not (CORPUS / "broken" / name).exists():
        pytest.skip(CORPUS_MISSING if not CORPUS.is_dir() else f"{name} missing from the corpus")


# --------------------------------------------------------------------------- §3a content


def _entity_feed(prolog: str, body: str) -> bytes:
    return rss("Entity blog", [item("e1", "Budget", body=body, escape_text=False)], prolog=prolog)


def _laughs(one_line: bool) -> bytes:
    decls = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    ]
    sep = "" if one_line else "\n  "
    return _entity_feed(f"<!DOCTYPE rss [{sep}{sep.join(decls)}]>", "&l9;")


def _xxe(kind: str) -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        secret = c.tmp / "secret.txt"
        secret.write_text("TOPSECRET-XXE")
        probe = c.server.add("/probe", b"PROBE-BODY", content_type="text/plain")
        target = secret.as_uri() if kind == "file" else probe
        prolog = f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{target}">]>'
        c.server.set(c.path, _entity_feed(prolog, "&x;"))

    return serve


def _local_path(kind: str) -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        local = c.tmp / "local-feed.xml"
        local.write_bytes(rss("Local", [item("local-1", "LOCAL FILE POST")]))
        c.server.set(c.path, b"/dev/zero" if kind == "dev-zero" else str(local).encode())

    return serve


ENTITY_CASES = {
    case(
        "quadratic",
        static(_entity_feed(f'<!DOCTYPE rss [<!ENTITY a "{"x" * 20000}">]>', "&a;" * 20000)),
    ): 6,
    case("laughs-multi", static(_laughs(False))): 7,
    case("laughs-one", static(_laughs(True))): 7,
    case("xxe-file", _xxe("file")): 8,
    case("xxe-http", _xxe("http")): 8,
}


@pytest.mark.case(6, "quadratic-blowup entity", "refused before parsing, small RSS")
def test_quadratic_blowup_is_refused(batch: dict[str, BatchResult]):
    batch["quadratic"].expect_failure("entities")


@pytest.mark.case(7, "billion laughs", "refused quickly, bounded")
@pytest.mark.parametrize("key", ["laughs-multi", "laughs-one"])
def test_billion_laughs_is_refused(batch: dict[str, BatchResult], key: str):
    batch[key].expect_failure("entities")


@pytest.mark.case(8, "XXE file and http entities", "secret unread, probe never requested")
@pytest.mark.parametrize("key", ["xxe-file", "xxe-http"])
def test_xxe_reads_nothing_and_fetches_nothing(batch: dict[str, BatchResult], key: str):
    result = batch[key]
    result.expect_failure("entities")
    assert result.ctx.server.hits("/probe") == 0
    for f in result.home.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"TOPSECRET-XXE" not in data and b"PROBE-BODY" not in data


LOCAL_KEYS = [
    case("dev-zero", _local_path("dev-zero")),
    case("feed-file", _local_path("feed-file")),
]


@pytest.mark.case(9, "body is a local path", "not a feed; local file never read")
@pytest.mark.parametrize("key", LOCAL_KEYS)
def test_body_naming_a_local_file_is_not_opened(batch: dict[str, BatchResult], key: str):
    result = batch[key]
    result.expect_failure("not a feed")
    assert db_rows(result.home, "SELECT count(*) FROM entries WHERE guid = 'local-1'") == [(0,)]


_AUTHOR = "a@" + "a." * 16000 + "!"
case(
    "redos",
    static(
        rss(
            "ReDoS",
            [item(f"r{n}", f"Slow {n}", extra=f"<author>{_AUTHOR}</author>") for n in range(3)],
        )
    ),
)


@pytest.mark.case(10, "ReDoS author (feedparser #562)", "parser killed at its deadline")
def test_redos_author_is_killed_at_the_parse_deadline(batch: dict[str, BatchResult]):
    batch["redos"].expect_failure("too long to parse")


ESCAPES = [
    "\x1b]0;pwned-title\x07",
    "\x1b]52;c;Y3VybCBldmlsCg==\x1b\\",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b[2J",
    "\x1b[31;1m",
    "\x1b]8;;http://evil.example/\x1b\\",
    "\u009b2J",
    "\u009d0;c1-title\u009c",
]


def _escaped_everywhere() -> bytes:
    payload = "".join(ESCAPES)
    as_refs = "&#27;]0;charref-title&#7;&#27;[2J&#155;"

    def x(s: str) -> str:  # XML forbids raw C0 controls; hostile servers send them anyway
        return s.replace("&", "&amp;").replace("<", "&lt;")

    entry = (
        f"<item><title>Title{x(payload)}end{as_refs}</title><guid>esc-1</guid>"
        f"<author>me@example.org (Author{x(payload)})</author>"
        f"<category>Cat{x(payload)}</category>"
        f"<description>Summary{x(payload)}{as_refs}</description>"
        f"<content:encoded><![CDATA[<p>Content{payload}</p>]]></content:encoded></item>"
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
        "xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel>"
        f"<title>Feed{x(payload)}</title>{entry}</channel></rss>"
    ).encode()


case("escapes", static(_escaped_everywhere()))


def _entry_id(result: BatchResult, guid: str) -> int:
    return int(
        db_rows(
            result.home,
            "SELECT id FROM entries WHERE feed_id = ? AND guid = ?",
            result.feed_id,
            guid,
        )[0][0]
    )


@pytest.mark.case(11, "terminal escapes in every field", "stored cleaned; CLI output inert")
def test_terminal_escapes_never_reach_the_terminal(batch: dict[str, BatchResult]):
    result = batch["escapes"]
    result.expect_stored()
    entry_id = str(_entry_id(result, "esc-1"))
    outputs = [
        result.cli("entries").stdout,
        result.cli("entries", "--json").stdout,
        result.cli("feeds").stdout,
        result.cli("show", entry_id).stdout,
        result.cli("show", entry_id, "--json").stdout,
    ]
    for out in outputs:
        assert_inert(out)
        assert b"\\u001b" not in out and b"\\u009b" not in out and b"\\u009d" not in out
        assert b"]52;" not in out and b"]0;" not in out and b"[2J" not in out
    shown = json.loads(outputs[-1])
    for key in ("title", "author", "summary", "content", "feed"):
        assert shown[key] and not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown[key]), key
    assert shown["title"].startswith("Title") and "end" in shown["title"]
    for (text,) in result.rows("title || summary || content"):
        assert not re.search(r"[\x1b\x07\x9b\x9d]", text)


case(
    "bidi",
    static(
        rss(
            "Bidi",
            [
                item(
                    "bidi-1",
                    "Invoice \u202egnp.exe",
                    extra="<category>fund\u200bing</category><category>\u202eesac</category>",
                )
            ],
        )
    ),
)


@pytest.mark.case(12, "bidi and zero-width characters", "overrides removed; topic still matches")
def test_zero_width_category_still_matches_its_topic(batch: dict[str, BatchResult]):
    result = batch["bidi"]
    result.expect_stored()
    found = json.loads(result.cli("entries", "--json", "--tag", "funding").stdout)
    assert [e["guid"] for e in found] == ["bidi-1"]
    assert found[0]["title"] == "Invoice gnp.exe"
    assert "\u202e" not in json.dumps(found, ensure_ascii=False)


DANGEROUS_LINKS = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "--renderer-cmd-prefix=/bin/sh",
    "feed:http://127.0.0.1/x",
    "vbscript:msgbox",
]
case(
    "links",
    static(
        rss(
            "Links",
            [item(f"link-{n}", f"Link {n}", link=u) for n, u in enumerate(DANGEROUS_LINKS)]
            + [item("link-pct", "Percent", link="http://example.com/%action")],
        )
    ),
)


@pytest.mark.case(13, "dangerous item links (CLI side)", "never shown as javascript:/data:")
def test_dangerous_links_are_never_shown(batch: dict[str, BatchResult]):
    result = batch["links"]
    result.expect_stored()
    links = dict(result.rows("guid, link"))
    for n in range(len(DANGEROUS_LINKS)):
        link = links[f"link-{n}"]
        assert link is None or re.match(r"https?://", link), link
    assert str(links["link-pct"]).startswith("http://example.com/")
    text = result.cli("entries", "--json", "--feed", str(result.feed_id)).stdout.lower()
    text += b"".join(
        result.cli("show", str(_entry_id(result, g))).stdout for g in links if g.startswith("link-")
    ).lower()
    for scheme in (b"javascript:", b"data:", b"file:", b"vbscript:"):
        assert scheme not in text
    assert b"link: --" not in text and b'"link": "--' not in text


case(
    "html",
    static(
        rss(
            "HTML",
            [
                item(
                    "html-1",
                    "<b>Care</b> &amp; <script>x()</script> reform",
                    body="<p>Read <a href='javascript:alert(1)'>the review</a> "
                    "<img src=x onerror='alert(2)'> now</p>",
                    escape_text=False,  # raw markup inside the elements, as a careless CMS writes
                )
            ],
        )
    ),
)


@pytest.mark.case(14, "HTML in text fields", "title as text, no javascript: target")
def test_html_in_titles_and_bodies_is_text(batch: dict[str, BatchResult]):
    result = batch["html"]
    result.expect_stored()
    (title,) = [t for g, t in result.rows() if g == "html-1"]
    assert "<b>" not in title and "<script>" not in title
    assert title.startswith("Care &") and "reform" in title
    shown = result.cli("show", str(_entry_id(result, "html-1"))).stdout.decode()
    assert "the review" in shown
    assert "javascript:" not in shown.lower() and "onerror" not in shown


_NUL_DOC = rss(
    "NUL",
    [
        "<item><title>Care\x00Act review</title><guid>nul\x00guid</guid>"
        "<category>Care&#0;Act</category><description>x</description></item>"
    ],
)
case("nul", static(_NUL_DOC), between=static(_NUL_DOC + b" "))


@pytest.mark.case(18, "NUL bytes in title/guid/category", "NUL removed; found; guid stable")
def test_nul_bytes_are_removed_and_the_guid_is_stable(batch: dict[str, BatchResult]):
    result = batch["nul"]
    result.expect_stored()
    rows = [(g, t) for g, t in result.rows() if t.startswith("Care")]
    assert len(rows) == 1 and "\x00" not in rows[0][0] + rows[0][1], rows
    assert result.event(1)["status"] == "ok" and result.event(1)["new"] == 0  # same guid
    found = json.loads(result.cli("entries", "--json", "--search", "Care").stdout)
    assert any(e["guid"] == rows[0][0] for e in found)


# --------------------------------------------------------------------------- §3b malformed

ENCODINGS = [
    "cp1252-byte-in-utf8-ianlandsman.xml",
    "undeclared-latin1-cercle-psy.xml",
    "gb2312-kc0011-slashdates.rss",
]
for _name in ENCODINGS:
    case(_name, corpus_file(_name))


@pytest.mark.case(19, "wrong declared encoding (corpus)", "right characters or clear error")
@pytest.mark.parametrize("name", ENCODINGS)
def test_wrong_declared_encoding(batch: dict[str, BatchResult], name: str):
    need_corpus(name)
    result = batch[name]
    event = result.event()
    if event["status"] == "error":  # allowed: a clear refusal naming the encoding
        result.expect_failure("utf-8")
        return
    result.expect_stored()
    assert event["new"] > 0, event
    titles = [t for g, t in result.rows() if g not in GOOD_GUIDS]
    soup = sum(t.count("\ufffd") for t in titles)
    assert soup <= max(1, len(titles) // 10), f"{soup} replacement characters in {titles[:5]}"
    assert not any("CharacterEncodingOverride" in w for w in event["warnings"])


case(
    "bad-utf8",
    static(
        rss("Bytes", [item("bad-utf8", "Care PLACEHOLDER review")]).replace(
            b"PLACEHOLDER", b"\xff\xfe"
        )
    ),
)


@pytest.mark.case(20, "invalid UTF-8 bytes in a title", "stored; no exception later")
def test_invalid_utf8_bytes(batch: dict[str, BatchResult]):
    result = batch["bad-utf8"]
    result.expect_stored()
    (title,) = [t for g, t in result.rows() if g == "bad-utf8"]
    assert title.startswith("Care") and title.endswith("review")
    # a fresh process reads that cache without trouble (newsboat #2899 crashed at start-up)
    assert_inert(result.cli("show", str(_entry_id(result, "bad-utf8"))).stdout)


UNDEFINED = [
    "undefined-entity-copy-coryforsyth-wp-atom.xml",
    "undefined-entity-em-girtby-comments.xml",
    "undefined-entity-nbsp-dbengines.xml",
]
for _name in UNDEFINED:
    case(_name, corpus_file(_name, "application/xml"))
case(
    "entities-generated",
    static(
        rss(
            "Ents",
            [item("ent-1", "Fees&nbsp;rise &copy; 2026 &em; AT&T and B&Q", escape_text=False)],
        )
    ),
)


@pytest.mark.case(21, "undefined entities, bare ampersand", "items stored")
@pytest.mark.parametrize("key", [*UNDEFINED, "entities-generated"])
def test_undefined_entities_and_bare_ampersands(batch: dict[str, BatchResult], key: str):
    if key != "entities-generated":
        need_corpus(key)
    result = batch[key]
    event = result.expect_stored()
    if "comments" in key:  # a comment feed (issue 4): its items become comments, not posts
        assert any("4 comments wait for their post" in w for w in event["warnings"]), event
    else:
        assert event["new"] > 0
    if key == "entities-generated":
        (title,) = [t for g, t in result.rows() if g == "ent-1"]
        assert "AT" in title and "rise" in title


_LINK_PAGE = (
    b"<!doctype html><html><head><title>Blog</title>"
    b"<link rel='alternate' type='application/rss+xml' href='/a.xml'>"
    b"<link rel='alternate' type='application/atom+xml' href='/b.xml'>"
    b"</head><body>Hello</body></html>"
)
NOT_FEEDS = {
    case(
        "html-404-at-feed-url-infokueche.html",
        corpus_file("html-404-at-feed-url-infokueche.html", "text/html"),
    ): "not a feed",
    case(
        "html-page-bare-ampersand-scrubyt.xml",
        corpus_file("html-page-bare-ampersand-scrubyt.xml", "application/xml"),
    ): "not a feed",
    case("html-links", static(_LINK_PAGE, "text/html; charset=utf-8")): "not a feed",
    case("empty", static(b"")): "empty response",
    case("json-error", static(b'{"error": "rate limited"}', "application/json")): "not a feed",
}


@pytest.mark.case(22, "not a feed (HTML, empty, JSON)", "clear error; cache kept")
@pytest.mark.parametrize("key", list(NOT_FEEDS))
def test_not_a_feed(batch: dict[str, BatchResult], key: str):
    if key.endswith((".html", ".xml")):
        need_corpus(key)
    batch[key].expect_failure(NOT_FEEDS[key])


_TYPED = rss("Typed", [item("typed-1", "Served with the wrong type")])
TYPES = [
    case("type-text-html", static(_TYPED, "text/html")),
    case("type-octet-stream", static(_TYPED, "application/octet-stream")),
    case("atom-named-rss-daringfireball.rss", corpus_file("atom-named-rss-daringfireball.rss")),
]


@pytest.mark.case(23, "wrong Content-Type, real feed", "parsed, type sniffed from content")
@pytest.mark.parametrize("key", TYPES)
def test_wrong_content_type_but_a_real_feed(batch: dict[str, BatchResult], key: str):
    if key.endswith(".rss"):
        need_corpus(key)
    assert batch[key].expect_stored()["new"] > 0


def _again(c: Ctx) -> None:
    """The same document with one more byte: fetched and parsed again, same posts."""
    route = c.server._routes[c.path]
    c.server.set(c.path, route.body + b"\n")


_BARE = rss(
    "Bare",
    [
        "<item><description>No title, link, guid or date: first</description></item>",
        "<item><description>No title, link, guid or date: second</description></item>",
        "<item><title>Only a title</title></item>",
    ],
)
MISSING = [
    case(
        "all-untitled-wordland-markdown2.rss",
        corpus_file("all-untitled-wordland-markdown2.rss"),
        _again,
    ),
    case("no-dates-heise.rdf", corpus_file("no-dates-heise.rdf", "application/xml"), _again),
    case("missing-generated", static(_BARE), _again),
]


@pytest.mark.case(24, "missing title/link/guid/date", "stable ids, not new again")
@pytest.mark.parametrize("key", MISSING)
def test_missing_fields_get_stable_stand_ins(batch: dict[str, BatchResult], key: str):
    if key != "missing-generated":
        need_corpus(key)
    result = batch[key]
    first = result.expect_stored()
    assert first["new"] > 0
    second = result.event(1)
    assert second["status"] == "ok" and second["new"] == 0, second
    rows = result.rows("guid, title, read")
    assert len(rows) == first["new"] + len(GOOD_GUIDS)
    assert all(t.strip() for _, t, _ in rows)  # a title was synthesised


DUPES = [
    case(
        "dup-guids-untitled-scriptingnews.rss", corpus_file("dup-guids-untitled-scriptingnews.rss")
    ),
    case(
        "dup-generated",
        static(
            rss(
                "Twins",
                [item("twin", "First twin"), item("twin", "Second twin"), item("solo", "Solo")],
            )
        ),
    ),
]


@pytest.mark.case(25, "duplicate guids in one feed", "no crash, deterministic keep")
@pytest.mark.parametrize("key", DUPES)
def test_duplicate_guids(batch: dict[str, BatchResult], key: str):
    if key.endswith(".rss"):
        need_corpus(key)
    result = batch[key]
    event = result.expect_stored()
    assert event["new"] > 0
    guids = [g for g, _ in result.rows()]
    assert len(guids) == len(set(guids))
    if key == "dup-generated":
        assert any("duplicate" in w.lower() for w in event["warnings"]), event["warnings"]


case(
    "guid-reused",
    static(
        rss(
            "Reuse",
            [item(GOOD_GUIDS[0], "Staffing", body="New content"), item(GOOD_GUIDS[1], "Pay")],
        )
    ),
)


@pytest.mark.case(26, "guid reused for another post", "updated in place, flags kept")
def test_guid_reused_updates_in_place(batch: dict[str, BatchResult]):
    result = batch["guid-reused"]
    assert result.expect_stored()["updated"] >= 1
    titles = dict(result.rows())
    assert titles[GOOD_GUIDS[0]] == "Staffing" and len(titles) == len(GOOD_GUIDS)


_TEN = [item(f"ten-{n}", f"Post {n}") for n in range(10)]
case("disappear", static(rss("Ten", _TEN)), between=static(rss("Ten", _TEN[-3:])))


@pytest.mark.case(27, "entries disappear from the feed", "all remain in the cache")
def test_entries_that_leave_the_feed_stay(batch: dict[str, BatchResult]):
    result = batch["disappear"]
    result.expect_stored()
    assert result.event(1)["status"] == "ok"
    guids = {g for g, _ in result.rows()}
    assert {f"ten-{n}" for n in range(10)} | set(GOOD_GUIDS) <= guids


HOSTILE_DATES = {
    "y9999": "Fri, 31 Dec 9999 23:59:59 GMT",
    "y1900": "Mon, 01 Jan 1900 00:00:00 GMT",
    "zeros": "0000-00-00",
    "garbage": "the day after tomorrow",
    "plus14": "Mon, 02 Nov 2026 10:00:00 +1400",
    "future5": formatdate(time.time() + 5 * 365 * 86400, usegmt=True),
    "overflow": "Sat, 01 Jan 99999999999 00:00:00 GMT",
}
_DATED = [
    f"<item><title>Date {k}</title><guid>date-{k}</guid><pubDate>{v}</pubDate></item>"
    for k, v in HOSTILE_DATES.items()
]


def _fresh_post(c: Ctx) -> None:
    time.sleep(1.0)  # a second after poll 1: the fresh post is newer than any first-seen
    fresh = (
        "<item><title>Fresh</title><guid>fresh</guid>"
        f"<pubDate>{formatdate(time.time(), usegmt=True)}</pubDate></item>"
    )
    c.server.set(c.path, rss("Dates", [*_DATED, fresh]))


case("dates", static(rss("Dates", _DATED)), between=_fresh_post)


@pytest.mark.case(28, "hostile dates", "no overflow; future not pinned on top")
def test_hostile_dates(batch: dict[str, BatchResult]):
    result = batch["dates"]
    result.expect_stored()
    assert result.event(1)["status"] == "ok"
    order = [
        g
        for (g,) in db_rows(
            result.home,
            "SELECT guid FROM entries WHERE feed_id = ? ORDER BY sort_time DESC, id DESC",
            result.feed_id,
        )
    ]
    assert {f"date-{k}" for k in HOSTILE_DATES} <= set(order)
    assert order.index("fresh") < order.index("date-y9999")
    assert order.index("fresh") < order.index("date-future5")


_BASED = (
    b"<?xml version='1.0' encoding='utf-8'?>"
    b"<feed xmlns='http://www.w3.org/2005/Atom' xml:base='javascript:alert(1)//'>"
    b"<title>Based</title><id>urn:x</id><updated>2026-11-02T10:00:00Z</updated>"
    b"<entry><title>Rel</title><id>rel-1</id><updated>2026-11-02T10:00:00Z</updated>"
    b"<link href='/2026/11/rel'/></entry>"
    b"<entry xml:base='data:text/html,'><title>Rel2</title><id>rel-2</id>"
    b"<updated>2026-11-02T10:00:00Z</updated><link href='x.html'/></entry></feed>"
)
RELATIVE = [
    case("relative-links-whizzy-wp-static.xml", corpus_file("relative-links-whizzy-wp-static.xml")),
    case("xml-base-javascript", static(_BASED, "application/atom+xml")),
]


@pytest.mark.case(29, "relative links, javascript: xml:base", "resolved; javascript base ignored")
@pytest.mark.parametrize("key", RELATIVE)
def test_relative_links_and_hostile_xml_base(batch: dict[str, BatchResult], key: str):
    if key.endswith(".xml"):
        need_corpus(key)
    result = batch[key]
    result.expect_stored()
    links = [str(link) for (link,) in result.rows("link") if link]
    assert links and all(re.match(r"https?://[^/]", u) for u in links), links
    if key == "xml-base-javascript":
        assert f"{result.ctx.server.base_url}/2026/11/rel" in links


CONTROLS = [
    "control-char-0x10-lincolnloop.xml",
    "esc-char-in-pre-notsostupid-wp.xml",
    "invalid-charref-huge-nextinpact.xml",
]
for _name in CONTROLS:
    case(_name, corpus_file(_name))


@pytest.mark.case(30, "control characters in valid feeds", "stored, stripped, never printed")
@pytest.mark.parametrize("key", CONTROLS)
def test_control_characters_in_real_feeds(batch: dict[str, BatchResult], key: str):
    need_corpus(key)
    result = batch[key]
    assert result.expect_stored()["new"] > 0
    for (text,) in result.rows("title || summary || content"):
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    ids = [str(i) for (i,) in result.rows("id")][:3]
    for entry_id in ids:
        assert_inert(result.cli("show", entry_id).stdout)


_CUT = rss("Cut", [item(f"cut-{n}", f"Complete post {n}", body="w " * 50) for n in range(10)])
case("truncated", static(_CUT[: len(_CUT) * 6 // 10]))


@pytest.mark.case(31, "truncated feed (first 60%)", "complete items kept or clear error")
def test_truncated_feed(batch: dict[str, BatchResult]):
    result = batch["truncated"]
    if result.event()["status"] == "error":
        result.expect_failure("not a feed")
        return
    event = result.expect_stored()
    titles = [t for g, t in result.rows() if g.startswith("cut-")]
    assert 0 < len(titles) <= 10 and all(t.startswith("Complete post") for t in titles)
    assert event["warnings"], "a recovered document deserves a warning"


# --------------------------------------------------------------------------- §3c HTTP


def _reset(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss version='2.0'><chan")
    h.wfile.flush()
    time.sleep(0.1)
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.rfile.close()
    h.wfile.close()
    h.connection.close()  # linger 0: RST, not FIN
    h.wfile = io.BytesIO()
    h.close_connection = True


def _endless_headers(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for n in range(100_000):
        h.wfile.write(b"X-Pad-%d: %s\r\n" % (n, b"p" * 16))


def _huge_header(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * MIB + b"\r\n\r\n")


def _ssh(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    h.close_connection = True


def _noise(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(bytes(range(256)) * 4)
    h.close_connection = True


def _handler(fn: Callable[[BaseHTTPRequestHandler], None]) -> Callable[[Ctx], None]:
    return lambda c: c.server.handler(c.path, fn) and None


HTTP_FAILURES: dict[str, tuple[int, str, str, tuple[str, ...]]] = {}


def http_case(number: int, what: str, key: str, serve: Callable[[Ctx], None], *words: str) -> None:
    case(key, serve)
    HTTP_FAILURES[key] = (number, what, key, words)


http_case(
    32,
    "slowloris",
    "slowloris",
    lambda c: c.server.slow(c.path, chunk=b"<", every=0.5) and None,
    "too slow",
    "2 s",
)
http_case(
    33, "endless body", "endless", lambda c: c.server.endless(c.path) and None, "too large", "1 MiB"
)
http_case(
    34,
    "lying length",
    "length-200MB",
    lambda c: c.server.lying_length(c.path, declared=200 * MIB) and None,
    "too large",
    "announced",
)
http_case(
    34,
    "lying length",
    "length-short",
    lambda c: c.server.lying_length(c.path, declared=100_000) and None,
    "closed early",
)
http_case(
    35,
    "bomb",
    "bomb-gzip",
    lambda c: c.server.gzip_bomb(c.path, encoding="gzip") and None,
    "too large",
    "after decompression",
)
http_case(
    35,
    "bomb",
    "bomb-deflate",
    lambda c: c.server.gzip_bomb(c.path, encoding="deflate") and None,
    "too large",
    "after decompression",
)
http_case(36, "hang", "hang", lambda c: c.server.hang(c.path) and None, "no response")
http_case(37, "reset", "reset", _handler(_reset), "connection reset")
http_case(38, "headers", "headers-endless", _handler(_endless_headers), "invalid http response")
http_case(38, "headers", "headers-1MB", _handler(_huge_header), "invalid http response")
http_case(39, "garbage", "garbage-bytes", _handler(_noise), "invalid http response")
# a banner line then EOF reaches carefeed from httpcore as "disconnected without sending a
# response": it cannot tell that line from silence, so the wording is "closed early"
http_case(39, "garbage", "garbage-ssh", _handler(_ssh), "connection closed early")


def _redirect(location: str | Callable[[Ctx], str], status: int = 302) -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        target = location(c) if callable(location) else location
        c.server.redirect(c.path, target, status=status)

    return serve


def _plain_port(c: Ctx) -> str:
    c.server.add("/plain", good_victim())
    return c.server.url("/plain").replace("http://", "https://")


http_case(40, "tls", "tls-plain-port", _redirect(_plain_port), "tls error")
http_case(
    40,
    "tls",
    "tls-self-signed",
    _redirect(lambda c: TLS.get("url", "https://127.0.0.1:9/")),
    "tls error",
)
for _loc, _scheme in [
    ("file:///etc/passwd", "file"),
    ("ftp://127.0.0.1/feed.xml", "ftp"),
    ("javascript:alert(1)", "javascript"),
    ("gopher://127.0.0.1/1", "gopher"),
]:
    http_case(42, "scheme", f"to-{_scheme}", _redirect(_loc, 301), f"{_scheme}:")
http_case(45, "status", "http-404", lambda c: c.server.error(c.path, 404) and None, "http 404")
http_case(45, "status", "http-500", lambda c: c.server.error(c.path, 500) and None, "http 500")
http_case(45, "status", "http-502", lambda c: c.server.error(c.path, 502) and None, "http 502")
http_case(45, "status", "http-503", lambda c: c.server.error(c.path, 503) and None, "http 503")
http_case(
    48,
    "status line",
    "reason-phrase",
    lambda c: c.server.error(c.path, 500, reason="[@click=app.quit] \x1b]0;pwn\x07 Oops") and None,
    "http 500",
)


def _raw_status(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(
        b"HTTP/1.1 503 [@click=app.quit] \x1b]0;pwn\x07 \xff\x9b2J\r\n"
        b"Content-Length: 0\r\nX-Evil: \xff\xfe\x1b[2J\r\n\r\n"
    )


def _location_with_controls(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(
        b"HTTP/1.1 302 Found\r\nLocation: /x\x1b]0;pwn\x07/\rEvil\r\nContent-Length: 0\r\n\r\n"
    )


http_case(48, "status line", "raw-header-bytes", _handler(_raw_status), "503")
http_case(48, "status line", "location-controls", _handler(_location_with_controls))
http_case(50, "connect", "refused", _redirect("http://127.0.0.1:9/feed"), "cannot connect")
http_case(
    50, "connect", "unknown-host", _redirect("http://nonexistent.invalid/feed"), "host not found"
)

_TITLES = {
    32: ("slowloris body (1 byte / 0.5 s)", "abandoned at the 2 s deadline"),
    33: ("endless fast body", "stopped at the body cap"),
    34: ("lying Content-Length", "refused up front / closed early"),
    35: ("decompression bombs (1 GiB)", "stopped at the decoded cap"),
    36: ("accept and never answer", "no response"),
    37: ("reset mid-body (RST)", "connection reset, nothing stored"),
    38: ("endless headers / 1 MB header", "invalid HTTP response"),
    39: ("garbage instead of HTTP", "invalid response / closed early"),
    40: ("TLS: plain port / self-signed", "TLS error, never downgraded"),
    42: ("redirect to other schemes", "refused, scheme named"),
    45: ("404 and 5xx", "clear line, back-off, 0 requests after"),
    48: ("hostile status line and headers", "error text cleaned"),
    50: ("connection refused / DNS failure", "cannot connect / host not found"),
}


def _http_params() -> Iterator[object]:
    for key, (number, _what, _key, words) in HTTP_FAILURES.items():
        title, expected = _TITLES[number]
        yield pytest.param(key, words, id=key, marks=pytest.mark.case(number, title, expected))


@pytest.mark.parametrize(("key", "words"), list(_http_params()))
def test_hostile_server_fails_alone(
    batch: dict[str, BatchResult], key: str, words: tuple[str, ...]
):
    if key == "tls-self-signed" and "url" not in TLS:
        pytest.skip("no self-signed server: neither cryptography nor openssl is available")
    result = batch[key]
    error = result.expect_failure(*words)
    assert "\x1b" not in error and "pwn\x07" not in error
    feed = result.feeds_after_last[result.feed_id]
    assert feed["url"] == result.url  # never moved, never downgraded
    assert result.ctx.server.hits("/plain") == 0  # https was never retried as http
    if key.startswith(("length-", "reset")):
        assert len(result.rows()) == len(GOOD_GUIDS)  # nothing partial stored
    if key.startswith("bomb-"):
        assert result.polls[0].rss_mb < 150  # a 1 MiB cap, inflated bit by bit
    if key.startswith("http-"):  # back-off: polls 2 and 3 do not ask again
        assert result.later_hits == 0 and feed["gone"] is False and feed["next_due"]
        due = datetime.fromisoformat(feed["next_due"].replace("Z", "+00:00"))
        fetched = datetime.fromisoformat(feed["last_fetch"].replace("Z", "+00:00"))
        assert due >= fetched + timedelta(minutes=30)  # interval 1 h, jitter ±25 %


_MOVED = rss("Moved", [item("moved-1", "After the move")])


def _move(status: int, target: str) -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        if target == "feed":
            new = c.server.add(f"{c.path}/moved.xml", _MOVED)
        elif target == "html":
            new = c.server.add(
                f"{c.path}/page", b"<!doctype html><html>hi</html>", content_type="text/html"
            )
        else:
            new = c.server.url("/control-batch")
        c.server.redirect(c.path, new.removeprefix(c.server.base_url), status=status)

    return serve


MOVES = {
    case("move-301", _move(301, "feed")): True,
    case("move-308", _move(308, "feed")): True,
    case("move-302", _move(302, "feed")): False,
    case("move-307", _move(307, "feed")): False,
    case("move-301-html", _move(301, "html")): False,
    case("move-301-subscribed", _move(301, "subscribed")): False,
}


@pytest.mark.case(43, "permanent vs temporary redirects", "URL moves only on 301/308 to a feed")
@pytest.mark.parametrize(
    "key",
    list(MOVES),
)
def test_permanent_and_temporary_redirects(batch: dict[str, BatchResult], key: str):
    result = batch[key]
    result.check_shared()
    event = result.event()
    url_now = result.feeds_after_first[result.feed_id]["url"]
    if MOVES[key]:
        assert event["status"] == "ok" and event["moved_to"] == url_now != result.url, event
    else:
        assert url_now == result.url, event
    if key.endswith("html"):
        assert_clean_line(event["error"], "not a feed")
    if key.endswith("subscribed"):  # merged, or refused with a clear word about the other feed
        said = " ".join([event["error"] or "", *event["warnings"]]).lower()
        assert "already subscribed" in said or "another feed" in said, event
    result.assert_nothing_lost()


_REACHED = rss("Scheme-relative", [item("rel-1", "Reached over http")])


def _scheme_relative(status: int, host: bool = True) -> Callable[[Ctx], None]:
    """``Location: //127.0.0.1:PORT/...`` (the scheme is the current one's: http), or
    ``///etc/passwd`` (which names no host at all)."""

    def serve(c: Ctx) -> None:
        if host:
            c.server.add(f"{c.path}/target.xml", _REACHED)
            location = "//" + c.server.base_url.split("://", 1)[1] + f"{c.path}/target.xml"
        else:
            location = "///etc/passwd"
        c.server.redirect(c.path, location, status=status)

    return serve


SCHEME_RELATIVE = [
    case("to-scheme-relative-302", _scheme_relative(302)),
    case("to-scheme-relative-301", _scheme_relative(301)),
    case("to-triple-slash", _scheme_relative(301, host=False)),
]


@pytest.mark.case(42, "redirect to a scheme-relative //host", "resolved as http; no local file")
@pytest.mark.parametrize("key", SCHEME_RELATIVE)
def test_scheme_relative_redirects(batch: dict[str, BatchResult], key: str):
    result = batch[key]
    if key == "to-triple-slash":
        # parsers disagree on what ``///etc/passwd`` names (no host; this server's
        # /etc/passwd; a host called "etc"), but never a local file: one clear failure
        error = result.expect_failure()
        assert "root:" not in error and "file" not in error.lower(), error
        assert result.feeds_after_last[result.feed_id]["url"] == result.url
        assert {g for (g,) in result.rows("guid")} == set(GOOD_GUIDS)
        return
    event = result.expect_stored()
    target = result.ctx.server.url(f"{result.ctx.path}/target.xml")
    assert result.ctx.server.hits(f"{result.ctx.path}/target.xml") >= 1  # followed, over http
    assert "rel-1" in {g for (g,) in result.rows("guid")}
    url_now = result.feeds_after_first[result.feed_id]["url"]
    if key.endswith("302"):
        assert url_now == result.url, event  # a temporary redirect never rewrites
    else:
        assert url_now == target and target.startswith("http://"), (url_now, event)


case("gone", lambda c: c.server.error(c.path, 410) and None)


@pytest.mark.case(44, "410 Gone", "marked gone, 0 requests over 2 more polls")
def test_gone_is_never_polled_again(batch: dict[str, BatchResult]):
    result = batch["gone"]
    result.expect_failure("gone")
    assert result.feeds_after_last[result.feed_id]["gone"] is True
    assert result.later_hits == 0


RETRY_AFTER = {
    "120": (100, None),
    "date+1h": (3500, None),
    "date-past": (None, None),
    "-5": (None, None),
    "soon": (None, None),
    "999999999": (None, 7 * 86400 + 60),
}


def _busy(value: str, status: int = 429) -> Callable[[Ctx], None]:
    def serve(c: Ctx) -> None:
        now = datetime.now(UTC)
        header = value
        if value == "date+1h":
            header = format_datetime(now + timedelta(hours=1), usegmt=True)
        elif value == "date-past":
            header = format_datetime(now - timedelta(hours=1), usegmt=True)
        c.server.error(c.path, status, headers={"Retry-After": header})

    return serve


for _value in RETRY_AFTER:
    case(f"retry-after-{_value}", _busy(_value))
RETRY_503 = {k: RETRY_AFTER[k] for k in ("120", "date+1h")}  # seconds and HTTP-date forms
for _value in RETRY_503:
    case(f"retry-after-503-{_value}", _busy(_value, 503))


@pytest.mark.case(46, "429 with Retry-After", "honoured, clamped; no request inside the window")
@pytest.mark.parametrize("value", list(RETRY_AFTER))
def test_retry_after(batch: dict[str, BatchResult], value: str):
    result = batch[f"retry-after-{value}"]
    result.expect_failure("http 429")
    feed = result.feeds_after_first[result.feed_id]
    due = datetime.fromisoformat(feed["next_due"].replace("Z", "+00:00"))
    fetched = datetime.fromisoformat(feed["last_fetch"].replace("Z", "+00:00"))
    wait = (due - fetched).total_seconds()
    at_least, at_most = RETRY_AFTER[value]
    assert wait > 0
    if at_least is not None:
        assert wait >= at_least, wait
    if at_most is not None:
        assert wait <= at_most, wait
    assert result.later_hits == 0  # inside the window: no request at all


@pytest.mark.case(46, "503 with Retry-After", "honoured; no request inside the window")
@pytest.mark.parametrize("value", list(RETRY_503))
def test_retry_after_on_503(batch: dict[str, BatchResult], value: str):
    result = batch[f"retry-after-503-{value}"]
    result.expect_failure("http 503")
    feed = result.feeds_after_first[result.feed_id]
    due = datetime.fromisoformat(feed["next_due"].replace("Z", "+00:00"))
    fetched = datetime.fromisoformat(feed["last_fetch"].replace("Z", "+00:00"))
    at_least, _ = RETRY_503[value]
    assert at_least is not None and (due - fetched).total_seconds() >= at_least
    assert result.later_hits == 0


case(
    "charset-x-evil",
    static(
        rss("Charset", [item("charset-1", "Caf\u00e9 funding")]),
        "application/rss+xml; charset=x-evil",
    ),
)


@pytest.mark.case(48, "hostile status line and headers", "unknown charset: read or clear error")
def test_unknown_charset(batch: dict[str, BatchResult]):
    result = batch["charset-x-evil"]
    if result.event()["status"] == "error":
        result.expect_failure("charset")
    else:
        result.expect_stored()
        assert [t for g, t in result.rows() if g == "charset-1"] == ["Caf\u00e9 funding"]


# --------------------------------------------------------------------------- the batch


def _self_signed(folder: Path) -> FeedServer | None:
    key, cert = folder / "key.pem", folder / "cert.pem"
    try:
        import cryptography  # noqa: F401

        have_cryptography = True
    except ImportError:
        have_cryptography = False
    if shutil.which("openssl"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    elif have_cryptography:  # pragma: no cover - openssl is the usual way here
        _make_cert_with_cryptography(key, cert)
    else:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = FeedServer()
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
    server.add("/feed.xml", good_victim())
    return server.start()


def _make_cert_with_cryptography(key_path: Path, cert_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def batch(
    hostile_server: FeedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, BatchResult]]:
    root = tmp_path_factory.mktemp("batch")
    tls = _self_signed(root)
    if tls is not None:
        TLS["url"] = tls.url("/feed.xml").replace("http://", "https://")
    try:
        yield run_batch(hostile_server, root, ROUTES)
    finally:
        if tls is not None:
            tls.close()
