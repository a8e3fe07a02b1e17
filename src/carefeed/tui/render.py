"""The only door from feed text to Textual: records in, ``Content`` out, never markup.

Everything a stranger wrote (titles, bodies, categories, authors, feed names, server error
messages) is shown *literally*: ``[@click=app.quit]x[/]`` is those characters and does
nothing when clicked, ``Budget [/bold] cuts`` cannot raise ``MarkupError``, and
``[Green Paper]`` keeps its brackets (HOSTILE.md F1-F5). Two rules make that true:

* text becomes ``Content(text)`` or a ``(text, style)`` part of ``Content.assemble``,
  which never parse markup; no f-string of feed text ever reaches ``from_markup``;
* every string is passed through :func:`carefeed.text.clean_text` again here, because the
  cache may have been written by an older carefeed and Textual strips only five control
  codes (F6): markup safety and escape-sequence safety are two different things.

Styles are component-class names (``.cf--unread``…) declared by the screens and widgets
that show these, so the colours live in ``carefeed.tcss`` and follow the theme; the few
plain styles (``bold``, ``italic``) are the ones that make sense in any theme.

Pure functions of their arguments (the clock is passed in as ``now``), so snapshot tests
are deterministic and the list can cache rendered rows.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from rich.text import Text
from textual.content import Content

from carefeed.model import Comment, Entry, Feed, LabelCount
from carefeed.text import CONTENT_MAX, NAME_MAX, TITLE_MAX, clean_text, safe_url

# Component classes the reader's screens declare; render output refers to them by name.
STYLES = frozenset(
    {
        "cf--unread",  # the ● marker and an unread title
        "cf--read",  # a read title
        "cf--star",
        "cf--chip",  # a category
        "cf--feed",
        "cf--date",
        "cf--muted",
        "cf--error",
        "cf--heading",
        "cf--quote",
        "cf--link",
        "cf--count",
        "cf--match",
        "cf--key",
    }
)

UNREAD_GLYPH = "●"
READ_GLYPH = " "
STAR_GLYPH = "★"
ERROR_GLYPH = "⚠"
GONE_GLYPH = "✖"
COMMENT_GLYPH = "❝"
CHECKED_GLYPH = "☑"
UNCHECKED_GLYPH = "☐"
ELLIPSIS = "…"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- words


def clean(value: str | None, *, max_len: int = TITLE_MAX) -> str:
    """One line of untrusted text, safe for a terminal (escape sequences, bidi, controls)."""
    return clean_text(value or "", max_len=max_len)


def plain(value: str | None, *, max_len: int = TITLE_MAX) -> Content:
    """Untrusted text as inert Content: brackets stay brackets."""
    return Content(clean(value, max_len=max_len))


def message(value: str) -> str:
    """An error or notice for ``notify(..., markup=False)``: one clean line."""
    return clean_text(value, max_len=400) or "unknown error"


def relative_date(when: datetime, now: datetime, *, compact: bool = False) -> str:
    """ "now", "12m", "3h", "2d" for the last week, then "12 Mar", or "12 Mar 2024"
    (``compact``, for the list's 7-cell column: "Mar '24")."""
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    local = when.astimezone(now.tzinfo)
    if local.year == now.year:
        return f"{local.day} {_MONTHS[local.month - 1]}"
    if compact:
        return f"{_MONTHS[local.month - 1]} '{local.year % 100:02d}"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def full_date(when: datetime, now: datetime) -> str:
    """ "Mon 12 Mar 2026 14:05 (3h ago)": the post pane's date."""
    local = when.astimezone(now.tzinfo)
    stamp = local.strftime("%a ") + f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
    stamp += local.strftime(" %H:%M")
    ago = relative_date(when, now)
    if ago[-1] in "mhd" and ago[:-1].isdigit():
        return f"{stamp} ({ago} ago)"
    return stamp if ago != "now" else f"{stamp} (just now)"


def ago(when: datetime | None, now: datetime) -> str:
    """ "3 min ago", "2 h ago", "yesterday"…, for the status line."""
    if when is None:
        return "never"
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return "yesterday" if days == 1 else f"{days} days ago"


def _fit(text: str, width: int, style: str = "") -> Content:
    """``text`` cut or padded to exactly ``width`` cells (an ellipsis marks a cut)."""
    if width <= 0:
        return Content("")
    content = Content.styled(text, style) if style else Content(text)
    return content.truncate(width, ellipsis=True, pad=True)


def _fit_right(text: str, width: int, style: str = "") -> Content:
    if width <= 0:
        return Content("")
    content = Content.styled(text, style) if style else Content(text)
    if content.cell_length > width:
        return content.truncate(width, ellipsis=True)
    return Content(" " * (width - content.cell_length)) + content


# --------------------------------------------------------------------------- the post list


def chips(categories: Sequence[str], width: int) -> Content:
    """Categories as compact chips, as many as fit in ``width`` cells."""
    parts: list[Content] = []
    used = 0
    for raw in categories:
        name = clean(raw, max_len=NAME_MAX)
        if not name:
            continue
        room = width - used - (1 if parts else 0)
        if room < 4:
            break
        chip = Content.styled(f" {name} ", ".cf--chip")
        if chip.cell_length > room:
            chip = chip.truncate(room, ellipsis=True)
        if parts:
            parts.append(Content(" "))
            used += 1
        parts.append(chip)
        used += chip.cell_length
    return Content.assemble(*parts)


def entry_row(entry: Entry, width: int, now: datetime) -> Content:
    """One line of the post list, exactly ``width`` cells wide.

    ``● ★ Title … ‹chip› ‹chip›  Feed name   3h ❝4``: the unread marker is a glyph, not only
    a colour; columns drop out right to left as the pane narrows (comments, chips, feed).
    """
    width = max(width, 8)
    marker = Content.styled(UNREAD_GLYPH, ".cf--unread") if not entry.read else Content(" ")
    star = Content.styled(STAR_GLYPH, ".cf--star") if entry.starred else Content(" ")
    date_w = 7
    comments_w = 5 if width >= 64 else 0
    feed_w = min(22, width // 5) if width >= 60 else 0
    chips_w = min(40, width // 4) if width >= 70 else 0
    title_w = width - 4 - date_w - comments_w - (feed_w + 2 if feed_w else 0)
    fresh = entry.new_comments
    new_c = Content.styled(f" {fresh} new", ".cf--unread") if fresh and width >= 40 else Content("")
    title_w -= new_c.cell_length
    title_style = ".cf--unread" if not entry.read else ".cf--read"
    title = clean(entry.title) or "(no title)"
    title_c = Content.styled(title, title_style)
    chip_c = Content("")
    if chips_w and entry.categories:
        room = min(chips_w, max(0, title_w - min(title_c.cell_length, title_w // 2) - 2))
        chip_c = chips(entry.categories, room)
    if chip_c.cell_length:
        title_part = Content.assemble(
            title_c.truncate(title_w - chip_c.cell_length - 1, ellipsis=True), " ", chip_c
        ).truncate(title_w, ellipsis=True, pad=True)
    else:
        title_part = title_c.truncate(title_w, ellipsis=True, pad=True)
    parts: list[Content] = [marker, Content(" "), star, Content(" "), title_part, new_c]
    if feed_w:
        feed_name = clean(entry.feed_title, max_len=NAME_MAX)
        if entry.also_in:  # a cross-post: "Care blog +2"
            more = f" +{len(entry.also_in)}"
            feed_c = Content.assemble(
                _fit(feed_name, feed_w - len(more), ".cf--feed"), (more, ".cf--muted")
            )
        else:
            feed_c = _fit(feed_name, feed_w, ".cf--feed")
        parts += [Content("  "), feed_c]
    parts.append(_fit_right(relative_date(entry.published, now, compact=True), date_w, ".cf--date"))
    if comments_w:
        count = entry.comment_count
        if count is None or count < entry.comments_stored:
            count = entry.comments_stored
        text = f"{COMMENT_GLYPH}{count}" if count else ""
        parts.append(_fit_right(text, comments_w, ".cf--count"))
    return Content.assemble(*parts).truncate(width, pad=True)


def loading_row(width: int) -> Content:
    return _fit("    " + ELLIPSIS, width, ".cf--muted")


# --------------------------------------------------------------------------- the post


def post_header(entry: Entry, now: datetime) -> Content:
    """Title, then feed · author · date, the link, and the categories."""
    lines: list[Content] = [Content.styled(clean(entry.title) or "(no title)", ".cf--heading")]
    byline: list[Content | str | tuple[str, str]] = [
        (clean(entry.feed_title, max_len=NAME_MAX), ".cf--feed")
    ]
    if entry.author:
        byline += [" · ", clean(entry.author, max_len=NAME_MAX)]
    date = full_date(entry.published, now) if entry.dated else "undated"
    byline += [" · ", (date, ".cf--date")]
    if entry.starred:
        byline += ["  ", (f"{STAR_GLYPH} starred", ".cf--star")]
    if not entry.read:
        byline += ["  ", (f"{UNREAD_GLYPH} unread", ".cf--unread")]
    lines.append(Content.assemble(*byline))
    link = safe_url(entry.link)
    if link:
        lines.append(Content.assemble(("Link: ", ".cf--muted"), (link, ".cf--link")))
    elif entry.link:
        shown = clean(entry.link, max_len=120)
        lines.append(Content.assemble(("Link (not opened: not http/https): ", ".cf--muted"), shown))
    if entry.also_in:
        lines.append(
            Content.assemble(
                ("Also in: ", ".cf--muted"),
                Content(", ").join(
                    Content.styled(clean(f, max_len=NAME_MAX), ".cf--feed") for f in entry.also_in
                ),
            )
        )
    if entry.categories:
        lines.append(
            Content.assemble(("Filed under: ", ".cf--muted"), chips(entry.categories, 10_000))
        )
    if entry.topics:
        lines.append(
            Content.assemble(
                ("Topics: ", ".cf--muted"),
                Content(", ").join(
                    Content(clean(t.name, max_len=NAME_MAX) + (" (inferred)" if t.inferred else ""))
                    for t in entry.topics
                ),
            )
        )
    return Content("\n").join(lines)


_REF_LINE = re.compile(r"^\[\d+\]: ", re.MULTILINE)
_QUOTE_LINE = re.compile(r"^(?:> )+.*$", re.MULTILINE)
_HEADING_LINE = re.compile(r"^#{1,6} .*$", re.MULTILINE)
_REF_MARK = re.compile(r"\[\d+\]")


def post_body(entry: Entry) -> Content:
    """The post as readable text: paragraphs, "• " lists, quotes and ``[n]`` references
    (text.html_to_text made them at ingest); quotes, headings and references are styled."""
    body = clean_text(entry.content or entry.summary, single_line=False, max_len=CONTENT_MAX)
    if not body:
        return Content.styled(
            "(this post has no text in the feed; press o to open it)", ".cf--muted"
        )
    content = Content(body)
    spans: list[tuple[int, int, str]] = []
    for match in _QUOTE_LINE.finditer(body):
        spans.append((match.start(), match.end(), ".cf--quote"))
    for match in _HEADING_LINE.finditer(body):
        spans.append((match.start(), match.end(), "bold"))
    refs = _REF_LINE.search(body)
    if refs is not None:
        spans.append((refs.start(), len(body), ".cf--link"))
    for match in _REF_MARK.finditer(body, 0, refs.start() if refs else len(body)):
        spans.append((match.start(), match.end(), ".cf--muted"))
    for start, end, style in spans:
        content = content.stylize(style, start, end)
    return content


def post_comments(
    entry: Entry,
    *,
    shown: int = 0,
    new: int = 0,
    error: str | None = None,
    fetching: bool = False,
) -> Content:
    """The comments section's heading: the count, what is new, a failed fetch in one line,
    and the page where people comment. The comments themselves are the tree below it."""
    count = entry.comment_count
    if count is None and shown:
        count = shown
    elif count is not None:
        count = max(count, shown)
    heading = f"Comments ({count})" if count is not None else "Comments"
    parts: list[Content | str | tuple[str, str]] = [(heading, ".cf--heading")]
    if new:
        parts += ["  ", (f"{new} new", ".cf--unread")]
    lines: list[Content] = [Content.assemble(*parts)]
    if error:
        lines.append(Content.styled(clean(error, max_len=200), ".cf--error"))
    if fetching and not shown:
        lines.append(Content.styled("Fetching comments…", ".cf--muted"))
    elif shown:
        lines.append(
            Content.styled("c: to the comments · enter/space: fold a thread", ".cf--muted")
        )
    elif count == 0:
        lines.append(Content.styled("No comments yet.", ".cf--muted"))
    elif count and not entry.comments_feed and not error:
        lines.append(Content.styled("The feed does not publish these comments.", ".cf--muted"))
    page = safe_url(entry.comments_url) or safe_url(entry.link)
    if page:
        lines.append(
            Content.assemble(("Read or add comments at ", ".cf--muted"), (page, ".cf--link"))
        )
    return Content("\n").join(lines)


def comment_label(comment: Comment, now: datetime, *, new: bool = False) -> Text:
    """A comment's line in the tree: ``Author · 3h`` (a Rich ``Text``, never markup:
    Tree parses ``str`` labels, HOSTILE.md F5)."""
    label = Text(clean(comment.author, max_len=NAME_MAX) or "anonymous", style="bold")
    label.append(" · ")
    label.append(relative_date(comment.published, now), style="dim")
    if new:
        label.append("  new", style="bold")
    return label


def comment_lines(text: str, width: int) -> list[Text]:
    """A comment's text as tree leaves, wrapped to ``width`` cells (one leaf per line)."""
    body = clean_text(text, single_line=False, max_len=CONTENT_MAX)
    out: list[Text] = []
    for paragraph in body.split("\n"):
        if not paragraph.strip():
            out.append(Text(""))
            continue
        for row in textwrap.wrap(paragraph, max(20, width)) or [""]:
            out.append(Text(row))
    while out and not out[-1].plain:
        out.pop()
    return out or [Text("(no text)", style="dim")]


_FIRST_STEPS = {"import_bundled": "I", "import": "i", "add": "a", "help": "?"}


def empty_post(has_feeds: bool, keys: Callable[[str], str] | None = None) -> Content:
    """The post pane with nothing open; on an empty cache, the first steps with the keys
    in effect (``keys``: action name → what to press, from [reader.keys])."""
    if has_feeds:
        return Content.styled("No post selected.", ".cf--muted")

    def key(action: str) -> str:
        return (keys(action) if keys is not None else "") or _FIRST_STEPS[action]

    return Content.assemble(
        ("Welcome to carefeed.\n\n", ".cf--heading"),
        "You have no subscriptions yet.\n\n",
        (key("import_bundled"), ".cf--key"),
        "  import the bundled list of UK social care feeds and poll them\n",
        (key("import"), ".cf--key"),
        "  import an OPML file\n",
        (key("add"), ".cf--key"),
        "  add a feed by its address\n",
        (key("help"), ".cf--key"),
        "  every key",
    )


# --------------------------------------------------------------------------- sidebar, picker


def sidebar_item(
    label: str,
    unread: int | None,
    *,
    feed: Feed | None = None,
    indent: int = 0,
    broken: bool = False,
) -> Content:
    """A sidebar line: name and unread count; a failing feed (or a saved filter that
    cannot be read: ``broken``) carries ⚠ (✖ when gone)."""
    parts: list[Content | str | tuple[str, str]] = [" " * indent]
    if feed is not None and feed.gone:
        parts.append((GONE_GLYPH + " ", ".cf--error"))
    elif broken or (feed is not None and feed.error):
        parts.append((ERROR_GLYPH + " ", ".cf--error"))
    parts.append(clean(label, max_len=NAME_MAX) or "(untitled)")
    if unread:
        parts += ["  ", (f"{unread:,}", ".cf--count")]
    return Content.assemble(*parts)


def sidebar_heading(label: str) -> Content:
    return Content.styled(label, ".cf--muted")


def picker_item(item: LabelCount, kind: str, checked: bool, query: str = "") -> Content:
    """``☑ Dementia  (tag)  12 unread / 40``, with the typed query highlighted."""
    name = clean(item.name, max_len=NAME_MAX)
    name_c = Content(name)
    if query:
        at = name.lower().find(query.lower())
        if at >= 0:
            name_c = name_c.stylize(".cf--match", at, at + len(query))
    return Content.assemble(
        (CHECKED_GLYPH if checked else UNCHECKED_GLYPH) + " ",
        name_c,
        ("  " + kind, ".cf--muted"),
        (
            "  " + (f"{item.unread:,} unread / " if item.unread else "") + f"{item.total:,}",
            ".cf--count",
        ),
    )


def feed_error(feed: Feed, now: datetime) -> Content:
    """One feed's failure for the errors screen: name, address, message, when."""
    title = clean(feed.display_title, max_len=NAME_MAX)
    glyph = GONE_GLYPH if feed.gone else ERROR_GLYPH
    state = "gone (410): no longer polled" if feed.gone else "last poll failed"
    lines = [
        Content.assemble((f"{glyph} ", ".cf--error"), (title, "bold")),
        Content.assemble("  ", (clean(feed.url, max_len=300), ".cf--link")),
        Content.assemble("  ", (clean(feed.error or state, max_len=400), ".cf--error")),
        Content.styled(
            f"  {state}; tried {ago(feed.last_fetch, now)}"
            + (f", {feed.error_count} failures in a row" if feed.error_count > 1 else "")
            + (f"; last worked {ago(feed.last_ok, now)}" if feed.last_ok else "; never worked"),
            ".cf--muted",
        ),
    ]
    return Content("\n").join(lines)


# --------------------------------------------------------------------------- status line, help


def filter_words(
    *,
    feed_title: str | None,
    tags: Sequence[str],
    unread: bool,
    starred: bool,
    search: str,
    topics: Sequence[str] = (),
    saved: str | None = None,
) -> Content:
    """The active filter in words: ``Unread · tag Dementia + Carers · search “cuts”``."""
    parts: list[Content | str | tuple[str, str]] = []

    def sep() -> None:
        if parts:
            parts.append(" · ")

    if starred:
        parts.append(("Starred", "bold"))
    elif unread:
        parts.append(("Unread", "bold"))
    if saved is not None:
        sep()
        parts += ["filter ", (clean(saved, max_len=60), "bold")]
    if feed_title is not None:
        sep()
        parts += ["feed ", (clean(feed_title, max_len=60), "bold")]
    for label, names in (("topic", topics), ("tag", tags)):
        if names:  # "topic Dementia", "tags Carers + Dementia"
            sep()
            parts.append(f"{label} " if len(names) == 1 else f"{label}s ")
            for i, name in enumerate(names):
                if i:
                    parts.append(" + ")
                parts.append((clean(name, max_len=60), "bold"))
    if search:
        sep()
        parts += ["search “", (clean(search, max_len=60), "bold"), "”"]
    if not parts:
        parts.append(("All posts", "bold"))
    return Content.assemble(*parts)


def status_line(left: Content, right: str, width: int) -> Content:
    """The filter on the left, counts and poll state on the right, in ``width`` cells."""
    right_c = Content.styled(right, ".cf--muted")
    room = max(0, width - right_c.cell_length - 2)
    return Content.assemble(left.truncate(room, ellipsis=True, pad=True), "  ", right_c)


def key_table(rows: Iterable[tuple[str, str]]) -> Content:
    """The help screen: keys (ours, literal) and what they do."""
    lines = [
        Content.assemble((f"{keys:>14}", ".cf--key"), "  ", description)
        for keys, description in rows
    ]
    return Content("\n").join(lines)
