"""Finding the feed a page announces, and telling a page from a feed."""

from __future__ import annotations

import time

import pytest

from carefeed.discover import find_feed_links, looks_like_html

BASE = "https://blog.example/2024/post/"


def page(head: str, charset: str = "utf-8") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body><p>Hi</p></body></html>".encode(charset)


def test_wordpress_head_in_page_order_relative_resolved():
    body = page(
        '<link rel="alternate" type="application/rss+xml" title="Feed" href="/feed/">'
        '<link rel="alternate" type="application/rss+xml" title="Comments" '
        'href="https://blog.example/comments/feed/">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/7">'
        '<link rel="stylesheet" type="text/css" href="/style.css">'
    )
    assert find_feed_links(body, BASE) == [
        "https://blog.example/feed/",
        "https://blog.example/comments/feed/",
    ]


def test_rel_tokens_and_case_type_parameters_and_atom():
    body = page(
        '<LINK REL="Alternate Home" TYPE="Application/Atom+XML; charset=utf-8" HREF="atom.xml">'
        "<link rel=alternate type=application/rss+xml href=../rss.xml />"
    )
    assert find_feed_links(body, BASE) == [
        "https://blog.example/2024/post/atom.xml",
        "https://blog.example/2024/rss.xml",
    ]


def test_json_feed_comes_after_rss_and_atom_even_when_listed_first():
    body = page(
        '<link rel="alternate" type="application/feed+json" href="/feed.json">'
        '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    )
    assert find_feed_links(body, BASE) == [
        "https://blog.example/atom.xml",
        "https://blog.example/feed.json",
    ]


def test_duplicates_unsafe_schemes_and_non_alternates_dropped():
    body = page(
        '<link rel="alternate" type="application/rss+xml" href="/feed/">'
        '<link rel="alternate" type="application/rss+xml" href="https://blog.example/feed/">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">'
        '<link rel="alternate" type="application/rss+xml" href="">'
        '<link rel="alternate" type="application/rss+xml">'
        '<link rel="feed" type="application/rss+xml" href="/other/">'
        '<a rel="alternate" type="application/rss+xml" href="/anchor/">x</a>'
    )
    assert find_feed_links(body, BASE) == ["https://blog.example/feed/"]


def test_base_href_changes_resolution():
    body = page(
        '<base href="https://cdn.example/site/">'
        '<link rel="alternate" type="application/rss+xml" href="feed.xml">'
    )
    assert find_feed_links(body, BASE) == ["https://cdn.example/site/feed.xml"]


def test_entities_in_href_are_decoded():
    body = page('<link rel="alternate" type="application/rss+xml" href="/feed?a=1&amp;b=2">')
    assert find_feed_links(body, BASE) == ["https://blog.example/feed?a=1&b=2"]


def test_meta_charset_is_honoured():
    head = (
        '<meta charset="windows-1252">'
        '<link rel="alternate" type="application/rss+xml" href="/caf\u00e9/feed">'
    )
    links = find_feed_links(page(head, "cp1252"), BASE)
    assert links == ["https://blog.example/café/feed"]


@pytest.mark.parametrize("charset", ["rot13", "hex", "no-such-charset", "utf-16"])
def test_odd_meta_charsets_fall_back_to_utf8(charset: str):
    head = (
        f'<meta charset="{charset}"><link rel="alternate" type="application/rss+xml" href="/feed/">'
    )
    assert find_feed_links(page(head), BASE) == ["https://blog.example/feed/"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\xff\xfe garbage \x1b[2J",
        b"<html><head><link rel=alternate type=application/rss+xml href=",
        b"<![CDATA[ <link",
        b"<!DOCTYPE html><html><body>no feeds here</body></html>",
    ],
)
def test_no_feed_or_broken_html_gives_an_empty_list(body: bytes):
    assert find_feed_links(body, BASE) == []


def test_a_big_hostile_page_is_quick():
    body = b"<!DOCTYPE html><html><head>" + b"<meta<?x" * 200_000 + b"</head></html>"
    started = time.monotonic()
    find_feed_links(body, BASE)
    looks_like_html(body, "text/html")
    looks_like_html(b"<?a?>" * 400 + b"!", None)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html><head></head></html>", "text/html; charset=utf-8", True),
        (b"\xef\xbb\xbf  <!doctype HTML>\n<html>", None, True),
        (b"<html lang=en><head>", "application/octet-stream", True),
        (b"<?xml version='1.0'?>\n<!-- hi --><rss version='2.0'>", "text/html", False),
        (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>", "text/html", False),
        (b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>", None, False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "text/html", False),
        (b"<!DOCTYPE html><rss>", "text/xml", False),
        (b"just text", "text/html", True),
        (b"just text", "application/rss+xml", False),
        (b"", None, False),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", "text/xml", True),
    ],
)
def test_looks_like_html(body: bytes, content_type: str | None, expected: bool):
    assert looks_like_html(body, content_type) is expected
