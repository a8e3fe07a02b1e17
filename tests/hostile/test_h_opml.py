"""HOSTILE.md §3f: OPML files as an attacker writes them, through `carefeed import/export`."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as DET
import pytest
from hostile_kit import LIMITS, assert_clean_line, item, rss

from feedserver import FeedServer
from homes import make_home, run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home", **LIMITS)


def _opml(body: str, prolog: str = "", encoding: str = "UTF-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>{prolog}<opml version="2.0">'
        f"<head><title>subs</title></head><body>{body}</body></opml>"
    ).encode("utf-8" if encoding.upper() == "UTF-8" else "latin-1")


def _import(home: Path, tmp_path: Path, data: bytes, name: str = "in.opml") -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    result = run_cli(home, "import", str(path), "--json", check=False)
    assert b"Traceback" not in result.stderr
    if result.returncode != 0:
        return result
    return json.loads(result.stdout)


def _feeds(home: Path) -> list[dict[str, Any]]:
    return list(json.loads(run_cli(home, "feeds", "--json").stdout))


def _outline(url: str, text: str = "x") -> str:
    return f"<outline type='rss' text={quoteattr(text)} xmlUrl={quoteattr(url)}/>"


@pytest.mark.case(61, "OPML entity and DTD attacks", "refused; probe never requested")
@pytest.mark.parametrize("kind", ["laughs", "quadratic", "xxe-file", "xxe-http", "external-dtd"])
def test_opml_entity_attacks(home: Path, tmp_path: Path, server: FeedServer, kind: str):
    secret = tmp_path / "secret.txt"
    secret.write_text("OPML-SECRET")
    probe = server.add("/probe.dtd", b"<!ENTITY p 'PROBED'>", content_type="text/plain")
    body = _outline("http://127.0.0.1:9/feed", "&e;")
    if kind == "laughs":
        decls = '<!ENTITY a0 "ha">' + "".join(
            f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
        )
        prolog, body = f"<!DOCTYPE opml [{decls}]>", body.replace("&e;", "&a9;")
    elif kind == "quadratic":
        prolog = f'<!DOCTYPE opml [<!ENTITY e "{"q" * 20000}">]>'
        body = _outline("http://127.0.0.1:9/feed", "&e;" * 20000).replace("&amp;", "&")
    elif kind == "xxe-file":
        prolog = f'<!DOCTYPE opml [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
    elif kind == "xxe-http":
        prolog = f'<!DOCTYPE opml [<!ENTITY e SYSTEM "{probe}">]>'
    else:
        prolog, body = f'<!DOCTYPE opml SYSTEM "{probe}">', _outline("http://127.0.0.1:9/f")
    body = body.replace("&amp;", "&")  # quoteattr escaped the entity references
    started = time.monotonic()
    result = _import(home, tmp_path, _opml(body, prolog))
    assert time.monotonic() - started < 5
    assert not isinstance(result, dict), "an OPML with a DTD was imported"
    assert result.returncode == 1
    message = result.stderr.decode().strip().removeprefix("carefeed: ")
    assert_clean_line(message, "refused")
    assert "OPML-SECRET" not in message and "PROBED" not in message
    assert server.hits("/probe.dtd") == 0
    assert _feeds(home) == []


BAD_ADDRESSES = [
    "javascript:alert(1)",
    "file:///etc/passwd",
    "exec:ls",
    "|~/script",
    "filter:/bin/sh:http://127.0.0.1/x",
    "ftp://127.0.0.1/feed",
]


@pytest.mark.case(62, "OPML shape attacks (mixed file)", "one report, reasons, idempotent")
def test_opml_mixed_shapes_one_report(home: Path, tmp_path: Path, server: FeedServer):
    include = server.add("/include.opml", b"<opml/>", content_type="text/x-opml")
    outlines = [
        _outline("http://127.0.0.1:9/good", "Good"),
        _outline("http://127.0.0.1:9/good", "Same again"),
        _outline("http://127.0.0.1:9/good/", "Trailing slash"),
        _outline("http://127.0.0.1:9/Case", "Case A"),
        _outline("http://127.0.0.1:9/case", "Case B (a different path)"),
        _outline("feed://127.0.0.1:9/rss", "Feed scheme"),
        "<outline text='No address at all'/>",
        f"<outline type='include' text='Include' url={quoteattr(include)}/>",
        *(_outline(u, f"Bad {n}") for n, u in enumerate(BAD_ADDRESSES)),
    ]
    data = _opml("<outline text='Folder'>" + "".join(outlines) + "</outline>")
    report = _import(home, tmp_path, data)
    assert isinstance(report, dict), report
    added = {a["url"] for a in report["added"]}
    assert "http://127.0.0.1:9/good" in added or "http://127.0.0.1:9/good/" in added
    assert not ({"http://127.0.0.1:9/good", "http://127.0.0.1:9/good/"} <= added)
    assert {"http://127.0.0.1:9/Case", "http://127.0.0.1:9/case"} <= added
    assert any(u.startswith("http://127.0.0.1:9/rss") for u in added)  # feed:// normalised
    refused = {r["outline"]: r["reason"] for r in report["refused"]}
    for n in range(len(BAD_ADDRESSES)):
        assert f"Bad {n}" in refused, refused
        assert_clean_line(refused[f"Bad {n}"])
    assert "Include" in refused
    assert server.hits("/include.opml") == 0
    for a in added:
        assert re.match(r"https?://", a)
    # idempotent: a second import adds nothing
    again = _import(home, tmp_path, data)
    assert again["added"] == [] and len(_feeds(home)) == len(added)


def _nested(depth: int) -> bytes:
    return _opml(
        "<outline text='f'>" * depth + _outline("http://127.0.0.1:9/deep") + "</outline>" * depth
    )


@pytest.mark.case(62, "OPML shape attacks (sizes, depth)", "no RecursionError, caps, fast")
@pytest.mark.parametrize("kind", ["10000-outlines", "depth-200", "depth-100000"])
def test_opml_size_and_depth(home: Path, tmp_path: Path, kind: str):
    if kind == "10000-outlines":
        data = _opml("".join(_outline(f"http://127.0.0.1:9/f{n}", f"F{n}") for n in range(10_000)))
    else:
        data = _nested(int(kind.split("-")[1]))
    started = time.monotonic()
    report = _import(home, tmp_path, data)
    assert time.monotonic() - started < 15
    assert isinstance(report, dict), report.stderr
    if kind == "10000-outlines":
        assert len(report["added"]) == 10_000
    else:
        (sub,) = report["added"]
        assert 0 < len(sub["tags"]) <= 50


@pytest.mark.case(62, "OPML shape attacks (encodings, bad XML)", "read, or one clear line")
@pytest.mark.parametrize("kind", ["iso-8859-1", "undeclared-latin1", "invalid-xml", "50MB"])
def test_opml_encodings_invalid_and_huge(home: Path, tmp_path: Path, kind: str):
    name = "Caf\u00e9 Soci\u00e9t\u00e9"
    if kind == "iso-8859-1":
        data = _opml(_outline("http://127.0.0.1:9/latin", name), encoding="ISO-8859-1")
    elif kind == "undeclared-latin1":
        data = _opml(_outline("http://127.0.0.1:9/latin", name)).replace(
            name.encode("utf-8"), name.encode("latin-1")
        )
    elif kind == "invalid-xml":
        data = b"<?xml version='1.0'?><opml><body><outline text='x' xmlUrl='http://a/'></body>"
    else:
        path = tmp_path / "huge.opml"
        with path.open("wb") as f:
            f.write(_opml(_outline("http://127.0.0.1:9/huge")))
            f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, instant to make
        result = run_cli(home, "import", str(path), "--json", check=False)
        assert result.returncode == 1
        assert_clean_line(result.stderr.decode().strip().removeprefix("carefeed: "), "limit")
        assert _feeds(home) == []
        return
    result = _import(home, tmp_path, data)
    if kind == "invalid-xml":
        assert not isinstance(result, dict)
        assert result.returncode == 1
        assert_clean_line(result.stderr.decode().strip().removeprefix("carefeed: "), "xml")
        assert _feeds(home) == []
    else:
        assert isinstance(result, dict), result
        assert [a["title"] for a in result["added"]] == [name]


HOSTILE_NAMES = [
    'Care <reform> & "pay" ]]> review',
    "Esc\x1b]0;pwn\x07 title",
    "Nul\x00byte",
    "Emoji 👩\u200d⚕️ news",
    "\u0627\u0644\u0631\u0639\u0627\u064a\u0629 RTL",
]


@pytest.mark.case(63, "export round trip of hostile names", "valid OPML, same URLs and tags")
def test_export_round_trip(home: Path, tmp_path: Path, server: FeedServer):
    urls = []
    for n, name in enumerate(HOSTILE_NAMES):
        body = rss("placeholder", [item(f"rt{n}", "post")])
        body = body.replace(
            b"<title>placeholder</title>", f"<title>{_xml_text(name)}</title>".encode()
        )
        urls.append(server.add(f"/rt/{n}", body))
    # untitled outlines, so the names come from the feeds themselves (ESC, NUL and all);
    # the folder, which becomes a tag, is as hostile as XML allows
    folder = 'Care <&"> ]]> 👩\u200d⚕️ \u0627\u0644\u0631\u0639\u0627\u064a\u0629'
    outlines = "".join(f"<outline type='rss' xmlUrl={quoteattr(u)}/>" for u in urls)
    _import(home, tmp_path, _opml(f"<outline text={quoteattr(folder)}>{outlines}</outline>"))
    run_cli(home, "poll")
    assert {f["title"] for f in _feeds(home)} >= {"Emoji 👩\u200d⚕️ news"}
    exported = run_cli(home, "export").stdout
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", exported)
    assert b"\xc2\x9b" not in exported and b"\x1b" not in exported
    DET.fromstring(exported)  # well-formed, no DTD
    other = make_home(tmp_path / "other", **LIMITS)
    report = _import(other, tmp_path, exported, "exported.opml")
    assert isinstance(report, dict), report
    before = {f["url"]: sorted(f["tags"]) for f in _feeds(home)}
    after = {f["url"]: sorted(f["tags"]) for f in _feeds(other)}
    assert after == before and set(before) == set(urls)
    titles = {f["title"] for f in _feeds(other)}
    assert any("Emoji" in (t or "") for t in titles)
    assert all(not re.search(r"[\x00-\x1f\x7f-\x9f]", t or "") for t in titles)


def _xml_text(s: str) -> str:
    # raw controls stay raw (a hostile server sends them); markup characters are escaped
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
