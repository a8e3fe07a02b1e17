"""OPML import and export: real-world shapes, hostile files (HOSTILE.md §3f, 61-63), round trips.

Fixtures are written inline so each test shows the bytes it is about; the corpus tests at the
end check the files other readers exported against what SOURCES.md says a correct reader
extracts.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
import pytest

from carefeed.errors import InvalidUrlError, OpmlError
from carefeed.model import OpmlDocument, Subscription
from carefeed.opml import (
    ENTITIES_REFUSED,
    INCLUDE_REFUSED,
    merge_key,
    parse_opml,
    write_opml,
)

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def opml(body: str, *, head: str = "<title>Test list</title>", prolog: str = "") -> bytes:
    """A whole OPML document around ``body``, UTF-8 encoded."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<opml version="2.0"><head>{head}</head><body>{body}</body></opml>'
    ).encode()


def feed(url: str, text: str = "", **attrs: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'<outline type="rss" text="{text}" xmlUrl="{url}"{extra}/>'


def by_url(doc: OpmlDocument) -> dict[str, Subscription]:
    return {s.url: s for s in doc.subscriptions}


def tag_sets(doc: OpmlDocument) -> dict[str, frozenset[str]]:
    return {s.url: frozenset(s.tags) for s in doc.subscriptions}


# --------------------------------------------------------------------------- folders, names


def test_nested_folders_become_tags_outermost_first():
    doc = parse_opml(
        opml(
            '<outline text="Adults">'
            + feed("https://a.example/feed", "A")
            + '<outline text="Safeguarding"><outline title="Courts">'
            + feed("https://c.example/feed", "C")
            + "</outline></outline></outline>"
            + feed("https://top.example/feed", "Top")
        )
    )
    tags = {s.title: s.tags for s in doc.subscriptions}
    assert tags == {
        "A": ("Adults",),
        "C": ("Adults", "Safeguarding", "Courts"),
        "Top": (),
    }
    assert [s.title for s in doc.subscriptions] == ["A", "C", "Top"]  # document order
    assert doc.title == "Test list"
    assert doc.refused == ()


def test_text_is_the_display_name_and_title_the_fallback():
    doc = parse_opml(
        opml(
            '<outline text="Renamed by me" title="Feed own title" type="rss"'
            ' xmlUrl="https://a.example/feed"/>'
            '<outline title="Only a title" type="rss" xmlUrl="https://b.example/feed"/>'
            '<outline text="" title="Empty text" type="rss" xmlUrl="https://c.example/feed"/>'
            '<outline text="https://d.example/feed" type="rss" xmlUrl="https://d.example/feed"/>'
            '<outline type="rss" xmlUrl="https://e.example/feed"/>'
            '<outline text="Folder text" title="ignored folder title">'
            + feed("https://f.example/feed", "F")
            + "</outline>"
        )
    )
    titles = {s.url: s.title for s in doc.subscriptions}
    assert titles == {
        "https://a.example/feed": "Renamed by me",
        "https://b.example/feed": "Only a title",
        "https://c.example/feed": "Empty text",
        "https://d.example/feed": "",  # the URL as a name is no name: the feed's title wins
        "https://e.example/feed": "",
        "https://f.example/feed": "F",
    }
    assert by_url(doc)["https://f.example/feed"].tags == ("Folder text",)


def test_names_are_cleaned_of_terminal_controls():
    doc = parse_opml(
        opml(
            feed("https://a.example/feed", "Care &#8238;news&#x200B;  today&#x85;")
            + '<outline text="Tag&#8294; red&#8203;">'
            + feed("https://b.example/feed", "B")
            + "</outline>"
        )
    )
    subs = by_url(doc)
    assert subs["https://a.example/feed"].title == "Care news today"
    assert subs["https://b.example/feed"].tags == ("Tag red",)


def test_characters_xml_forbids_are_dropped_with_their_escape_sequences():
    """A file another tool wrote with raw ESC/NUL (F16) is not XML; it imports anyway."""
    payload = opml(
        feed("https://a.example/feed", "\x1b]0;owned\x07Care\x00 news\x1b[2J today")
        + feed("https://b.example/feed", "&#27;]52;c;cGF5bG9hZA==&#7;Refs &#0;too&#x1B;[31m")
        + '<outline text="Tag\x1b[1m \x01bold">'
        + feed("https://c.example/feed", "\x1b]8;;https://evil.example")
        + "</outline>"
    )
    with pytest.raises(ET.ParseError):
        SafeET.fromstring(payload)
    doc = parse_opml(payload)
    titles = {s.url: s.title for s in doc.subscriptions}
    assert titles == {
        "https://a.example/feed": "Care news today",
        "https://b.example/feed": "Refs too",
        "https://c.example/feed": "",
    }
    assert by_url(doc)["https://c.example/feed"].tags == ("Tag bold",)


def test_stdlib_elementtree_export_with_raw_controls_reimports():
    root = ET.Element("opml", {"version": "2.0"})
    ET.SubElement(root, "head")
    body = ET.SubElement(root, "body")
    attrs = {"type": "rss", "text": "Evil\x1b[2J\x00 feed", "xmlUrl": "https://a.example/feed"}
    ET.SubElement(body, "outline", attrs)
    broken = ET.tostring(root, encoding="utf-8")
    assert b"\x1b" in broken and b"\x00" in broken
    assert parse_opml(broken).subscriptions == (
        Subscription(url="https://a.example/feed", title="Evil feed"),
    )


def test_category_attribute_adds_tags_and_paths_keep_inner_slashes():
    doc = parse_opml(
        opml(
            '<outline text="Sector">'
            + feed(
                "https://a.example/feed",
                "A",
                category="/Adults/Housing, workforce ,/Sector,,/,tag one",
            )
            + "</outline>"
        )
    )
    assert doc.subscriptions[0].tags == ("Sector", "Adults/Housing", "workforce", "tag one")


def test_attribute_names_in_any_case_and_url_fallback():
    doc = parse_opml(
        opml(
            '<outline TEXT="Lower" type="RSS" xmlurl="https://a.example/feed"'
            ' HTMLURL="https://a.example/"/>'
            '<outline text="Upper" xmlURL="https://b.example/feed"/>'
            '<outline text="Url only" type="rss" url="https://c.example/feed"/>'
        )
    )
    subs = by_url(doc)
    assert set(subs) == {
        "https://a.example/feed",
        "https://b.example/feed",
        "https://c.example/feed",
    }
    assert subs["https://a.example/feed"].title == "Lower"
    assert subs["https://a.example/feed"].site_url == "https://a.example/"


def test_site_url_kept_only_when_http():
    doc = parse_opml(
        opml(
            feed("https://a.example/feed", "A", htmlUrl="javascript:alert(1)")
            + feed("https://b.example/feed", "B", htmlUrl="/about")
            + feed("https://c.example/feed", "C", htmlUrl="")
            + feed("https://d.example/feed", "D", htmlUrl="file:///etc/passwd")
        )
    )
    sites = {s.title: s.site_url for s in doc.subscriptions}
    assert sites == {"A": None, "B": "https://b.example/about", "C": None, "D": None}


# --------------------------------------------------------------------------- duplicates


def test_duplicates_merged_with_tags_unioned_and_first_title_kept():
    doc = parse_opml(
        opml(
            '<outline text="News">'
            + feed("https://Blog.Example/feed/", "First name")
            + '</outline><outline text="Favourites">'
            + feed("https://blog.example/feed", "Second name", category="news,/Weekly")
            + "</outline>"
            + feed("HTTPS://BLOG.EXAMPLE/feed/", "Third name")
            + feed("https://blog.example/Feed", "Different path case")
        )
    )
    assert len(doc.subscriptions) == 2
    merged = doc.subscriptions[0]
    assert merged.url == "https://blog.example/feed/"  # the first spelling, canonicalised
    assert merged.title == "First name"
    assert merged.tags == ("News", "Favourites", "Weekly")  # "news" is "News" again
    assert doc.subscriptions[1].url == "https://blog.example/Feed"  # paths are case-sensitive
    assert doc.refused == ()


def test_merge_fills_a_missing_title_and_site_from_a_later_copy():
    doc = parse_opml(
        opml(
            feed("https://a.example/feed")
            + feed("https://a.example/feed/", "Named later", htmlUrl="https://a.example/")
        )
    )
    assert doc.subscriptions == (
        Subscription(
            url="https://a.example/feed", title="Named later", site_url="https://a.example/"
        ),
    )


def test_merge_key_ignores_trailing_slash_and_host_case_only():
    assert merge_key("https://a.example/feed/") == merge_key("https://a.example/feed")
    assert merge_key("https://A.example/x") == merge_key("https://a.example/x")
    assert merge_key("https://a.example/x?q=1") != merge_key("https://a.example/x?q=2")
    assert merge_key("http://a.example/x") != merge_key("https://a.example/x")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("javascript:alert(1)", "got javascript"),
        ("file:///etc/passwd", "got file"),
        ("ftp://files.example/feed.xml", "got ftp"),
        ("exec:ls", "got exec"),
        ("|~/script", "no scheme"),
        ("filter:~/bin/f.sh:https://a.example/feed", "got filter"),
        ("data:text/xml,&lt;rss/&gt;", "got data"),
        ("https://", "no host"),
        ("https://a.example/ feed", "spaces"),
    ],
)
def test_unsupported_addresses_refused_with_reason(address: str, reason: str):
    doc = parse_opml(opml(feed(address, "Bad one") + feed("https://ok.example/feed", "Good")))
    assert [s.url for s in doc.subscriptions] == ["https://ok.example/feed"]
    assert len(doc.refused) == 1
    assert doc.refused[0].where == "Bad one"
    assert reason in doc.refused[0].reason


def test_feed_scheme_normalised_to_http():
    doc = parse_opml(
        opml(feed("feed://blog.example/rss", "A") + feed("feed:https://b.example/rss", "B"))
    )
    assert [s.url for s in doc.subscriptions] == [
        "http://blog.example/rss",
        "https://b.example/rss",
    ]


def test_refusal_named_by_url_without_its_password():
    doc = parse_opml(opml('<outline type="rss" xmlUrl="ftp://me:hunter2@files.example/x"/>'))
    (refusal,) = doc.refused
    assert "files.example" in refusal.where
    assert "hunter2" not in refusal.where + refusal.reason


def test_every_outline_imported_refused_or_an_empty_folder():
    doc = parse_opml(
        opml(
            feed("https://ok.example/feed", "Good")
            + '<outline type="rss" text="No address"/>'
            + '<outline type="rss" text="Only a site" htmlUrl="https://site.example/"/>'
            + '<outline text="Empty folder"/>'
            + '<outline text="Folder with nothing"><outline text="Empty too"/></outline>'
            + '<outline type="link" text="A web page" url="https://page.example/"/>'
            + '<outline type="include" text="More feeds" url="https://x.example/more.opml"/>'
            + feed("javascript:void(0)", "Script")
        )
    )
    assert [s.title for s in doc.subscriptions] == ["Good"]
    reasons = {r.where: r.reason for r in doc.refused}
    assert "got javascript" in reasons.pop("Script")
    assert reasons == {
        "No address": "no feed address (xmlUrl)",
        "Only a site": "no feed address (xmlUrl)",
        "A web page": "a link outline, not a feed: not followed",
        "More feeds": INCLUDE_REFUSED,
    }


# --------------------------------------------------------------------------- hostile XML


@pytest.fixture
def probe() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request, to prove nothing was fetched."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY leak "fetched">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<opml version="2.0"><head><title>&lol9;</title></head><body>'
    '<outline type="rss" text="&lol9;" xmlUrl="https://a.example/feed"/></body></opml>'
).encode()

QUADRATIC_BLOWUP = (
    '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "'
    + "x" * 50_000
    + '">]>\n<opml version="2.0"><head/><body><outline type="rss" text="'
    + "&a;" * 50_000
    + '" xmlUrl="https://a.example/feed"/></body></opml>'
).encode()


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, QUADRATIC_BLOWUP], ids=["laughs", "quadratic"])
def test_entity_bombs_refused_quickly(payload: bytes):
    started = time.perf_counter()
    with pytest.raises(OpmlError, match=re.escape(ENTITIES_REFUSED)):
        parse_opml(payload)
    assert time.perf_counter() - started < 2.0


def test_xxe_file_entity_refused_and_secret_never_read(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-care-records-9f3a")
    payload = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<opml version="2.0"><head><title>&xxe;</title></head><body>'
        '<outline type="rss" text="&xxe;" xmlUrl="https://a.example/&xxe;"/></body></opml>'
    ).encode()
    with pytest.raises(OpmlError) as caught:
        parse_opml(payload)
    assert str(caught.value) == ENTITIES_REFUSED
    assert caught.value.__suppress_context__  # no defusedxml traceback reaches the user
    shown = "".join(traceback.format_exception(caught.value))
    assert "TOP-SECRET" not in shown


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE opml [<!ENTITY probe SYSTEM "{url}/entity">]>',
        '<!DOCTYPE opml [<!ENTITY % p SYSTEM "{url}/parameter"> %p;]>',
        '<!DOCTYPE opml SYSTEM "{url}/external.dtd">',
        '<!DOCTYPE opml PUBLIC "-//carefeed//test" "{url}/public.dtd">',
    ],
    ids=["entity", "parameter-entity", "external-dtd", "public-dtd"],
)
def test_network_entities_and_external_dtds_refused_and_never_fetched(
    probe: tuple[str, list[str]], prolog: str
):
    url, hits = probe
    body = '<outline type="rss" text="&probe;" xmlUrl="https://a.example/feed"/>'
    if "probe SYSTEM" not in prolog:
        body = '<outline type="rss" text="x" xmlUrl="https://a.example/feed"/>'
    with pytest.raises(OpmlError, match=re.escape(ENTITIES_REFUSED)):
        parse_opml(opml(body, prolog=prolog.format(url=url) + "\n"))
    assert hits == []


def test_any_doctype_is_refused():
    """Even an empty DOCTYPE: OPML has no DTD, and refusing all of them leaves no gap."""
    with pytest.raises(OpmlError, match=re.escape(ENTITIES_REFUSED)):
        parse_opml(opml(feed("https://a.example/feed", "A"), prolog="<!DOCTYPE opml>\n"))


def test_entity_declared_after_a_repairable_error_still_refused():
    """The tolerant second parse is defused too."""
    payload = (
        b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY e "expanded">]>\n'
        b'<opml version="2.0"><head/><body><outline text="a & b &e;" type="rss"'
        b' xmlUrl="https://a.example/feed"/></body></opml>'
    )
    with pytest.raises(OpmlError, match=re.escape(ENTITIES_REFUSED)):
        parse_opml(payload)


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'<opml version="2.0"><head></head><body><outline text="x"></body></opml>', "mismatched"),
        (b'<opml version="2.0"><body><outline text="x" xmlUrl="a"', "line 1"),
        (b"not xml at all", "line 1, column 1"),
        (b'<?xml version="1.0"?>\n<opml>\n  <body>\n    <outline <</body></opml>', "line 4"),
    ],
)
def test_invalid_xml_is_one_line_error_with_position(payload: bytes, message: str):
    with pytest.raises(OpmlError) as caught:
        parse_opml(payload)
    text = str(caught.value)
    assert text.startswith("not valid XML: ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b'<rss version="2.0"><channel/></rss>', "not an OPML file"),
        (b'<opml version="2.0"><head><title>x</title></head></opml>', "no <body>"),
    ],
)
def test_documents_that_are_not_subscription_lists(payload: bytes, message: str):
    with pytest.raises(OpmlError, match=message):
        parse_opml(payload)


def test_bare_ampersand_and_html_entities_are_repaired():
    payload = (
        b'<?xml version="1.0"?><opml version="1.0"><head><title>News & views</title></head>'
        b'<body><outline text="Tom &amp; Jerry&nbsp;&mdash; care &copy; &bogus; & more"'
        b' description="showbiz & celebrity" type="rss"'
        b' xmlUrl="https://a.example/feed?a=1&b=2"/></body></opml>'
    )
    with pytest.raises(ET.ParseError):
        ET.fromstring(payload)  # strict XML refuses this file
    doc = parse_opml(payload)
    assert doc.title == "News & views"
    (sub,) = doc.subscriptions
    assert sub.title == "Tom & Jerry — care © &bogus; & more"
    assert sub.url == "https://a.example/feed?a=1&b=2"


# --------------------------------------------------------------------------- encodings


def test_declared_iso_8859_1():
    payload = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<opml version="2.0"><head><title>Données</title></head><body>'
        '<outline text="Aide à domicile" type="rss" xmlUrl="https://a.example/feed"/>'
        "</body></opml>"
    ).encode("iso-8859-1")
    doc = parse_opml(payload)
    assert doc.title == "Données"
    assert doc.subscriptions[0].title == "Aide à domicile"


def test_undeclared_latin1_bytes_still_import():
    payload = (
        '<?xml version="1.0"?><opml version="2.0"><head><title>Café list</title></head><body>'
        '<outline text="Soins à domicile – “news”" type="rss" xmlUrl="https://a.example/feed"/>'
        "</body></opml>"
    ).encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        payload.decode("utf-8")
    doc = parse_opml(payload)
    assert doc.title == "Café list"
    assert doc.subscriptions[0].title == "Soins à domicile – “news”"


def test_utf8_declared_but_latin1_bytes():
    payload = (
        '<?xml version="1.0" encoding="utf-8"?><opml version="2.0"><head/><body>'
        '<outline text="Zürich care" type="rss" xmlUrl="https://a.example/feed"/></body></opml>'
    ).encode("latin-1")
    assert parse_opml(payload).subscriptions[0].title == "Zürich care"


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [("shift_jis", "Shift_JIS"), ("gb2312", "gb2312"), ("koi8-r", "KOI8-R")],
)
def test_encodings_expat_cannot_read_itself(encoding: str, declared: str):
    name = {"shift_jis": "介護ニュース", "gb2312": "护理新闻", "koi8-r": "Новости ухода"}[encoding]
    payload = (
        f'<?xml version="1.0" encoding="{declared}"?><opml version="2.0"><head/><body>'
        f'<outline text="{name}" type="rss" xmlUrl="https://a.example/feed"/></body></opml>'
    ).encode(encoding)
    assert parse_opml(payload).subscriptions[0].title == name


def test_utf16_with_bom_and_utf8_with_bom():
    text = (
        '<?xml version="1.0" encoding="UTF-16"?><opml version="2.0"><head/><body>'
        '<outline text="Wellbeing ❤" type="rss" xmlUrl="https://a.example/feed"/></body></opml>'
    )
    assert parse_opml(text.encode("utf-16")).subscriptions[0].title == "Wellbeing ❤"
    utf8 = b"\xef\xbb\xbf" + text.replace("UTF-16", "UTF-8").encode()
    assert parse_opml(utf8).subscriptions[0].title == "Wellbeing ❤"


# --------------------------------------------------------------------------- shape attacks


def test_ten_thousand_outlines_import_fast():
    folders = "".join(
        f'<outline text="Folder {f}">'
        + "".join(feed(f"https://f{f}.example/feed/{i}", f"Feed {f}-{i}") for i in range(100))
        + "</outline>"
        for f in range(100)
    )
    payload = opml(folders)
    started = time.perf_counter()
    doc = parse_opml(payload)
    elapsed = time.perf_counter() - started
    assert len(doc.subscriptions) == 10_000
    assert doc.refused == ()
    assert doc.subscriptions[-1].tags == ("Folder 99",)
    assert elapsed < 5.0


def nested(depth: int) -> bytes:
    return opml(
        "".join(f'<outline text="L{i}">' for i in range(depth))
        + feed("https://deep.example/feed", "Deep")
        + "</outline>" * depth
        + feed("https://shallow.example/feed", "Shallow")
    )


def test_nesting_200_deep_caps_tags_at_max_depth():
    payload = nested(200)
    deep = by_url(parse_opml(payload))["https://deep.example/feed"]
    assert deep.tags == tuple(f"L{i}" for i in range(50))
    assert by_url(parse_opml(payload, max_depth=3))["https://deep.example/feed"].tags == (
        "L0",
        "L1",
        "L2",
    )
    assert by_url(parse_opml(payload, max_depth=0))["https://deep.example/feed"].tags == ()
    every = by_url(parse_opml(payload, max_depth=500))["https://deep.example/feed"]
    assert every.tags == tuple(f"L{i}" for i in range(200))


def test_nesting_100000_deep_without_recursion_error():
    doc = parse_opml(nested(100_000))
    assert [s.title for s in doc.subscriptions] == ["Deep", "Shallow"]
    assert doc.subscriptions[0].tags == tuple(f"L{i}" for i in range(50))
    assert doc.refused == ()


def test_negative_max_depth_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_opml(nested(1), max_depth=-1)


def test_one_feed_in_thousands_of_folders_keeps_a_bounded_tag_list():
    payload = opml(
        "".join(
            f'<outline text="F{i}">' + feed("https://a.example/feed") + "</outline>"
            for i in range(5000)
        )
    )
    (sub,) = parse_opml(payload).subscriptions
    assert 50 <= len(sub.tags) <= 200
    assert sub.tags[:3] == ("F0", "F1", "F2")


def test_include_outline_refused_and_never_fetched(probe: tuple[str, list[str]]):
    url, hits = probe
    doc = parse_opml(
        opml(
            f'<outline type="include" text="Shared list" url="{url}/more.opml"/>'
            f'<outline type="INCLUDE" url="{url}/other.opml"/>'
            + feed("https://a.example/feed", "A")
        )
    )
    assert [s.title for s in doc.subscriptions] == ["A"]
    assert [r.reason for r in doc.refused] == [INCLUDE_REFUSED, INCLUDE_REFUSED]
    assert doc.refused[0].where == "Shared list"
    assert doc.refused[1].where.startswith(url)
    assert hits == []


# --------------------------------------------------------------------------- export


HOSTILE_SUBSCRIPTIONS = (
    Subscription(
        url="https://a.example/feed?x=1&y=2",
        title='Care <news> & "views" ]]> here',
        site_url="https://a.example/?page=1&sort=new",
        tags=("<tag>", "a & b", '"quoted"', "]]>"),
    ),
    Subscription(
        url="https://b.example/feed",
        title="\x1b]0;owned\x07Evil\x1b[2J title\x00 with NUL",
        tags=("esc\x1b[31m red", "nul\x00tag"),
    ),
    Subscription(
        url="https://c.example/feed",
        title="Emoji 🧓🏽 care 🏠",
        tags=("emoji 🏠", "Carers, families and friends", "path/inner"),
    ),
    Subscription(
        url="https://d.example/feed",
        title="RTL \u202eevil\u202c עברית العربية",
        site_url="javascript:alert(1)",
        tags=("עברית", "العربية"),
    ),
    Subscription(url="https://e.example/feed", title="", tags=()),
)


def test_export_has_no_control_characters_and_parses_with_defusedxml():
    written = write_opml(HOSTILE_SUBSCRIPTIONS)
    assert not CONTROL_BYTES.search(written)
    assert b"owned" not in written
    root = SafeET.fromstring(written, forbid_dtd=True)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"


def test_round_trip_keeps_urls_and_tags():
    first = parse_opml(write_opml(HOSTILE_SUBSCRIPTIONS))
    assert first.refused == ()
    assert [s.url for s in first.subscriptions] == [s.url for s in HOSTILE_SUBSCRIPTIONS]
    assert tag_sets(first) == {
        "https://a.example/feed?x=1&y=2": {"<tag>", "a & b", '"quoted"', "]]>"},
        "https://b.example/feed": {"esc red", "nultag"},
        "https://c.example/feed": {"emoji 🏠", "Carers, families and friends", "path/inner"},
        "https://d.example/feed": {"עברית", "العربية"},
        "https://e.example/feed": set(),
    }
    titles = [s.title for s in first.subscriptions]
    assert titles == [
        'Care <news> & "views" ]]> here',
        "Evil title with NUL",
        "Emoji 🧓🏽 care 🏠",
        "RTL evil עברית العربية",
        "",
    ]
    sites = [s.site_url for s in first.subscriptions]
    assert sites == ["https://a.example/?page=1&sort=new", None, None, None, None]
    # and again: a second home importing the first home's export sees the same list
    second = parse_opml(write_opml(first.subscriptions))
    assert second.subscriptions == first.subscriptions


def test_export_shape_folder_by_first_tag_and_categories():
    subs = [
        Subscription(
            "https://a.example/feed", "A", "https://a.example/", ("News", "Weekly", "Adults")
        ),
        Subscription("https://b.example/feed", "B", None, ("News",)),
        Subscription("https://c.example/feed", "C", None, ()),
        Subscription("https://d.example/feed", "D", None, ("Research", "Carers, families")),
    ]
    written = write_opml(subs, title="My \x1b[1mcare\x1b[0m list")
    root = SafeET.fromstring(written)
    assert root.findtext("head/title") == "My care list"
    created = parsedate_to_datetime(root.findtext("head/dateCreated") or "")
    assert created.tzinfo is not None
    top = list(root.find("body") or [])
    assert [(o.get("text"), o.get("xmlUrl")) for o in top] == [
        ("News", None),
        ("C", "https://c.example/feed"),
        ("Research", None),
        ("Carers, families", None),
    ]
    a = top[0][0]
    assert a.attrib == {
        "type": "rss",
        "text": "A",
        "title": "A",
        "xmlUrl": "https://a.example/feed",
        "htmlUrl": "https://a.example/",
        "category": "/Weekly,/Adults",
    }
    assert [o.get("xmlUrl") for o in top[3]] == ["https://d.example/feed"]
    assert "category" not in top[2][0].attrib
    assert tag_sets(parse_opml(written))["https://d.example/feed"] == {
        "Research",
        "Carers, families",
    }


def test_export_of_untitled_feed_reimports_untitled():
    written = write_opml([Subscription("https://a.example/feed")])
    assert b'text="https://a.example/feed"' in written  # OPML 2.0 requires text
    assert parse_opml(written).subscriptions[0].title == ""


def test_export_refuses_an_unsubscribable_url():
    with pytest.raises(InvalidUrlError):
        write_opml([Subscription("javascript:alert(1)")])


def test_export_of_nothing_is_still_valid_opml():
    doc = parse_opml(write_opml([]))
    assert doc.subscriptions == ()
    assert doc.title == "carefeed subscriptions"


# --------------------------------------------------------------------------- feeds.opml

FOLDERS = {
    "Government and regulators",
    "Sector news",
    "Think tanks and research",
    "Charities and user-led organisations",
    "Practice blogs",
}


def test_bundled_feeds_opml_parses_cleanly():
    doc = parse_opml((REPO / "feeds.opml").read_bytes())
    assert len(doc.subscriptions) >= 25
    assert doc.refused == ()
    assert all(len(s.tags) == 1 and s.tags[0] in FOLDERS for s in doc.subscriptions)
    assert {s.tags[0] for s in doc.subscriptions} == FOLDERS
    assert all(s.title and s.site_url for s in doc.subscriptions)


def test_bundled_feeds_opml_outlines_are_complete():
    root = SafeET.fromstring((REPO / "feeds.opml").read_bytes(), forbid_dtd=True)
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl") is not None]
    assert len(feeds) >= 25
    for outline in feeds:
        for attr in ("text", "title", "type", "xmlUrl", "htmlUrl"):
            assert outline.get(attr), f"{outline.get('text')!r} lacks {attr}"
        assert outline.get("type") == "rss"
        assert outline.get("text") == outline.get("title")
    folders = [o.get("text") for o in root.find("body") or []]
    assert set(folders) == FOLDERS


# --------------------------------------------------------------------------- corpus


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(
            "../shared/corpus not found: corpus tests need the shared folder beside the checkout"
        )
    return CORPUS / "opml"


def read(corpus: Path, name: str) -> OpmlDocument:
    return parse_opml((corpus / name).read_bytes())


def feed_outlines(corpus: Path, name: str) -> int:
    """Outlines with an xmlUrl, counted by a plain parser (the corpus files are trusted)."""
    root = SafeET.fromstring((corpus / name).read_bytes())
    return sum(1 for o in root.iter("outline") if o.get("xmlUrl"))


@pytest.mark.corpus
def test_corpus_engineering_blogs(corpus: Path):
    doc = read(corpus, "engineering-blogs-folder.opml")
    assert feed_outlines(corpus, "engineering-blogs-folder.opml") == 422
    # two addresses are listed twice (Expedia/HomeAway, Facebook/Facebook AI Research)
    assert len(doc.subscriptions) == 420
    assert doc.refused == ()
    assert {s.tags for s in doc.subscriptions} == {("Engineering Blogs",)}
    assert doc.subscriptions[0].title == "8th Light"


@pytest.mark.corpus
def test_corpus_hacker_news_large(corpus: Path):
    started = time.perf_counter()
    doc = read(corpus, "hn-personal-blogs-large.opml")
    assert time.perf_counter() - started < 5.0
    assert len(doc.subscriptions) == 1229
    assert {s.tags for s in doc.subscriptions} == {("HN Personal Blogs",)}
    first = doc.subscriptions[0]
    assert (first.title, first.url) == ("jgrahamc", "https://blog.jgc.org/feeds/posts/default")


@pytest.mark.corpus
def test_corpus_newsboat_category_attribute(corpus: Path):
    doc = read(corpus, "newsboat-category-attr-synthetic.opml")
    assert doc.subscriptions == (
        Subscription(
            url="http://feeds.bbci.co.uk/news/business/rss.xml?edition=int",
            title="",
            site_url=None,
            tags=("tag one", "tag_two", "tag/three"),
        ),
    )


@pytest.mark.corpus
def test_corpus_newsboat_nested_folders(corpus: Path):
    doc = read(corpus, "newsboat-example-nested-synthetic.opml")
    assert len(doc.subscriptions) == 7
    tags = {s.title: s.tags for s in doc.subscriptions}
    assert tags["John's musings"] == ("Blogs",)
    assert tags["Notes by Mike"] == ("Blogs", "friends")
    assert tags["Fred on everything"] == ("eloquent",)
    assert all("should be ignored" not in t for t in tags.values())
    assert sum(1 for t in tags.values() if not t) == 4


@pytest.mark.corpus
def test_corpus_newsboat_outline_without_address(corpus: Path):
    doc = read(corpus, "newsboat-outline-missing-xmlurl-synthetic.opml")
    assert [s.url for s in doc.subscriptions] == ["https://example.com/feed.xml"]
    assert [(r.where, r.reason) for r in doc.refused] == [
        ("This one is skipped", "no feed address (xmlUrl)")
    ]


@pytest.mark.corpus
def test_corpus_newsboat_url_instead_of_xmlurl(corpus: Path):
    doc = read(corpus, "newsboat-url-attr-instead-of-xmlurl-synthetic.opml")
    assert [(s.url, s.title) for s in doc.subscriptions] == [
        ("https://example.com/feed.xml", "example.com website")
    ]


@pytest.mark.corpus
def test_corpus_netnewswire_defaults(corpus: Path):
    doc = read(corpus, "nnw-default-feeds.opml")
    assert len(doc.subscriptions) == 10
    assert all(s.tags == () for s in doc.subscriptions)
    first = doc.subscriptions[0]
    assert (first.title, first.url) == ("Craig Hockenberry", "https://furbo.org/feed/json")


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["nnw-subs-4-folders.opml", "nnw-subs-no-title-attrs.opml"])
def test_corpus_netnewswire_folders(corpus: Path, name: str):
    doc = read(corpus, name)
    assert feed_outlines(corpus, name) == 207
    # Katie Floyd is listed twice, with and without a trailing slash: one subscription
    assert len(doc.subscriptions) == 206
    assert [s.title for s in doc.subscriptions].count("Katie Floyd") == 1
    assert {t for s in doc.subscriptions for t in s.tags} == {
        "Programming",
        "Macintosh",
        "Weblogs",
        "Writers",
    }
    first = doc.subscriptions[0]
    assert (first.title, first.url, first.tags) == (
        "Daring Fireball",
        "http://daringfireball.net/feeds/main",
        (),
    )
    assert all(s.title for s in doc.subscriptions)


@pytest.mark.corpus
def test_corpus_netnewswire_names_from_text_match_titled_list(corpus: Path):
    titled = read(corpus, "nnw-subs-4-folders.opml")
    text_only = read(corpus, "nnw-subs-no-title-attrs.opml")
    assert tag_sets(titled) == tag_sets(text_only)
    assert {s.title for s in titled.subscriptions} == {s.title for s in text_only.subscriptions}


@pytest.mark.corpus
def test_corpus_google_reader_feeds_in_several_folders(corpus: Path):
    doc = read(corpus, "pauldix-google-reader-2009.opml")
    assert feed_outlines(corpus, "pauldix-google-reader-2009.opml") == 300
    assert len(doc.subscriptions) == 287
    assert sum(1 for s in doc.subscriptions if len(s.tags) >= 2) == 12
    assert sum(1 for s in doc.subscriptions if not s.tags) == 34
    counts: dict[str, int] = {}
    for sub in doc.subscriptions:
        for tag in sub.tags:
            counts[tag] = counts.get(tag, 0) + 1
    assert counts == {
        "Search": 1,
        "technology": 1,
        "aaa-items": 9,
        "ruby": 156,
        "IR": 3,
        "people-i-know": 25,
        "jruby": 5,
        "tech": 17,
        "business": 32,
        "ML": 2,
        "htmlcss-design": 6,
        "competition": 9,
    }
    brynary = by_url(doc)["http://feeds.feedburner.com/brynary"]
    assert len(brynary.tags) >= 2


@pytest.mark.corpus
def test_corpus_google_reader_french(corpus: Path):
    doc = read(corpus, "picofeed-google-reader-nested-fr.opml")
    assert len(doc.subscriptions) == 22
    assert {t for s in doc.subscriptions for t in s.tags} == {
        "Presse",
        "Culture",
        "Droits du net",
        "Bloggers",
        "Tech",
        "Officiel",
        "Code",
    }
    first = doc.subscriptions[0]
    assert (first.title, first.url, first.tags) == (
        "Reflets",
        "http://reflets.info/feed/",
        ("Presse",),
    )
    escaped = [s.url for s in doc.subscriptions if "viewtext.org" in s.url]
    assert escaped and all("&rl=false" in u and "&amp;" not in u for u in escaped)


@pytest.mark.corpus
def test_corpus_newsbeuter_empty_titles(corpus: Path):
    doc = read(corpus, "picofeed-newsbeuter-empty-titles.opml")
    assert len(doc.subscriptions) == 35
    assert all(s.tags == () for s in doc.subscriptions)
    # empty titles stay empty, so the feed's own title fills them at the first poll
    assert sum(1 for s in doc.subscriptions if s.title == "") == 33
    assert sum(1 for s in doc.subscriptions if s.site_url is None) == 33


@pytest.mark.corpus
def test_corpus_tiny_tiny_rss(corpus: Path):
    doc = read(corpus, "picofeed-tinytinyrss-text-only.opml")
    assert [(s.title, s.tags) for s in doc.subscriptions] == [
        ("La Ferme du web", ("coding",)),
        ("Planète jQuery", ("coding",)),
    ]


@pytest.mark.corpus
def test_corpus_plenary_bare_ampersand_recovered(corpus: Path):
    payload = (corpus / "plenary-united-kingdom-bare-ampersand.opml").read_bytes()
    with pytest.raises(ET.ParseError) as strict:
        SafeET.fromstring(payload)
    assert strict.value.position[0] == 11
    doc = parse_opml(payload)
    assert [s.title for s in doc.subscriptions] == [
        "BBC News - Home",
        "World news | The Guardian",
        "Home | Mail Online",
        "The Independent",
        "Daily Express :: News Feed",
    ]
    assert {s.tags for s in doc.subscriptions} == {("United Kingdom",)}
    assert doc.refused == ()


@pytest.mark.corpus
def test_corpus_winer_latin1(corpus: Path):
    doc = read(corpus, "winer-mysubscriptions-2005-latin1.opml")
    assert len(doc.subscriptions) == 14
    assert all(s.tags == () for s in doc.subscriptions)
    google = by_url(doc)["http://feeds.feedburner.com/blogspot/MKuf?format=xml"]
    assert google.title == "Google blog"  # text, not the disagreeing title "CNET News.com"


@pytest.mark.corpus
def test_corpus_every_file_round_trips(corpus: Path):
    for path in sorted(corpus.glob("*.opml")):
        doc = parse_opml(path.read_bytes())
        again = parse_opml(write_opml(doc.subscriptions))
        assert tag_sets(again) == tag_sets(doc), path.name
        assert again.refused == ()
