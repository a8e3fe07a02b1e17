"""Bytes a server sent → ``ParsedFeed``: the feed, its posts, and what was odd about it.

feedparser does the XML (RSS 0.9x/1.0/2.0, Atom, and years of real-world breakage), but
carefeed distrusts it in four places (HOSTILE.md F7-F10):

* it is always handed an ``io.BytesIO``: given bytes or a str it would open a local file
  or URL named by the body (F10);
* a document that declares XML entities is refused before feedparser sees it, because
  the loose parser expands a quadratic blow-up into hundreds of megabytes (F8);
* its HTML sanitiser and relative-link resolution are off (they cost more than parsing):
  every string instead goes through ``text.py``, which strips what a terminal would act on,
  and every link through ``text.safe_url``, which keeps only absolute http(s) URLs;
* its ``bozo`` flag is graded: a wrong charset or Content-Type is normal on the web, broken
  XML with posts recovered is a warning, broken XML with nothing recovered is an error.

JSON Feed 1.x, which feedparser does not read, is handled here with ``json``.

This module runs inside the poller's parser processes (memory cap, deadline), so
``parse_feed`` is a plain function with picklable arguments and result, and it does no I/O.
"""

from __future__ import annotations

import calendar
import codecs
import functools
import hashlib
import html
import io
import json
import re
import time
import xml.sax.expatreader
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
import feedparser.api
import feedparser.urls

from carefeed.errors import ParseError
from carefeed.model import CommentData, EntryData, FeedData, ParsedComments, ParsedFeed
from carefeed.text import (
    CONTENT_MAX,
    clean_name,
    clean_text,
    html_to_line,
    html_to_text,
    one_line_error,
    safe_url,
)

# feedparser follows xml:base when its scheme is in this list, which includes file: and
# ftp:. Narrowed, an xml:base that is not http(s) is ignored and links resolve against the
# feed URL instead of becoming file: links that safe_url would then drop. It is also the
# list feedparser's own sanitiser allows, which only makes other callers safer.
feedparser.urls.ACCEPTABLE_URI_SCHEMES = ("http", "https")


class _BufferedExpatParser(xml.sax.expatreader.ExpatParser):
    """The stdlib's expat SAX reader with expat's text buffering on.

    Without it expat reports a post's HTML to feedparser a line at a time (every line of a
    ``content:encoded`` is a callback through three Python layers), and the callbacks were
    a tenth of feedparser's time on a WordPress feed. The text it gathers is the same.
    """

    def reset(self) -> None:
        super().reset()
        parser = getattr(self, "_parser", None)
        if parser is not None:
            parser.buffer_text = True
            parser.buffer_size = 64 * 1024


def create_parser() -> xml.sax.expatreader.ExpatParser:
    """The SAX driver hook: feedparser asks ``xml.sax.make_parser`` for the first of its
    ``PREFERRED_XML_PARSERS`` that imports, and this module is named there."""
    return _BufferedExpatParser()


feedparser.api.PREFERRED_XML_PARSERS = [__name__]

GUID_MAX = 500
SNIFF_BYTES = 64 * 1024  # a prolog longer than this is not a feed anyone publishes
# Raw text is cut before the (comparatively slow) HTML walk; the results are capped far
# lower anyway, so only pathological input (a 5 MB title) is affected.
_RAW_LINE_MAX = 64 * 1024
_RAW_BODY_MAX = 2 * CONTENT_MAX

_SURVIVABLE = (
    feedparser.CharacterEncodingOverride,
    feedparser.NonXMLContentType,
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_COMMENT_FEED_TYPES = frozenset({"application/atom+xml", "application/rss+xml"})
_HTML_ROOTS = frozenset({"html", "head", "body"})

_ENTITY_DECL = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(
    r"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_NAME_START = re.compile(r"<([^\W\d][\w.:-]*)")
_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_LINK_REF = re.compile(r"\[\d+\]")
_LINK_LIST_LINE = re.compile(r"^\[\d+\]: ")
_SLASH_DATE = re.compile(
    r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$"
)
_AMPM_DATE = re.compile(
    r"^\s*(?:[A-Za-z]{3,9},?\s+)?([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})"
    r"\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])\s*$"
)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# The first four bytes of '<?xm' / '<?' in encodings that hide ASCII, as feedparser sniffs them.
_MARKERS = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, max_entries: int = 5000
) -> ParsedFeed:
    """Parse one fetched document; raise ParseError when it is not a feed carefeed can read.

    ``url`` is where the body came from (after redirects): relative links resolve against
    it. ``max_entries`` keeps the first posts in document order, which feeds list newest
    first. ``max_entries`` may also be given by position, as the poller's executor does.
    """
    root = _check_prolog(body, content_type)
    if root is None:
        return _parse_json_feed(body, url, max_entries)
    return _parse_xml_feed(_strip_leading_space(body), url, content_type, root, max_entries)


def _check_prolog(body: bytes, content_type: str | None) -> str | None:
    """The XML root element's name once the document is known to be safe to hand to
    feedparser (no entity declarations, not HTML); None for a JSON document."""
    if not body or not body.strip():
        raise ParseError("empty response")
    primary, views = _sniff_views(body, content_type)
    if _first_char(primary) in ("{", "["):
        return None
    root: str | None = None
    for text in views:
        root_at = _find_root(text)
        prolog = text if root_at < 0 else text[:root_at]
        if _ENTITY_DECL.search(prolog):
            raise ParseError("feed declares XML entities: refused")
        if root is None and root_at >= 0:
            match = _NAME_START.match(text, root_at)
            root = match.group(1) if match else None
    if root is None:
        if all("<" not in text for text in views):
            raise ParseError("not a feed: no XML markup")
        raise ParseError(f"not a feed: no XML root element in the first {SNIFF_BYTES // 1024} KB")
    if root.rpartition(":")[2].lower() in _HTML_ROOTS:
        raise ParseError("not a feed (HTML page)")
    return root


# --------------------------------------------------------------------------- the prolog


def _sniff_views(body: bytes, content_type: str | None) -> tuple[str, list[str]]:
    """The document's head decoded every way feedparser might decode it.

    An entity declaration must not hide behind an encoding: UTF-16, UTF-7 or EBCDIC would
    slip ``<!ENTITY`` past a byte search, and a hostile server chooses the charset header.
    The Latin-1 view stands for every ASCII-compatible encoding. Returns the view a reader
    of the bytes would see first (BOM-decoded, else Latin-1) and all the views.
    """
    head = body[:SNIFF_BYTES]
    sniffed: tuple[str, int] | None = None
    for bom, name in _BOMS:
        if head.startswith(bom):
            sniffed = (name, len(bom))
            break
    else:
        for marker, name in _MARKERS:
            if head.startswith(marker):
                sniffed = (name, 0)
                break
    candidates: list[tuple[str, int]] = [sniffed] if sniffed else []
    if content_type and (match := _CHARSET_PARAM.search(content_type)):
        candidates.append((match.group(1), 0))
    candidates.append(("latin-1", 0))
    views: list[str] = []
    tried: set[str] = set()
    for name, skip in candidates:  # grows while iterating: XML declarations add names
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        if codec in tried or len(tried) > 8:
            continue
        tried.add(codec)
        text = _decode(head[skip:], name)
        if text is None:
            continue
        views.append(text)
        if match := _XML_DECL_ENCODING.match(text):
            candidates.append((match.group(1), skip))
    primary = _decode(head[sniffed[1] :], sniffed[0]) if sniffed else None
    return primary if primary is not None else head.decode("latin-1"), views


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding, "replace")
    except (LookupError, ValueError, UnicodeError, TypeError):  # unknown or non-text codec
        return None


def _first_char(text: str) -> str:
    stripped = text.lstrip(" \t\r\n\ufeff")
    return stripped[:1]


def _find_root(text: str) -> int:
    """Index of the root element's ``<``, skipping the XML declaration, PIs, comments and
    the DOCTYPE (with its internal subset), or -1 when the head holds no element.

    Stray text before the root is skipped too: feedparser's loose parser reads past it (a
    PHP warning printed above ``<?xml``), so it is still the prolog for the entity check.
    """
    i = 0
    n = len(text)
    while True:
        i = text.find("<", i)
        if i < 0 or i + 1 >= n:
            return -1
        nxt = text[i + 1]
        if nxt == "?":
            end = text.find("?>", i + 2)
            i = -1 if end < 0 else end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = -1 if end < 0 else end + 3
        elif nxt == "!":
            i = _declaration_end(text, i + 2)
        elif nxt.isalpha() or nxt in "_:":
            return i
        else:
            i += 1
        if i < 0:
            return -1


def _declaration_end(text: str, i: int) -> int:
    """Index just past a ``<!…>`` declaration starting before ``i``, or -1 if unterminated.

    Quotes and the ``[…]`` internal subset (with its comments) are honoured, so a ``>``
    inside an entity value does not end the DOCTYPE early.
    """
    n = len(text)
    depth = 0
    quote = ""
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif depth and text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return -1
            i = end + 2
        elif c == ">" and not depth:
            return i + 1
        i += 1
    return -1


def _strip_leading_space(body: bytes) -> bytes:
    """Drop blank lines before ``<?xml``, which expat refuses and feeds often have.

    Without this the strict parser fails at once and the slower loose parser runs, with a
    "malformed XML" warning about a newline.
    """
    if body[:1] not in b" \t\r\n":
        return body
    stripped = body.lstrip(b" \t\r\n")
    return stripped if stripped.startswith(b"<?xml") else body


# --------------------------------------------------------------------------- XML feeds


def _feedparser(
    body: bytes, content_type: str | None, root: str
) -> tuple[dict[str, Any], list[dict[str, Any]], BaseException | None]:
    """feedparser over a checked document: (feed, entries, the bozo worth reporting)."""
    # No content-location: given one, feedparser urljoins every element against it (8 of
    # its 28 ms on a 130 KB WordPress feed); links are resolved against ``url`` here, once.
    headers = {"content-type": content_type or "application/xml"}
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except MemoryError:
        raise  # the poller reports the memory cap
    except Exception as exc:  # feedparser's loose parser can fail on anything
        raise ParseError(f"not a feed: {one_line_error(_reason(exc), 120)}") from None
    entries_raw = [raw for raw in parsed.get("entries") or () if isinstance(raw, dict)]
    version = parsed.get("version") or ""
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(bozo, _SURVIVABLE):
        bozo = None
    if not entries_raw and not version:
        if bozo is not None:
            raise ParseError(f"not a feed: {one_line_error(_reason(bozo), 120)}")
        raise ParseError(f"not a feed: <{clean_name(root)[:40]}> is not an RSS or Atom root")
    feed_raw = parsed.get("feed")
    return (feed_raw if isinstance(feed_raw, dict) else {}), entries_raw, bozo


def _parse_xml_feed(
    body: bytes, url: str, content_type: str | None, root: str, max_entries: int
) -> ParsedFeed:
    feed_raw, entries_raw, bozo = _feedparser(body, content_type, root)
    feed = _xml_feed_data(feed_raw, url)
    context = _Context(url=url, site_url=feed.site_url)
    entries, warnings = _collect(
        (functools.partial(_xml_entry, raw, context) for raw in entries_raw),
        len(entries_raw),
        max_entries,
    )
    if bozo is not None:
        count = len(entries)
        warnings.insert(
            0,
            f"malformed XML: {one_line_error(_reason(bozo), 120)}, "
            f"{count} post{'s' if count != 1 else ''} recovered",
        )
    return ParsedFeed(feed=feed, entries=entries, warnings=tuple(warnings))


def _reason(exc: BaseException) -> str:
    """A short cause: expat's message with its line, without the "<unknown>:" noise."""
    get_message = getattr(exc, "getMessage", None)
    get_line = getattr(exc, "getLineNumber", None)
    if callable(get_message) and callable(get_line):
        try:
            return f"{get_message()} at line {get_line()}"
        except Exception:  # a SAX exception without a locator
            pass
    return str(exc) or type(exc).__name__


class _Context:
    """What every entry of one document resolves against."""

    __slots__ = ("site_url", "url")

    def __init__(self, url: str, site_url: str | None) -> None:
        self.url = url
        self.site_url = site_url


def _xml_feed_data(raw: dict[str, Any], url: str) -> FeedData:
    title = _text_line(dict.get(raw, "title"), dict.get(raw, "title_detail"))
    site_url = safe_url(_str(dict.get(raw, "link")), url)
    generator = _str(dict.get(raw, "generator"))
    detail = dict.get(raw, "generator_detail")
    if isinstance(detail, Mapping):
        version = _str(detail.get("version"))
        if version and version not in generator:
            generator = f"{generator} {version}".strip()
    return FeedData(title=title, site_url=site_url, generator=clean_name(generator) or None)


def _identity(raw: dict[str, Any]) -> tuple[str, datetime | None, datetime | None]:
    """A post's or comment's stable id and dates; ``published`` falls back to ``updated``
    because RSS 1.0's dc:date and Atom's <updated> arrive only as "updated"."""
    get = functools.partial(dict.get, raw)  # no FeedParserDict key aliasing
    published = _date(get("published_parsed"), get("published"))
    updated = _date(get("updated_parsed"), get("updated"))
    guid = _guid(
        _str(get("id")),
        _str(get("link")),
        functools.partial(_fields, raw, ("title", "summary", "published")),
    )
    return guid, published or updated, updated


def _xml_entry(raw: dict[str, Any], ctx: _Context) -> EntryData:
    # dict.get, not FeedParserDict.get: no key aliasing (its "updated" falls back to
    # "published" with a DeprecationWarning) and several times faster.
    get: Callable[[str], Any] = functools.partial(dict.get, raw)
    link = safe_url(_str(get("link")), ctx.url)
    page_base = link or ctx.site_url or ctx.url

    summary_raw = _str(get("summary"))
    summary_detail = get("summary_detail")
    summary = _body_text(summary_raw, summary_detail, page_base, ctx.url)
    content = ""
    content_raw = ""
    contents = get("content")
    if isinstance(contents, list) and contents:
        best = max(
            (c for c in contents if isinstance(c, Mapping)),
            key=lambda c: len(_str(c.get("value"))),
            default=None,
        )
        if best is not None:
            content_raw = _str(best.get("value"))
            if content_raw == summary_raw and _type(best) == _type(summary_detail):
                content = summary
            else:
                content = _body_text(content_raw, best, page_base, ctx.url)

    title = _text_line(get("title"), get("title_detail"))
    if not title:
        title = _synthesise_title(summary or content)

    comments_url = safe_url(_str(get("comments")), ctx.url)
    comments_feed = _comment_feed_ref(_str(get("wfw_commentrss")), ctx.url)
    comment_count = _count(get("slash_comments"))
    if comment_count is None:
        comment_count = _count(get("thr_total"))
    links = get("links")
    if isinstance(links, list):
        for item in links:
            if not isinstance(item, Mapping) or item.get("rel") != "replies":
                continue
            href = safe_url(_str(item.get("href")), ctx.url)
            if _str(item.get("type")).lower() in _COMMENT_FEED_TYPES:
                ref = _comment_feed_ref(_str(item.get("href")), ctx.url)
                if comments_feed is None and ref:
                    comments_feed = ref
                    if comment_count is None:
                        comment_count = _count(item.get("thr:count") or item.get("count"))
            elif comments_url is None and href:
                comments_url = href

    guid, published, updated = _identity(raw)
    return EntryData(
        guid=guid,
        title=title,
        link=link,
        author=_author(get("author_detail"), get("author")),
        published=published,
        updated=updated,
        summary=summary,
        content=content,
        categories=_categories(get("tags")),
        comments_url=comments_url,
        comments_feed=comments_feed,
        comment_count=comment_count,
    )


def _type(detail: object) -> str:
    if isinstance(detail, Mapping):
        return _str(detail.get("type")).lower()
    return "text/html"


def _body_text(raw: str, detail: object, page_base: str, feed_url: str) -> str:
    """A summary or content as readable text; HTML unless the feed said it is plain.

    Links resolve against the xml:base in force when there is one (feedparser records it
    as the detail's ``base``; only http(s) bases get that far), else the post's own link.
    """
    if not raw:
        return ""
    raw = raw[:_RAW_BODY_MAX]
    kind = _type(detail)
    if kind not in _HTML_TYPES and kind.startswith("text/"):
        return clean_text(raw, single_line=False, max_len=CONTENT_MAX)
    base = page_base
    if isinstance(detail, Mapping):
        declared = _str(detail.get("base"))
        if declared and declared != feed_url:
            base = safe_url(declared) or page_base
    return html_to_text(raw, base)


def _text_line(value: object, detail: object) -> str:
    """A title: HTML is rendered to text only when the feed (or feedparser's guess) says
    so, so that a plain title about ``<script>`` tags keeps its words."""
    raw = _str(value)[:_RAW_LINE_MAX]
    if not raw:
        return ""
    if _type(detail) in _HTML_TYPES:
        return html_to_line(raw)
    return clean_text(raw)


def _synthesise_title(text: str, words: int = 12) -> str:
    """A title for a title-less post (microblogs, link blogs): its first words."""
    for line in text.split("\n"):
        if _LINK_LIST_LINE.match(line):
            break
        line = " ".join(_LINK_REF.sub("", line).split()).lstrip("> •#")
        if not line:
            continue
        parts = line.split()
        short = " ".join(parts[:words])
        if len(short) > 90:
            short = short[:89].rsplit(" ", 1)[0] or short[:89]
        elif len(parts) <= words:
            return short
        return short.rstrip(",;:.") + "…"
    return "(untitled)"


def _author(detail: object, author: object) -> str | None:
    """The author's name: ``author_detail.name`` first, because feedparser's ``author``
    appends the e-mail address ("Anthony (noreply@blogger.com)")."""
    name = _str(detail.get("name")) if isinstance(detail, Mapping) else ""
    return _name(name or _str(author)) or None


def _name(value: str) -> str:
    """An author or category: entity references decoded (WordPress double-escapes ``|`` as
    ``&#124;`` inside CDATA), but no tag stripping, so ``Care <team>`` survives."""
    value = value[:_RAW_LINE_MAX]
    if "&" in value:
        value = _CHAR_REF.sub(lambda m: html.unescape(m.group(0)), value)
    return clean_name(value)


def _categories(tags: object) -> tuple[str, ...]:
    if not isinstance(tags, list):
        return ()
    seen: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, Mapping):
            continue
        name = _name(_str(tag.get("term"))) or _name(_str(tag.get("label")))
        if name:
            seen.setdefault(name)
    return tuple(seen)


def _count(value: object) -> int | None:
    text = _str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


# --------------------------------------------------------------------------- shared


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _guid(raw_id: str, raw_link: str, fingerprint: Callable[[], Iterable[object]]) -> str:
    """The post's identity within its feed, stable from one poll to the next.

    The feed's id, else its link, else a hash of what the post says (a title-less,
    link-less, id-less item still needs a key that does not change when polled again).
    """
    guid = clean_text(raw_id, max_len=1 << 30) or clean_text(raw_link, max_len=1 << 30)
    if not guid:
        joined = "\x1f".join(str(part) if part is not None else "" for part in fingerprint())
        return "sha256:" + hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()
    if len(guid) > GUID_MAX:
        return "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()
    return guid


def _fields(raw: dict[str, Any], keys: tuple[str, ...]) -> tuple[object, ...]:
    return tuple(dict.get(raw, key) for key in keys)


def _date(parsed: object, raw: object) -> datetime | None:
    """A UTC datetime from feedparser's struct, or None when absent or absurd.

    Two formats feedparser gets wrong are read here from the raw string first:
    ``2020/1/10 14:33:00`` (it returns 1 November) and ``Dec 16 2023 02:02:33 PM`` (it
    drops the PM). Years outside 1970-2100 count as missing: they are typos or attacks,
    and would pin a post to the top or bottom of every list.
    """
    fields: tuple[int, ...] | None = None
    if isinstance(raw, str) and len(raw) < 64:
        fields = _odd_date(raw)
    if fields is None:
        if not isinstance(parsed, time.struct_time | tuple) or len(parsed) < 6:
            return None
        fields = tuple(parsed[:6])
    try:
        year, month, day, hour, minute, second = (int(f) for f in fields)
        if not 1970 <= year <= 2100:
            return None
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (ValueError, OverflowError, TypeError):
        return None


def _odd_date(raw: str) -> tuple[int, ...] | None:
    if match := _SLASH_DATE.match(raw):
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        return (y, mo, d, h, mi, s)
    if match := _AMPM_DATE.match(raw):
        month = _MONTHS.get(match.group(1).lower())
        if month is None:
            return None
        hour = int(match.group(4)) % 12 + (12 if match.group(7).lower() == "pm" else 0)
        second = int(match.group(6) or 0)
        return (int(match.group(3)), month, int(match.group(2)), hour, int(match.group(5)), second)
    return None


def _collect(
    builders: Iterable[Callable[[], EntryData]], total: int, max_entries: int
) -> tuple[tuple[EntryData, ...], list[str]]:
    """Build posts in document order: first of a duplicated id wins, at most max_entries.

    A post that cannot be built (hostile shapes feedparser passes through) is skipped, not
    allowed to lose the whole feed.
    """
    kept: dict[str, EntryData] = {}
    duplicates = 0
    skipped: list[str] = []
    for build in builders:
        if len(kept) >= max_entries:
            break
        try:
            entry = build()
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            skipped.append(one_line_error(str(exc) or type(exc).__name__, 80))
            continue
        if entry.guid in kept:
            duplicates += 1
        else:
            kept[entry.guid] = entry
    warnings: list[str] = []
    if duplicates:
        warnings.append(f"{duplicates} duplicate id{'s' if duplicates != 1 else ''} ignored")
    if skipped:
        warnings.append(f"{len(skipped)} unreadable post(s) skipped: {skipped[0]}")
    if len(kept) >= max_entries and total > max_entries:
        warnings.append(f"kept the newest {max_entries} of {total} posts")
    return tuple(kept.values()), warnings


# --------------------------------------------------------------------------- comment feeds

# WordPress's RSS comment feeds mark a threaded reply only in its text:
# ``<p>In reply to <a href="…#comment-N">Name</a>.</p>`` in content:encoded, the same
# escaped once more (``&lt;a href=&quot;…``) in the description.
_REPLY_MARKER = re.compile(
    r"""\A\s*(?:<p>\s*)?In\ reply\ to\s+
    (?:<a\s[^>]*?href\s*=\s*["']([^"'<>]*)["'][^>]*>.*?</a>
      |&lt;a\s.*?href=(?:&quot;|["'])(.*?)(?:&quot;|["']).*?&gt;.*?&lt;/a&gt;)
    \s*\.?\s*(?:</p>)?\s*""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)


_URL_SCHEME = re.compile(r"\A[a-zA-Z][a-zA-Z0-9+.-]{0,19}:")


def _comment_feed_ref(raw: str, base: str) -> str | None:
    """A post's comment feed: an absolute http(s) URL, or one carefeed will never fetch
    (``file:``, ``javascript:``…) kept as text, so that it is reported as "comment feed
    refused: …" rather than the post seeming to name none."""
    url = safe_url(raw, base)
    if url is not None or not raw:
        return url
    text = clean_text(raw, max_len=2048)
    # an http(s) address safe_url refused is not an address at all ("…/this is the new
    # val"): nothing to report, as for text without a scheme
    if not _URL_SCHEME.match(text) or text.lower().startswith(("http:", "https:")):
        return None
    return text


def parse_comments(
    body: bytes, url: str, content_type: str | None = None, max_entries: int = 5000
) -> ParsedComments:
    """Parse one comment feed (WordPress RSS "Comments on: …", Atom with
    ``thr:in-reply-to``, Blogger); raise ParseError when it is not one carefeed can read.

    Same safety as :func:`parse_feed` (entities refused, BytesIO, text through text.py).
    Comments keep document order; threading is left to :mod:`carefeed.comments`.
    """
    root = _check_prolog(body, content_type)
    if root is None:
        raise ParseError("not a comment feed: JSON")
    feed_raw, entries_raw, bozo = _feedparser(_strip_leading_space(body), content_type, root)
    title = _text_line(dict.get(feed_raw, "title"), dict.get(feed_raw, "title_detail"))
    site_url = safe_url(_str(dict.get(feed_raw, "link")), url)
    kept: dict[str, CommentData] = {}
    skipped: list[str] = []
    duplicates = 0
    for raw in entries_raw:
        if len(kept) >= max_entries:
            break
        try:
            comment = _xml_comment(raw, url, site_url)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            skipped.append(one_line_error(str(exc) or type(exc).__name__, 80))
            continue
        if comment.guid in kept:
            duplicates += 1
        else:
            kept[comment.guid] = comment
    warnings: list[str] = []
    if bozo is not None:
        warnings.append(
            f"malformed XML: {one_line_error(_reason(bozo), 120)}, {len(kept)} comments recovered"
        )
    if duplicates:
        warnings.append(f"{duplicates} duplicate comment id(s) ignored")
    if skipped:
        warnings.append(f"{len(skipped)} unreadable comment(s) skipped: {skipped[0]}")
    if len(kept) >= max_entries and len(entries_raw) > max_entries:
        warnings.append(f"kept the first {max_entries} of {len(entries_raw)} comments")
    return ParsedComments(title=title, comments=tuple(kept.values()), warnings=tuple(warnings))


def _xml_comment(raw: dict[str, Any], url: str, site_url: str | None) -> CommentData:
    get: Callable[[str], Any] = functools.partial(dict.get, raw)
    link = safe_url(_str(get("link")), url)
    base = link or site_url or url
    detail: object = get("summary_detail")
    raw_text = _str(get("summary"))
    contents = get("content")
    if isinstance(contents, list):
        best = max(
            (c for c in contents if isinstance(c, Mapping)),
            key=lambda c: len(_str(c.get("value"))),
            default=None,
        )
        if best is not None and _str(best.get("value")).strip():
            raw_text, detail = _str(best.get("value")), best
    raw_text = raw_text[:_RAW_BODY_MAX]
    in_reply_to: str | None = None
    in_reply_to_link: str | None = None
    marker = _REPLY_MARKER.match(raw_text)
    if marker is not None:
        href = html.unescape(marker.group(1) or marker.group(2) or "")
        in_reply_to = safe_url(href, base)
        raw_text = raw_text[marker.end() :]
    thread = get("thr_in-reply-to")
    if isinstance(thread, Mapping):
        ref = clean_text(_str(thread.get("ref")), max_len=GUID_MAX)
        in_reply_to = ref or in_reply_to
        in_reply_to_link = safe_url(_str(thread.get("href")), url)
    author_detail = get("author_detail")
    author_link = (
        safe_url(_str(author_detail.get("href")), url)
        if isinstance(author_detail, Mapping)
        else None
    )
    guid, published, _ = _identity(raw)
    return CommentData(
        guid=guid,
        text=_body_text(raw_text, detail, base, url),
        link=link,
        author=_author(author_detail, get("author")),
        author_link=author_link,
        published=published,
        in_reply_to=in_reply_to,
        in_reply_to_link=in_reply_to_link,
    )


# --------------------------------------------------------------------------- JSON Feed


def _parse_json_feed(body: bytes, url: str, max_entries: int) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org): title, items with ids, links, HTML or text bodies,
    dates, authors and tags. Anything of the wrong type is treated as absent."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise ParseError("not a feed: invalid JSON") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not re.match(
        r"https?://jsonfeed\.org/version/1(\.\d+)?$", version
    ):
        raise ParseError("not a feed: JSON that is not a JSON Feed")
    site_url = safe_url(_str(doc.get("home_page_url")), url)
    feed = FeedData(title=clean_text(_str(doc.get("title"))), site_url=site_url)
    feed_author = _json_author(doc)
    items = doc.get("items")
    items = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    base = site_url or url
    entries, warnings = _collect(
        (functools.partial(_json_entry, item, base, feed_author) for item in items),
        len(items),
        max_entries,
    )
    return ParsedFeed(feed=feed, entries=entries, warnings=tuple(warnings))


def _json_entry(item: dict[str, Any], base: str, feed_author: str | None) -> EntryData:
    raw_id = item.get("id")
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    link = safe_url(_str(item.get("url")) or _str(item.get("external_url")), base)
    page_base = link or base
    html_body = _str(item.get("content_html"))[:_RAW_BODY_MAX]
    if html_body:
        content = html_to_text(html_body, page_base)
    else:
        content = clean_text(
            _str(item.get("content_text"))[:_RAW_BODY_MAX], single_line=False, max_len=CONTENT_MAX
        )
    summary = clean_text(_str(item.get("summary"))[:_RAW_BODY_MAX], single_line=False)
    title = clean_text(_str(item.get("title"))[:_RAW_LINE_MAX])
    if not title:
        title = _synthesise_title(summary or content)
    tags = item.get("tags")
    categories = _categories(
        [{"term": t} for t in tags if isinstance(t, str)] if isinstance(tags, list) else None
    )
    published = _iso_date(item.get("date_published"))
    updated = _iso_date(item.get("date_modified"))
    guid = _guid(
        _str(raw_id),
        _str(item.get("url")),
        functools.partial(_fields, item, ("title", "summary", "date_published")),
    )
    return EntryData(
        guid=guid,
        title=title,
        link=link,
        author=_json_author(item) or feed_author,
        published=published or updated,
        updated=updated,
        summary=summary,
        content=content,
        categories=categories,
    )


def _json_author(obj: Mapping[str, Any]) -> str | None:
    """``authors`` (1.1), else ``author`` (1.0; 1.1 feeds often carry both, the same)."""
    authors = obj.get("authors")
    candidates: list[object] = list(authors) if isinstance(authors, list) else []
    if not candidates:
        candidates.append(obj.get("author"))
    names = [_name(_str(a.get("name"))) for a in candidates if isinstance(a, dict)]
    return clean_name(", ".join(n for n in names if n)) or None


def _iso_date(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return parsed if 1970 <= parsed.year <= 2100 else None
