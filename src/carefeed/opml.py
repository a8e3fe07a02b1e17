"""Subscription lists in and out: OPML 1.0/2.0, read from strangers and written for them.

An OPML file is usually someone else's export, so reading it is an attack surface (HOSTILE.md
F15): it goes through defusedxml with DTDs refused outright, so entity bombs, external
entities and external DTDs are stopped before anything is expanded or fetched. The outline
tree is walked with an explicit stack, never recursion, because a 100,000-deep file is
cheap to make and a recursive walker dies at about 5,000.

Reading follows what the files in the wild do rather than only what the spec says:
attribute names in any case (``xmlurl``, ``xmlURL``), ``url`` where ``xmlUrl`` is missing
(newsboat accepts it too), ``text`` as the display name (OPML 2.0: ``title`` is only the
feed's own title, ``text`` is what the user sees and may have renamed), folders as tags,
the same feed in several folders merged into one subscription, undeclared Latin-1 and a
bare ``&`` tolerated by a second, repairing parse. Every outline that is not imported and
is not just an empty folder comes back as a ``Refusal`` with its reason, so an import is
never partial without saying so.

Writing cleans every string first (F16): ElementTree writes ESC and NUL into attributes
as they are, and the result is not XML any more.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from html.entities import name2codepoint
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree as ET
from xml.parsers.expat import ErrorString

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from carefeed.errors import InvalidUrlError, OpmlError
from carefeed.model import OpmlDocument, Refusal, Subscription, utc_now
from carefeed.text import NAME_MAX, clean_name, clean_text, safe_url
from carefeed.urls import display_url, validate_feed_url

ENTITIES_REFUSED = "OPML declares XML entities: refused"
INCLUDE_REFUSED = "OPML includes are not followed"
MAX_TAGS = 100  # per subscription beyond max_depth: one feed in 10,000 folders stays cheap
DEFAULT_TITLE = "carefeed subscriptions"

_FEED_TYPES = frozenset({"rss", "atom"})
_LINK_TYPES = frozenset({"link", "redirect"})
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z_:][\w.:-]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_CHARACTER_REFERENCE = re.compile(r"&#(?:([0-9]{1,8})|[xX]([0-9A-Fa-f]{1,8}));")
# Raw ESC sequences (CSI, OSC/DCS/… to their terminator, two-byte) and then any character
# XML 1.0 forbids: what a buggy exporter leaves in a file (F16). Whole sequences go, so no
# "[2J" debris is left in a title; an unterminated one stops at the end of its attribute.
_RAW_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b\"'<>]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
)
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --------------------------------------------------------------------------- reading


def parse_opml(data: bytes, *, max_depth: int = 50) -> OpmlDocument:
    """Read an OPML file into subscriptions and refusals; raise OpmlError if it is unreadable.

    ``max_depth`` bounds how many nested folder names become tags; feeds below that depth
    are still imported, with the tags of the folders above the cut. The caller caps the
    file's size (``Limits.opml_cap``) before calling.
    """
    if max_depth < 0:
        raise ValueError("max_depth must not be negative")
    root = _read_tree(data)
    if _local(root.tag) != "opml":
        shown = clean_text(_local(root.tag), max_len=40)
        raise OpmlError(f"not an OPML file: the document is <{shown}>, not <opml>")
    head = _child(root, "head")
    body = _child(root, "body")
    if body is None:
        raise OpmlError("OPML file has no <body>, so it lists no feeds")
    title = ""
    if head is not None:
        title_el = _child(head, "title")
        if title_el is not None:
            title = clean_text(title_el.text or "")
    walker = _Walker(max_depth)
    walker.walk(body)
    return OpmlDocument(
        subscriptions=tuple(p.subscription() for p in walker.found.values()),
        refused=tuple(walker.refused),
        title=title,
    )


def merge_key(url: str) -> str:
    """The identity two feed URLs share when they are the same subscription.

    Takes a URL already canonicalised by ``validate_feed_url`` (scheme and host lower-case)
    and ignores a trailing slash on the path, which exporters add and drop at will. Paths
    and queries otherwise keep their case: many servers treat them case-sensitively.
    """
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


def _local(tag: object) -> str:
    """An element or attribute name without its namespace, lower-cased (OPML has none)."""
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    for el in parent:
        if _local(el.tag) == name:
            return el
    return None


def _fromstring(data: bytes | str) -> ET.Element:
    """One defused parse; any DTD at all is refused, which also stops external DTDs."""
    try:
        root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError(ENTITIES_REFUSED) from None
    return root


def _read_tree(data: bytes) -> ET.Element:
    """Parse strictly, then once more on repaired text before giving up.

    The strict parse honours the XML declaration's encoding. The retry exists for what
    real exports get wrong: undeclared Latin-1 (invalid UTF-8), encodings expat cannot
    read (multi-byte or unknown names), a bare ``&`` in a description, HTML entities. The
    retry is defused too, so it cannot let an entity through; its own error is not shown,
    because the strict parser's position is the one that matches the file.
    """
    if not data.strip():
        raise OpmlError("the OPML file is empty")
    try:
        return _fromstring(data)
    except ET.ParseError as exc:
        reason = _describe(exc)
    except (ValueError, LookupError) as exc:  # "multi-byte encodings are not supported" …
        reason = clean_text(str(exc), max_len=120)
    try:
        return _fromstring(_repair(_decode(data)))
    except ET.ParseError:
        raise OpmlError(f"not valid XML: {reason}") from None


def _describe(exc: ET.ParseError) -> str:
    """Expat's reason with a 1-based line and column, as an editor would show them."""
    code = getattr(exc, "code", None)
    reason = ErrorString(code) if isinstance(code, int) else str(exc).split(":")[0]
    position = getattr(exc, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        line, column = position
        return clean_text(f"{reason} at line {line}, column {column + 1}", max_len=160)
    return clean_text(reason, max_len=160)


def _decode(data: bytes) -> str:
    """The file as text: declared encoding, then UTF-8, then cp1252, then Latin-1.

    cp1252 before Latin-1 because files "in Latin-1" are nearly always Windows-1252 (curly
    quotes at 0x91-0x94); Latin-1 decodes anything, so it is the last resort.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    candidates = ["utf-8", "cp1252"]
    declared = _DECLARED_ENCODING.match(data[:1024])
    if declared:
        name = declared.group(1).decode("ascii")
        try:
            codecs.lookup(name)
        except LookupError:
            pass
        else:
            candidates.insert(0, name)
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _repair(text: str) -> str:
    """Make a nearly-XML file XML: characters XML forbids, bare ``&``, HTML entities.

    References to forbidden characters (``&#27;``) are expanded first so that an escape
    sequence written as references goes the same way as a raw one.
    """

    def character(match: re.Match[str]) -> str:
        decimal, hexadecimal = match.groups()
        codepoint = int(decimal) if decimal else int(hexadecimal, 16)
        if codepoint > 0x10FFFF:
            return ""
        char = chr(codepoint)
        return char if _NOT_XML.match(char) else match.group(0)

    text = _CHARACTER_REFERENCE.sub(character, text)
    text = _NOT_XML.sub("", _RAW_ESCAPES.sub("", text))
    text = _BARE_AMPERSAND.sub("&amp;", text)

    def named(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_ENTITIES:
            return match.group(0)
        codepoint = name2codepoint.get(name)
        return f"&#{codepoint};" if codepoint is not None else f"&amp;{name};"

    return _NAMED_REFERENCE.sub(named, text)


def _clean_tag(s: str | None) -> str:
    """A folder or category name as a tag: one clean line, no leading or trailing ``/``.

    Category paths (``/Boston/Weather``) keep their inner slashes as one tag; stripping
    the outer ones makes a tag survive export (where it gets a leading ``/``) unchanged.
    """
    return clean_name(clean_name(s).strip(" /"))


@dataclass
class _Pending:
    """A subscription being assembled while the same URL may still turn up again."""

    url: str
    title: str
    site_url: str | None
    tags: dict[str, str] = field(default_factory=dict)  # casefolded → as first written

    def add_tags(self, tags: Iterable[str], limit: int) -> None:
        for tag in tags:
            key = tag.casefold()
            if key not in self.tags and len(self.tags) < limit:
                self.tags[key] = tag

    def subscription(self) -> Subscription:
        return Subscription(
            url=self.url, title=self.title, site_url=self.site_url, tags=tuple(self.tags.values())
        )


class _Walker:
    """Walks ``<body>`` with an explicit stack, collecting feeds and refusals in file order."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.tag_limit = max_depth + MAX_TAGS  # every folder level fits, then categories
        self.found: dict[str, _Pending] = {}
        self.refused: list[Refusal] = []

    def walk(self, body: ET.Element) -> None:
        # (element, folder tags above it, folder depth above it); children are pushed in
        # reverse so they pop in document order and "first title wins" means first in file.
        stack: list[tuple[ET.Element, tuple[str, ...], int]] = [
            (el, (), 0) for el in reversed(body)
        ]
        while stack:
            el, tags, depth = stack.pop()
            if _local(el.tag) != "outline":
                continue
            children = [c for c in el if _local(c.tag) == "outline"]
            attrs = {_local(k): v for k, v in el.attrib.items()}
            kind = attrs.get("type", "").strip().lower()
            name = clean_text(attrs.get("text", "")) or clean_text(attrs.get("title", ""))

            if kind == "include":
                self._refuse(name, attrs.get("url", ""), INCLUDE_REFUSED)
                continue  # never fetched, and its children (if any) are not ours either

            address = attrs.get("xmlurl", "").strip()
            if not address and (kind in _FEED_TYPES or (not kind and not children)):
                address = attrs.get("url", "").strip()  # newsboat's fallback, for feeds only

            if address:
                self._feed(address, name, attrs, tags)
                below = tags  # a feed with children is not a folder: they keep its tags
                below_depth = depth
            elif children:
                below_depth = depth + 1
                folder = _clean_tag(attrs.get("text")) or _clean_tag(attrs.get("title"))
                below = (*tags, folder) if folder and below_depth <= self.max_depth else tags
            elif kind in _LINK_TYPES:
                reason = "a link outline, not a feed: not followed"
                self._refuse(name, attrs.get("url", ""), reason)
                continue
            elif kind in _FEED_TYPES or attrs.get("htmlurl", "").strip():
                self._refuse(name, attrs.get("htmlurl", ""), "no feed address (xmlUrl)")
                continue
            else:
                continue  # an empty folder or a note: nothing was meant to be imported
            stack.extend((child, below, below_depth) for child in reversed(children))

    def _feed(self, address: str, name: str, attrs: dict[str, str], tags: tuple[str, ...]) -> None:
        try:
            url = validate_feed_url(address)
        except InvalidUrlError as exc:
            self._refuse(name, address, str(exc))
            return
        if name in (address, url):
            name = ""  # an exporter's placeholder, not a name: let the feed's own title win
        html = attrs.get("htmlurl", "")
        site = safe_url(html, None if "://" in html else url)  # urljoin only when relative
        categories = [t for t in map(_clean_tag, attrs.get("category", "").split(",")) if t]
        key = merge_key(url)
        pending = self.found.get(key)
        if pending is None:
            pending = self.found[key] = _Pending(url=url, title=name, site_url=site)
        else:
            pending.title = pending.title or name
            pending.site_url = pending.site_url or site
        pending.add_tags(tags, self.tag_limit)
        pending.add_tags(categories, self.tag_limit)

    def _refuse(self, name: str, address: str, reason: str) -> None:
        where = name or clean_text(display_url(address.strip()), max_len=NAME_MAX)
        self.refused.append(Refusal(where=where or "(untitled outline)", reason=reason))


# --------------------------------------------------------------------------- writing


def write_opml(subscriptions: Iterable[Subscription], *, title: str = DEFAULT_TITLE) -> bytes:
    """OPML 2.0 that any reader (and ``parse_opml``) re-imports to the same feeds and tags.

    A subscription goes in the folder of its first tag; its other tags go in ``category``
    as ``/tag`` paths. A tag containing a comma cannot be a category (commas separate
    them), so the feed is also listed in that tag's folder; re-import merges the copies.
    Raises InvalidUrlError for a subscription URL that ``validate_feed_url`` refuses.
    """
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = clean_text(title) or DEFAULT_TITLE
    ET.SubElement(head, "dateCreated").text = format_datetime(utc_now(), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}

    def folder(tag: str) -> ET.Element:
        key = tag.casefold()
        if key not in folders:
            folders[key] = ET.SubElement(body, "outline", {"text": tag, "title": tag})
        return folders[key]

    for sub in subscriptions:
        url = validate_feed_url(sub.url)
        name = clean_text(sub.title) or url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": url}
        site = safe_url(sub.site_url)
        if site:
            attrs["htmlUrl"] = site
        tags = _unique_tags(sub.tags)
        if not tags:
            ET.SubElement(body, "outline", attrs)
            continue
        home, rest = tags[0], tags[1:]
        categories = [t for t in rest if "," not in t]
        home_attrs = dict(attrs)
        if categories:
            home_attrs["category"] = ",".join("/" + t for t in categories)
        ET.SubElement(folder(home), "outline", home_attrs)
        for tag in rest:
            if "," in tag:
                ET.SubElement(folder(tag), "outline", attrs)

    ET.indent(root, space="  ")
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written + b"\n"


def _unique_tags(tags: Iterable[str]) -> list[str]:
    """Tags as ``parse_opml`` would give them back: cleaned, first spelling of each kept."""
    seen: dict[str, str] = {}
    for raw in tags:
        tag = _clean_tag(raw)
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())
