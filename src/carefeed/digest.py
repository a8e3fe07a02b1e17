"""Briefing digests: a reading list of posts grouped by topic, for a team meeting
("Funding, last 7 days"), as Markdown, HTML, CSV or JSON. Pure: no I/O, no clock.

``build_digest`` turns cached posts into records; the ``to_*`` renderers turn the records
into text. Grouping:

* Groups come in taxonomy order (the order handed in as ``topic_order``); topics a post
  carries that the taxonomy no longer knows follow, by name; posts without topics come last
  under "Other".
* **Each post is listed once**, under its *primary* topic, and its other topics are named
  beside it. A briefing is read top to bottom by people deciding what to read: a post
  repeated under three headings wastes their time and inflates the counts ("12 posts" that
  are 7). The primary topic is the first of the post's topics that the digest is about
  (``focus``: the topics the user asked for, e.g. ``topic:funding``), else the post's first
  topic (its blog's own categories come before carefeed's guesses). So a Funding briefing
  puts every post under Funding even when the blogger filed it under Adult social care
  first. The header says so.
* Posts are newest first within a group.

Everything a post carries (title, summary, feed names, link) is untrusted. Each renderer
neutralises it for its format: HTML escapes everything and only ever links http(s)
addresses; Markdown backslash-escapes the characters that make markup and never emits
HTML; CSV prefixes a ``'`` to any cell a spreadsheet would run as a formula; every string is
passed through ``clean_text`` first (control characters and terminal escapes go).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from carefeed.model import AllOf, AnyOf, Entry, QueryNode, Term
from carefeed.text import clean_text, safe_url

OTHER = "Other"  # the group of posts without topics; always last
SUMMARY_WIDTH = 100  # characters per summary line
SUMMARY_LINES = 2
TITLE_CHARS = 300
NAME_CHARS = 200
UNTITLED = "(untitled)"
FORMATS = ("md", "html", "csv", "json")
GROUPING_NOTE = (
    "Each post is listed once, under its first topic; its other topics are named beside it."
)
FOCUS_NOTE = (
    "Each post is listed once: under {topics}, else under its first topic; "
    "its other topics are named beside it."
)

_LINK_REFS = re.compile(r"\n\s*\[\d+\]: \S+(?:\n\[\d+\]: \S+)*\s*\Z")  # html_to_text's list
_LINK_MARKS = re.compile(r"(?<=\S)\[\d+\]")  # "world[1]": html_to_text's reference marks


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DigestItem:
    """One post as a briefing shows it; every string already cleaned."""

    id: int
    title: str
    sources: tuple[str, ...]  # every feed that carries the post, its own first
    published: datetime
    dated: bool  # False: ``published`` is only when carefeed first saw the post
    link: str | None  # an http(s) address, or None when the post had no safe one
    summary_lines: tuple[str, ...]  # at most two lines of at most SUMMARY_WIDTH characters
    comments: int | None  # None: neither the feed nor the cache knows
    topic: str  # the group it is listed under (OTHER for none)
    other_topics: tuple[str, ...]  # its other topics, in its own order

    @property
    def summary(self) -> str:
        return " ".join(self.summary_lines)


@dataclass(frozen=True)
class DigestGroup:
    name: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class Digest:
    title: str
    generated_at: datetime
    groups: tuple[DigestGroup, ...]
    note: str  # how posts were grouped, for the header
    matched: int | None = None  # posts the filter matched, when more than were listed

    @property
    def posts(self) -> int:
        return sum(len(g.items) for g in self.groups)

    @property
    def topics(self) -> int:
        """Topic groups (the "Other" group is not a topic)."""
        return sum(g.name != OTHER for g in self.groups)


# --------------------------------------------------------------------------- building


def _cell(text: str | None, max_len: int) -> str:
    return clean_text(text or "", max_len=max_len)


def _cut(text: str, width: int) -> str:
    """``text`` with "…" in at most ``width`` characters, cut on a word boundary."""
    room = width - 1
    head = text[:room]
    if len(text) > room and text[room] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—") + "…"


def summary_lines(
    text: str | None, *, width: int = SUMMARY_WIDTH, lines: int = SUMMARY_LINES
) -> tuple[str, ...]:
    """The start of a summary as at most ``lines`` lines of at most ``width`` characters,
    cut on a word boundary with "…" when there is more. Link reference marks ("[1]") and
    the reference list that ``html_to_text`` appends are dropped."""
    if not text:
        return ()
    text = _LINK_REFS.sub("", text)
    text = _LINK_MARKS.sub("", text)
    text = clean_text(text, max_len=width * lines * 4)
    if not text:
        return ()
    wrapped = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False)
    if len(wrapped) <= lines:
        return tuple(wrapped)
    kept = wrapped[:lines]
    rest = " ".join([kept[-1], *wrapped[lines:]])
    kept[-1] = _cut(rest, width)
    return tuple(kept)


def _sources(entry: Entry) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in (entry.feed_title, *entry.also_in):
        cleaned = _cell(name, NAME_CHARS)
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def _comments(entry: Entry) -> int | None:
    if entry.comment_count is None and not entry.comments_stored:
        return None
    return max(entry.comment_count or 0, entry.comments_stored)


def _topics(entry: Entry) -> list[str]:
    names: dict[str, None] = {}
    for match in entry.topics:
        name = _cell(match.name, NAME_CHARS)
        if name:
            names.setdefault(name, None)
    return list(names)


def query_topics(node: QueryNode | None) -> tuple[str, ...]:
    """The topics a filter query asks for (``topic:`` terms not under a ``-``), in order:
    the ``focus`` of a briefing made from that query."""
    if isinstance(node, Term):
        return (node.value,) if node.field == "topic" and node.value else ()
    if isinstance(node, AllOf | AnyOf):
        return tuple(dict.fromkeys(t for part in node.parts for t in query_topics(part)))
    return ()  # Text, Not, None


def build_digest(
    entries: Iterable[Entry],
    topic_order: Sequence[str],
    *,
    title: str,
    generated_at: datetime,
    focus: Sequence[str] = (),
    matched: int | None = None,
) -> Digest:
    """Group ``entries`` by topic for a briefing (see the module's docstring).

    ``topic_order`` is the taxonomy's order; ``focus`` the topics the briefing is about
    (a post having one is listed under it); ``matched`` how many posts the filter matched
    when the list was cut short (it goes in the header).
    """
    asked = list(dict.fromkeys(f for f in focus if f))
    groups: dict[str, list[DigestItem]] = {}
    seen_ids: set[int] = set()
    for entry in entries:
        if entry.id in seen_ids:
            continue
        seen_ids.add(entry.id)
        topics = _topics(entry)
        primary = next((t for t in asked if t in topics), topics[0] if topics else OTHER)
        body = entry.summary or entry.content
        item = DigestItem(
            id=entry.id,
            title=_cell(entry.title, TITLE_CHARS) or UNTITLED,
            sources=_sources(entry),
            published=entry.published,
            dated=entry.dated,
            link=safe_url(entry.link),
            summary_lines=summary_lines(body),
            comments=_comments(entry),
            topic=primary,
            other_topics=tuple(t for t in topics if t != primary),
        )
        groups.setdefault(primary, []).append(item)
    rank = {name: i for i, name in enumerate(topic_order)}
    names = sorted(
        (n for n in groups if n != OTHER),
        key=lambda n: (n not in rank, rank.get(n, 0), n.casefold()),
    )
    if OTHER in groups:
        names.append(OTHER)
    ordered = tuple(
        DigestGroup(
            name,
            tuple(sorted(groups[name], key=lambda i: (i.published, i.id), reverse=True)),
        )
        for name in names
    )
    if asked:
        where = (
            f"{asked[0]} when it has that topic"
            if len(asked) == 1
            else "the first of " + ", ".join(asked) + " that it has"
        )
        note = FOCUS_NOTE.format(topics=where)
    else:
        note = GROUPING_NOTE
    return Digest(
        title=_cell(title, TITLE_CHARS) or "Reading list",
        generated_at=generated_at,
        groups=ordered,
        note=note,
        matched=matched,
    )


# --------------------------------------------------------------------------- shared words


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(item: DigestItem) -> str:
    day = item.published.astimezone(UTC).strftime("%Y-%m-%d")
    return day if item.dated else f"{day} (first seen; the post gives no date)"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(item: DigestItem, escape: Callable[[str], str]) -> str:
    """``Feed A, Feed B · 2026-11-20 · 3 comments · also Carers``, each piece escaped for
    the format. The comment count is left out when neither the feed nor the cache knows
    it (a blank is kinder to a briefing than "comments unknown" on most posts); a known
    zero is shown."""
    parts = [
        ", ".join(escape(s) for s in item.sources) or "unknown feed",
        escape(_day(item)),
    ]
    if item.comments is not None:
        parts.append(_plural(item.comments, "comment"))
    if item.other_topics:
        parts.append("also " + ", ".join(escape(t) for t in item.other_topics))
    return " · ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(digest: Digest) -> str:
    """``12 posts in 3 topics`` (and how many matched, when the list was cut short)."""
    text = f"{_plural(digest.posts, 'post')} in {_plural(digest.topics, 'topic')}"
    if digest.matched is not None and digest.matched > digest.posts:
        text += f" (the newest {digest.posts} of {digest.matched} matching posts)"
    return text


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>|&~])")
_MD_LINE_START = re.compile(r"^(\s*)([#>=+\-]|\d+[.)])")
_MD_URL_UNSAFE = re.compile(r"[()<>\[\]`\"'\\| ]")


def md_escape(text: str) -> str:
    """Literal text for Markdown: nothing in it can make a link, emphasis, code, HTML, a
    table cell, a heading or a list item."""
    text = _MD_SPECIAL.sub(r"\\\1", clean_text(text, max_len=10**6))
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _md_url(url: str) -> str | None:
    """An http(s) URL fit for a Markdown link destination (characters that could end or
    bend the destination percent-encoded), or None."""
    safe = safe_url(url)
    if safe is None:
        return None
    netloc = urlsplit(safe).netloc
    if _MD_URL_UNSAFE.search(netloc.replace("[", "").replace("]", "")):
        return None
    head, _, rest = safe.partition(netloc)
    return head + netloc + _MD_URL_UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", rest)


def to_markdown(digest: Digest) -> str:
    out = [f"# {md_escape(digest.title)}", ""]
    out.append(f"Generated {_stamp(digest.generated_at)} · {summary_line(digest)}.")  # our words
    out.append(md_escape(digest.note))
    if not digest.groups:
        out += ["", "No posts match."]
    for group in digest.groups:
        out += ["", f"## {md_escape(group.name)} ({len(group.items)})", ""]
        for item in group.items:
            url = _md_url(item.link) if item.link else None
            title = md_escape(item.title)
            out.append((f"- [{title}]({url})" if url else f"- {title}") + "  ")
            out.append("  " + _meta(item, md_escape) + ("  " if item.summary_lines else ""))
            for i, text in enumerate(item.summary_lines):
                hard_break = "  " if i < len(item.summary_lines) - 1 else ""
                out.append("  " + md_escape(text) + hard_break)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML


def _h(text: str) -> str:
    return html.escape(clean_text(text, max_len=10**6), quote=True)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45}h2{margin-top:2rem;border-bottom:1px solid #ccc}li{margin:.8rem 0}"
    ".meta{color:#555;font-size:.9em}.summary{margin:.2rem 0 0}"
)


def to_html(digest: Digest) -> str:
    """A standalone page; a Content-Security-Policy forbids any script or remote load."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_h(digest.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_h(digest.title)}</h1>",
        f"<p>Generated {_h(_stamp(digest.generated_at))} · {_h(summary_line(digest))}. "
        f"{_h(digest.note)}</p>",
    ]
    if not digest.groups:
        out.append("<p>No posts match.</p>")
    for group in digest.groups:
        out.append(f"<h2>{_h(group.name)} ({len(group.items)})</h2>")
        out.append("<ul>")
        for item in group.items:
            url = safe_url(item.link) if item.link else None
            title = _h(item.title)
            if url:
                title = f'<a href="{_h(url)}" rel="noopener noreferrer">{title}</a>'
            out.append(f"<li>{title}<br>")
            out.append(f'<span class="meta">{_meta(item, _h)}</span>')
            if item.summary_lines:
                lines = "<br>".join(_h(s) for s in item.summary_lines)
                out.append(f'<p class="summary">{lines}</p>')
            out.append("</li>")
        out.append("</ul>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = ("topic", "title", "feeds", "published", "link", "comments", "summary", "topics")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: one clean line, and a leading ``'`` when it
    would start a formula (``=``, ``+``, ``-``, ``@``, tab, CR; leading spaces ignored)."""
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    text = clean_text(text, max_len=10**6)
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def to_csv(digest: Digest) -> str:
    """One row per post (a header row first); ``feeds`` and ``topics`` are joined with
    "; ", ``published`` is ISO 8601 UTC, ``comments`` empty when unknown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for group in digest.groups:
        for item in group.items:
            row = [
                group.name,
                item.title,
                "; ".join(item.sources),
                _iso(item.published),
                item.link or "",
                "" if item.comments is None else str(item.comments),
                item.summary,
                "; ".join((item.topic, *item.other_topics)) if item.topic != OTHER else "",
            ]
            writer.writerow([csv_cell(c) for c in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------- JSON


def digest_json(digest: Digest) -> dict[str, Any]:
    return {
        "title": digest.title,
        "generated_at": _iso(digest.generated_at),
        "note": digest.note,
        "posts": digest.posts,
        "topics": digest.topics,
        "matched": digest.matched,
        "groups": [
            {
                "topic": group.name,
                "posts": [
                    {
                        "id": item.id,
                        "title": item.title,
                        "feeds": list(item.sources),
                        "published": _iso(item.published),
                        "dated": item.dated,
                        "link": item.link,
                        "summary": item.summary,
                        "summary_lines": list(item.summary_lines),
                        "comments": item.comments,
                        "other_topics": list(item.other_topics),
                    }
                    for item in group.items
                ],
            }
            for group in digest.groups
        ],
    }


def to_json(digest: Digest) -> str:
    """``digest_json`` as text; ASCII only, so no raw control character can reach a
    terminal that prints it."""
    return json.dumps(digest_json(digest), ensure_ascii=True, indent=2) + "\n"


RENDERERS = {"md": to_markdown, "html": to_html, "csv": to_csv, "json": to_json}


def render(digest: Digest, fmt: str) -> str:
    return RENDERERS[fmt](digest)
