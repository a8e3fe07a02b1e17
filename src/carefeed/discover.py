"""Finding the feed a web page announces, so people can subscribe with the address they know.

Most blogs name their feeds in the page head (``<link rel="alternate"
type="application/rss+xml" href="/feed/">``, the RSS Autodiscovery convention); that is
all this module reads. Pages are strangers' HTML: the stdlib parser is tolerant of any
mess, every address is resolved and re-serialised by :func:`carefeed.text.safe_url`
(http and https only), and nothing here does I/O.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from carefeed.text import safe_url

# Types a feed reader can subscribe to, most useful first within a page's own order:
# RSS/Atom come before JSON Feed because they are what most pages mean as "the feed".
_XML_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
        "application/x.atom+xml",
    }
)
# Not "application/json": WordPress labels its REST API links with that.
_JSON_FEED_TYPES = frozenset({"application/feed+json"})

_SNIFF = 2048
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_ELEMENT = re.compile(r"<([A-Za-z][A-Za-z0-9:._-]*)")
_FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "rdf"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _decode(body: bytes) -> str:
    """Text of a page: a BOM or a simple ``<meta charset>`` wins, then UTF-8.

    Only the link elements matter and their URLs are almost always ASCII, so an odd or
    unknown charset costs little; ``errors="replace"`` means no page can stop the parse.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    if body.startswith(codecs.BOM_UTF16_BE):
        return body[2:].decode("utf-16-be", errors="replace")
    encoding = "utf-8"
    if match := _META_CHARSET.search(body[:_SNIFF]):
        encoding = match.group(1).decode("ascii").lower()
        if encoding.replace("-", "").replace("_", "").startswith("utf16"):
            encoding = "utf-8"  # a meta tag readable as ASCII means the page is not UTF-16
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:  # unknown, or a codec that is not a text encoding ("rot13", "hex")
        return body.decode("utf-8", errors="replace")


class _LinkFinder(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.xml_feeds: list[str] = []
        self.json_feeds: list[str] = []
        self._base_seen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and not self._base_seen:
            # The first <base href> changes how every relative link on the page resolves.
            href = dict(attrs).get("href")
            resolved = safe_url(href, self.base)
            if resolved:
                self.base = resolved
            self._base_seen = True
            return
        if tag != "link":
            return
        attr = {name.lower(): value or "" for name, value in attrs}
        if "alternate" not in attr.get("rel", "").lower().split():
            return
        kind = attr.get("type", "").split(";")[0].strip().lower()
        if kind in _XML_FEED_TYPES:
            found = self.xml_feeds
        elif kind in _JSON_FEED_TYPES:
            found = self.json_feeds
        else:
            return
        url = safe_url(attr.get("href"), self.base)
        if url and url not in self.xml_feeds and url not in self.json_feeds:
            found.append(url)


def find_feed_links(body: bytes, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the feeds a page announces, in the page's order.

    RSS and Atom first, then JSON Feed; duplicates dropped. An empty list means the page
    names no feed (the caller says so rather than subscribing to the page).
    """
    finder = _LinkFinder(base_url)
    try:
        finder.feed(_decode(body))
        finder.close()
    except (AssertionError, ValueError):  # html.parser's last resort on hopeless input
        pass
    return finder.xml_feeds + finder.json_feeds


def _after(text: str, marker: str, start: int) -> int:
    """The index just past ``marker``, or the end of ``text`` when it never comes."""
    found = text.find(marker, start)
    return len(text) if found < 0 else found + len(marker)


def _prolog(head: str) -> tuple[str, str]:
    """The doctype (lower-cased, or "") and the first element's name ("" when unseen).

    A plain scan instead of one regex: nested repetition over a stranger's text is
    how regexes get slow (ReDoS).
    """
    doctype = ""
    i, n = 0, len(head)
    while i < n:
        if head[i].isspace():
            i += 1
        elif head.startswith("<?", i):
            i = _after(head, "?>", i + 2)
        elif head.startswith("<!--", i):
            i = _after(head, "-->", i + 4)
        elif head.startswith("<!", i):
            end = _after(head, ">", i)
            doctype = doctype or head[i:end].lower()
            i = end
        else:
            match = _ELEMENT.match(head, i)
            return doctype, match.group(1).lower() if match else ""
    return doctype, ""


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """Whether a response is a web page rather than a feed.

    The document itself decides when its start can be read, because servers label
    feeds ``text/html`` and pages ``text/xml`` often enough; the Content-Type decides only
    when the start of the body says nothing (or is not ASCII-compatible).
    """
    head = body[:_SNIFF].removeprefix(codecs.BOM_UTF8).decode("latin-1")
    if head.lstrip().startswith(("{", "[")):
        return False  # JSON: a JSON Feed, or at least not a page
    doctype, root = _prolog(head)
    if root in _FEED_ROOTS:
        return False
    if root in {"html", "head", "body"} or doctype.startswith("<!doctype html"):
        return True
    mime = (content_type or "").split(";")[0].strip().lower()
    return mime in _HTML_TYPES
