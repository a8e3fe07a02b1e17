"""The command line: human text by default, ``--json`` for scripts.

Every string that came from a feed is printed through ``clean_text`` again (the cache holds
cleaned text already; printing is the last door before the terminal), and JSON is written
with ``ensure_ascii=True`` so no raw C1 control can reach a terminal that cats it (F17).

Exit codes: 0 done (a poll with failing feeds is still done: the failures are reported);
1 an error the message explains; 2 bad usage; 75 a poll is already running; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from carefeed import __version__
from carefeed.api import Carefeed, summarise
from carefeed.comments import build_tree, flatten
from carefeed.digest import FORMATS, render
from carefeed.errors import CarefeedError, PollRunningError, QueryError, TopicError
from carefeed.files import write_atomic
from carefeed.model import (
    Comment,
    CommentEvent,
    Entry,
    EntryFilter,
    Feed,
    PollEvent,
    PollStatus,
    utc_now,
)
from carefeed.text import clean_text, strip_controls

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_POLL_RUNNING = 75
EXIT_INTERRUPTED = 130
PRUNE_DAYS = 90  # `carefeed prune` without --older-than or keep_read_days


# --------------------------------------------------------------------------- formatting


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, the one date format of --json."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    seconds = int(((now or utc_now()) - value).total_seconds())
    if seconds < 0:
        return "in " + ago(now or utc_now(), value)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def line(s: str | None, max_len: int = 500) -> str:
    return clean_text(s or "", max_len=max_len)


def chips(items: Sequence[str], max_len: int = 80) -> str:
    """``  [a, b]`` for a list of tags or categories; empty when there are none."""
    if not items:
        return ""
    return "  [" + line(", ".join(items), max_len) + "]"


def fit(text: str, out: TextIO) -> str:
    """On a terminal, one row per item: cut at the terminal's width instead of wrapping."""
    if not out.isatty():
        return text
    width = shutil.get_terminal_size().columns
    return text if len(text) <= width else text[: width - 1] + "…"


def feed_json(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "title": feed.title,
        "site_url": feed.site_url,
        "tags": list(feed.tags),
        "entries": feed.entry_count,
        "unread": feed.unread_count,
        "last_fetch": iso(feed.last_fetch),
        "last_ok": iso(feed.last_ok),
        "next_due": iso(feed.next_due),
        "error": feed.error,
        "warning": feed.warning,
        "gone": feed.gone,
    }


def entry_json(entry: Entry, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry.id,
        "feed_id": entry.feed_id,
        "feed": entry.feed_title,
        "guid": entry.guid,
        "title": entry.title,
        "link": entry.link,
        "author": entry.author,
        "published": iso(entry.published),
        "dated": entry.dated,
        "updated": iso(entry.updated),
        "categories": list(entry.categories),
        "topics": [{"name": t.name, "inferred": t.inferred} for t in entry.topics],
        "feeds": [entry.feed_title, *entry.also_in],
        "comment_count": entry.comment_count,
        "comments_cached": entry.comments_stored,
        "new_comments": entry.new_comments,
        "comments_url": entry.comments_url,
        "comments_feed": entry.comments_feed,
        "read": entry.read,
        "starred": entry.starred,
        "summary": entry.summary,
    }
    if full:
        data["content"] = entry.content
        data["first_seen"] = iso(entry.first_seen)
    return data


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "guid": comment.guid,
        "link": comment.link,
        "author": comment.author,
        "author_link": comment.author_link,
        "published": iso(comment.published),
        "text": comment.text,
        "parent": comment.parent,
    }


def comment_event_json(event: CommentEvent) -> dict[str, Any]:
    return {
        "entry_id": event.entry_id,
        "url": event.url,
        "status": event.status.value,
        "new": event.new,
        "total": event.total,
        "error": event.error,
    }


def event_json(event: PollEvent) -> dict[str, Any]:
    return {
        "feed_id": event.feed_id,
        "url": event.url,
        "title": event.title,
        "status": event.status.value,
        "new": event.new,
        "updated": event.updated,
        "error": event.error,
        "warnings": list(event.warnings),
        "moved_to": event.new_url,
        "new_comments": event.new_comments,
    }


def _inert(data: Any) -> Any:
    """Every string in ``data`` without escape sequences or control characters: text is
    cleaned at ingest, but a cache written by an older carefeed may hold it raw, and a
    script's ``jq -r`` would print it to a terminal (HOSTILE.md case 11, F17)."""
    if isinstance(data, str):
        return strip_controls(data)
    if isinstance(data, dict):
        return {k: _inert(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_inert(v) for v in data]
    return data


def dump_json(data: Any, out: TextIO) -> None:
    json.dump(_inert(data), out, ensure_ascii=True, indent=2)
    out.write("\n")


# --------------------------------------------------------------------------- commands


def cmd_import(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    report = app.import_opml(Path(args.file))
    if args.json:
        dump_json(
            {
                "added": [
                    {"url": s.url, "title": s.title, "tags": list(s.tags)} for s in report.added
                ],
                "existing": [s.url for s in report.existing],
                "refused": [{"outline": r.where, "reason": r.reason} for r in report.refused],
            },
            out,
        )
        return 0
    for sub in report.added:
        out.write(f"added     {line(sub.title or sub.url, 80)}{chips(sub.tags)}\n")
    for sub in report.existing:
        out.write(f"existing  {line(sub.title or sub.url, 80)}\n")
    for refusal in report.refused:
        out.write(f"refused   {line(refusal.where, 80)}: {line(refusal.reason)}\n")
    out.write(
        f"{len(report.added)} added, {len(report.existing)} already subscribed, "
        f"{len(report.refused)} refused\n"
    )
    return 0


def cmd_export(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    data = app.export_opml()
    if args.file and args.file != "-":
        Path(args.file).write_bytes(data)
        sys.stderr.write(f"wrote {len(app.feeds())} feeds to {args.file}\n")
    else:
        out.write(data.decode("utf-8"))
    return 0


def cmd_add(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    result = asyncio.run(app.add_feed(args.url, args.tag or ()))
    feed = result.feed
    if args.json:
        dump_json(
            {
                "feed": feed_json(feed),
                "created": result.created,
                "discovered_from": result.discovered_from,
                "poll": event_json(result.event) if result.event else None,
            },
            out,
        )
        return 0
    if result.discovered_from:
        out.write(f"found the feed {line(feed.url)} on {line(result.discovered_from)}\n")
    if not result.created:
        out.write(f"already subscribed: {line(feed.display_title)} ({line(feed.url)})\n")
        return 0
    out.write(f"subscribed to {line(feed.display_title)} ({line(feed.url)}), id {feed.id}\n")
    if result.event is not None:
        out.write(_event_line(result.event) + "\n")
    return 0


def cmd_remove(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    feed = app.remove_feed(args.feed)
    if args.json:
        dump_json({"removed": feed_json(feed)}, out)
    else:
        out.write(f"removed {line(feed.display_title)} ({line(feed.url)}) and its posts\n")
    return 0


def cmd_prune(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    """Old read posts out of the cache (what `keep_read_days` does after every poll)."""
    days = args.older_than
    if days is None:
        days = app.settings.keep_read_days or PRUNE_DAYS
    if days < 1:
        sys.stderr.write("carefeed: --older-than must be at least 1 (days)\n")
        return EXIT_USAGE
    removed = app.prune(days, dry_run=args.dry_run)
    if args.json:
        dump_json({"removed": removed, "older_than_days": days, "dry_run": args.dry_run}, out)
    else:
        verb = "would remove" if args.dry_run else "removed"
        out.write(
            f"{verb} {removed} read post{'s' if removed != 1 else ''} older than {days} days "
            "that their feeds no longer list (starred posts are kept)\n"
        )
    return 0


def _feed_state(feed: Feed) -> str:
    if feed.gone:
        return "gone: " + line(feed.error or "the site removed this feed", 120)
    if feed.error:
        return "error: " + line(feed.error, 120)
    if feed.last_ok is None:
        return "not polled yet"
    return f"ok {ago(feed.last_ok)}"


def cmd_feeds(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    feeds = app.feeds()
    if args.json:
        dump_json([feed_json(f) for f in feeds], out)
        return 0
    if not feeds:
        out.write("no subscriptions yet: try `carefeed import feeds.opml`\n")
        return 0
    for f in feeds:
        row = (
            f"{f.id:>4}  {line(f.display_title, 40):<40}  {f.unread_count:>4}/{f.entry_count:<5}"
            f"  {_feed_state(f)}{chips(f.tags)}"
        )
        out.write(fit(row, out) + "\n")
    return 0


def _event_line(event: PollEvent) -> str:
    title = line(event.title, 60)
    if event.status is PollStatus.UPDATED:
        text = f"ok        {title}: {event.new} new, {event.updated} updated"
        if event.new_comments:
            text += f", {event.new_comments} new comments under posts"
    elif event.status in (PollStatus.NOT_MODIFIED, PollStatus.UNCHANGED):
        text = f"unchanged {title}"
    elif event.status is PollStatus.GONE:
        text = f"gone      {title}: {line(event.error, 160)}"
    else:
        text = f"failed    {title}: {line(event.error, 160)}"
    if event.new_url:
        text += f" (moved to {line(event.new_url)})"
    return text


class Progress:
    """A one-line progress bar on a terminal; one line per feed elsewhere (logs, cron)."""

    def __init__(self, total: int, stream: TextIO, out: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.out = out
        self.tty = stream.isatty()

    def step(self, event: PollEvent) -> None:
        self.done += 1
        if not self.tty:
            self.out.write(_event_line(event) + "\n")
            self.out.flush()
            return
        width = 30
        filled = width * self.done // max(1, self.total)
        label = line(event.title, 40)
        self.stream.write(
            f"\r\x1b[2K[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {label}"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.done:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


async def _run_poll(
    app: Carefeed, args: argparse.Namespace, progress: Progress | None
) -> list[PollEvent]:
    events: list[PollEvent] = []
    async for event in app.poll(due_only=args.due, force=args.force):
        events.append(event)
        if progress is not None:
            progress.step(event)
    return events


async def _run_polls(
    app: Carefeed, args: argparse.Namespace, progress: Progress | None
) -> tuple[list[PollEvent], list[CommentEvent]]:
    """Feeds, then (with --comments) comment feeds, in one event loop: the parser pool's
    semaphore belongs to the loop that first waits on it."""
    events = await _run_poll(app, args, progress)
    comments = [e async for e in app.poll_comments()] if args.comments else []
    return events, comments


def cmd_poll(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    total = len(app.feeds_to_poll(due_only=args.due, force=args.force))
    deferred = app.count_deferred() if not args.force else 0
    progress = None if args.json else Progress(total, sys.stderr, out)
    try:
        events, comment_events = asyncio.run(_run_polls(app, args, progress))
    finally:
        if progress is not None:
            progress.finish()
    totals = summarise(events)
    if args.json:
        report: dict[str, Any] = {
            "feeds": [event_json(e) for e in events],
            "summary": totals,
            "deferred": deferred,
        }
        if args.comments:
            report["comments"] = [comment_event_json(e) for e in comment_events]
        dump_json(report, out)
        return 0
    failures = [e for e in events if e.status in (PollStatus.ERROR, PollStatus.GONE)]
    if progress is not None and progress.tty:
        for event in failures:
            out.write(_event_line(event) + "\n")
    out.write(
        f"{totals['feeds']} feeds: {totals['ok']} ok, {totals['not_modified']} not modified, "
        f"{totals['failed']} failed; {totals['new']} new posts, {totals['updated']} updated\n"
    )
    if deferred:
        out.write(f"{deferred} feeds deferred (gone or backing off); `--force` polls them too\n")
    if args.comments:
        fetched = sum(e.status is not PollStatus.ERROR for e in comment_events)
        failed = len(comment_events) - fetched
        new = sum(e.new for e in comment_events)
        out.write(f"comments: {fetched} posts refreshed, {failed} failed; {new} new comments\n")
    return 0


def _topic(app: Carefeed, name: str) -> str:
    """``--topic`` is a usage error when it names no topic, or several (exit code 2)."""
    try:
        return app.resolve_topic(name)
    except TopicError as exc:
        raise QueryError(f"--topic {name}: {exc}") from None


def _filter(app: Carefeed, args: argparse.Namespace) -> EntryFilter:
    flt = EntryFilter(
        feed=args.feed,
        tags=tuple(args.tag or ()),
        topics=tuple(_topic(app, t) for t in args.topic or ()),
        unread=args.unread,
        starred=args.starred,
        search=args.search,
    )
    saved = getattr(args, "filter", None)  # --filter NAME: a saved filter, ANDed
    if saved is not None:
        flt = app.filter_from_query(app.saved_filter(saved).query, flt)
    query = getattr(args, "query", None)  # --query: the filter language, ANDed
    return flt if query is None else app.filter_from_query(query, flt)


def _warn_mute(app: Carefeed) -> None:
    for problem in app.mute_errors():
        sys.stderr.write(f"carefeed: {line(problem, 400)}\n")


def cmd_filters(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    """Saved filters ([filters] in config.toml) with their post and unread counts."""
    _topics_current(app)
    _warn_mute(app)
    rows = []
    for view in app.saved_filters():
        total = unread = None
        if view.filter is not None:
            total = app.count_entries(view.filter)
            unread = app.count_entries(replace(view.filter, unread=True))
        rows.append((view, total, unread))
    if args.json:
        dump_json(
            [
                {"name": v.name, "query": v.query, "posts": t, "unread": u, "error": v.error}
                for v, t, u in rows
            ],
            out,
        )
        return 0
    if not rows:
        out.write(f"no saved filters; add a [filters] table to {app.paths.config_file}\n")
        return 0
    width = max(len(line(v.name, 40)) for v, _, _ in rows)
    for view, total, unread in rows:
        counts = f"{total:>6} posts {unread:>6} unread" if total is not None else "  (error)"
        text = f"{line(view.name, 40):<{width}}  {counts}  {line(view.query, 200)}"
        out.write(fit(text, out) + "\n")
        if view.error:
            out.write(f"  {line(view.error, 400)}\n")
    return 0


def query_error(exc: QueryError, query: str) -> str:
    """``carefeed: query: <why>`` and, when it says where, the query with a caret under
    the problem (control characters shown as spaces, so the caret lines up)."""
    text = f"carefeed: query: {line(str(exc), 400)}\n"
    if exc.position is not None and len(query) <= 400:
        shown = "".join(c if c.isprintable() else " " for c in query)
        text += f"  {shown}\n  {' ' * exc.position}^\n"
    return text


def _topics_current(app: Carefeed) -> None:
    """Re-tag the cache first if the taxonomy (topics.toml) changed since it was tagged."""
    if app.topics_current():
        return
    if sys.stderr.isatty():
        sys.stderr.write("carefeed: topics changed; re-tagging the cache…\n")
    app.ensure_topics()


def cmd_topics(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    _topics_current(app)
    counts = app.topic_counts()
    if args.json:
        dump_json([{"name": c.name, "posts": c.total, "unread": c.unread} for c in counts], out)
        return 0
    width = max((len(c.name) for c in counts), default=0)
    for c in counts:
        out.write(
            fit(f"{line(c.name, 60):<{width}}  {c.total:>7} posts  {c.unread:>7} unread", out)
        )
        out.write("\n")
    return 0


def cmd_entries(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    _topics_current(app)
    _warn_mute(app)
    entries = app.entries(_filter(app, args), limit=args.limit)
    if args.json:
        dump_json([entry_json(e) for e in entries], out)
        return 0
    for e in entries:
        mark = ("●" if not e.read else " ") + ("★" if e.starred else " ")
        count = max(e.comment_count or 0, e.comments_stored)
        comments = f"  {count} comments" if count else ""
        if e.new_comments:
            comments += f" ({e.new_comments} new)"
        row = (
            f"{e.id:>6} {mark} {e.published:%Y-%m-%d}  {line(e.feed_title, 24):<24}  "
            f"{line(e.title, 100)}{chips(e.categories)}{comments}"
        )
        out.write(fit(row, out) + "\n")
    if not entries:
        out.write("no posts match\n")
    return 0


def cmd_show(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    _topics_current(app)
    entry = app.entry(args.id)
    if args.json:
        data = entry_json(entry, full=True)
        data["comments"] = [comment_json(c) for c in app.comments(entry.id)]
        data["comments_error"] = app.comment_error(entry.id)
        dump_json(data, out)
        return 0
    body = entry.content or entry.summary
    rows = [
        line(entry.title),
        f"{line(entry.feed_title)} · {entry.published:%Y-%m-%d %H:%M} UTC"
        + (f" · {line(entry.author)}" if entry.author else ""),
    ]
    if entry.link:
        rows.append(f"link: {line(entry.link, 2048)}")
    if entry.also_in:
        rows.append("also in: " + ", ".join(line(f, 200) for f in entry.also_in))
    if entry.categories:
        rows.append("categories: " + ", ".join(line(c, 200) for c in entry.categories))
    if entry.topics:
        rows.append(
            "topics: "
            + ", ".join(f"{t.name} (inferred)" if t.inferred else t.name for t in entry.topics)
        )
    if entry.comment_count is not None or entry.comments_feed:
        count = entry.comment_count if entry.comment_count is not None else "?"
        where = entry.comments_url or entry.comments_feed or ""
        rows.append(f"comments: {count}" + (f" ({line(where, 2048)})" if where else ""))
        comment_error = app.comment_error(entry.id)
        if comment_error:
            rows.append(line(comment_error, 200))
    out.write("\n".join(rows) + "\n\n" + clean_text(body, single_line=False, max_len=10**7) + "\n")
    if args.mark_read:
        app.set_read([entry.id])
    return 0


def cmd_comments(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    entry = app.entry(args.id)
    error: str | None = None
    if not args.cached:
        event = asyncio.run(app.refresh_comments(entry.id))
        error = event.error
    else:
        error = app.comment_error(entry.id)
    comments = app.comments(entry.id)
    if args.json:
        dump_json(
            {
                "entry_id": entry.id,
                "title": entry.title,
                "error": error,
                "comments": [comment_json(c) for c in comments],
            },
            out,
        )
        return 0
    if error:
        sys.stderr.write(f"carefeed: comments of post {entry.id}: {line(error, 200)}\n")
    out.write(f"Comments on: {line(entry.title)} ({len(comments)})\n")
    if not comments:
        out.write("no comments\n" if error is None else "no comments in the cache\n")
    for depth, comment in flatten(build_tree(comments)):
        pad = "    " * depth
        marker = "↳ " if depth else ""
        who = line(comment.author, 200) or "anonymous"
        out.write(f"\n{pad}{marker}{who} · {comment.published:%Y-%m-%d %H:%M} UTC\n")
        text = clean_text(comment.text, single_line=False, max_len=10**6)
        for text_line in text.split("\n"):
            out.write(f"{pad}  {text_line}".rstrip() + "\n")
    app.mark_comments_seen(entry.id)
    return 0


def cmd_digest(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    """A reading list for a team briefing: the matching posts grouped by topic."""
    if args.json and args.format not in (None, "json"):
        sys.stderr.write(f"carefeed: --json and --format {args.format} disagree; pick one\n")
        return EXIT_USAGE
    if args.limit < 1:
        sys.stderr.write("carefeed: --limit must be at least 1\n")
        return EXIT_USAGE
    fmt = "json" if args.json else args.format or "md"
    _topics_current(app)
    flt = _filter(app, args)
    title = args.title or ("Reading list: " + args.query if args.query else "Reading list")
    digest = app.digest(flt, title=title, limit=args.limit)
    text = render(digest, fmt)
    if not args.out or args.out == "-":
        out.write(text)
        return 0
    write_atomic(Path(args.out), text)
    sys.stderr.write(
        f"wrote {digest.posts} post{'s' if digest.posts != 1 else ''} in {digest.topics} "
        f"topic{'s' if digest.topics != 1 else ''} to {line(args.out, 400)}\n"
    )
    return 0


def cmd_doctor(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    """Check the cache and the feeds, and say what to do about each problem."""
    store = app.store
    integrity = store.integrity_check()
    if args.rebuild_search and integrity == "ok":
        store.rebuild_search_index()
    search_index = store.search_index_check() if integrity == "ok" else "not checked"
    feeds = app.feeds()
    failing = [f for f in feeds if f.error and not f.gone]
    gone = [f for f in feeds if f.gone]
    advice: list[str] = []
    if integrity != "ok":
        advice.append(
            f"the cache is damaged: copy {store.path} somewhere safe, move it away, then "
            "`carefeed import` your OPML export to start a new cache"
        )
    elif search_index != "ok":
        advice.append(
            "search results may be missing or wrong: `carefeed doctor --rebuild-search` "
            "indexes every cached post again (nothing else changes)"
        )
    if failing:
        advice.append(
            "feeds in error are retried with back-off; `carefeed poll --force` retries now, "
            "`carefeed remove URL` drops a feed that has moved for good"
        )
    if gone:
        advice.append("gone feeds (HTTP 410) are no longer polled: remove them")
    size = store.size_bytes()
    report = {
        "cache": str(store.path),
        "integrity": integrity,
        "search_index": search_index,
        "schema": store.schema_version(),
        "size_bytes": size,
        "feeds": len(feeds),
        "posts": sum(f.entry_count for f in feeds),
        "failing": [
            {
                "id": f.id,
                "title": f.title,
                "url": f.url,
                "error": f.error,
                "last_ok": iso(f.last_ok),
            }
            for f in failing
        ],
        "gone": [{"id": f.id, "title": f.title, "url": f.url} for f in gone],
        "last_ok": {str(f.id): iso(f.last_ok) for f in feeds},
        "advice": advice,
    }
    if args.json:
        dump_json(report, out)
    else:
        out.write(
            f"cache      {line(str(store.path), 400)}\n"
            f"integrity  {line(integrity)}\n"
            f"search     {line(search_index)}\n"
            f"schema     {report['schema']}\n"
            f"size       {size / 1048576:.1f} MiB\n"
            f"feeds      {len(feeds)} ({len(failing)} failing, {len(gone)} gone), "
            f"{report['posts']} posts\n"
        )
        for f in failing:
            out.write(
                f"failing    {line(f.display_title, 60)}: {line(f.error, 160)} "
                f"(last ok {ago(f.last_ok)})\n"
            )
        for f in gone:
            out.write(f"gone       {line(f.display_title, 60)}\n")
        for piece in advice:
            out.write(f"advice     {piece}\n")
        if not advice:
            out.write("all good\n")
    return 0 if integrity == search_index == "ok" else EXIT_ERROR


def cmd_mark(app: Carefeed, args: argparse.Namespace, out: TextIO) -> int:
    ids = args.ids
    for entry_id in ids:
        app.entry(entry_id)  # a clear error for an unknown id
    if args.read or args.unread:
        app.set_read(ids, read=bool(args.read))
    if args.star or args.unstar:
        app.set_starred(ids, starred=bool(args.star))
    if not args.json:
        out.write(f"marked {len(ids)} post{'s' if len(ids) != 1 else ''}\n")
    else:
        dump_json([entry_json(app.entry(i)) for i in ids], out)
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carefeed",
        description="A terminal reader for social care news. Without a command, opens the reader.",
    )
    parser.add_argument("--version", action="version", version=f"carefeed {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's --home must not reset the one given before the subcommand
    common.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="keep all data and config in DIR (or set CAREFEED_HOME)",
    )
    parser.add_argument("--home", metavar="DIR", help="keep all data and config in DIR")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the reader on bundled sample feeds in a throwaway home (no internet needed)",
    )
    jsonflag = argparse.ArgumentParser(add_help=False)
    jsonflag.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "import", parents=[common, jsonflag], help="subscribe to the feeds of an OPML file"
    )
    p.add_argument("file", help="an OPML file, e.g. feeds.opml")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="write your subscriptions as OPML 2.0")
    p.add_argument("file", nargs="?", help="output file (default: standard output)")
    p.set_defaults(func=cmd_export, json=False)

    p = sub.add_parser(
        "add", parents=[common, jsonflag], help="subscribe to a feed or a blog's page"
    )
    p.add_argument("url", help="a feed address, or a web page that links to its feed")
    p.add_argument("--tag", action="append", help="file the feed under TAG (repeatable)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "prune",
        parents=[common, jsonflag],
        help="delete old read posts that their feeds no longer list",
    )
    p.add_argument(
        "--older-than",
        type=int,
        metavar="DAYS",
        help=f"age in days (default: keep_read_days if set, else {PRUNE_DAYS})",
    )
    p.add_argument("--dry-run", action="store_true", help="count them, delete nothing")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("remove", parents=[common, jsonflag], help="unsubscribe (posts are deleted)")
    p.add_argument("feed", metavar="URL", help="the feed's URL (or id, or part of its title)")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "feeds", parents=[common, jsonflag], help="list subscriptions and their state"
    )
    p.set_defaults(func=cmd_feeds)

    p = sub.add_parser("poll", parents=[common, jsonflag], help="fetch new posts")
    p.add_argument("--due", action="store_true", help="only feeds whose interval has passed")
    p.add_argument("--force", action="store_true", help="also feeds that are backing off")
    p.add_argument(
        "--comments",
        action="store_true",
        help="also refresh comment feeds (recent posts, or whose comment count changed)",
    )
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("entries", parents=[common, jsonflag], help="list posts, newest first")
    p.add_argument(
        "--tag",
        action="append",
        help="a blog category or a feed tag, case-insensitive (repeat: posts with all of them)",
    )
    p.add_argument(
        "--topic",
        action="append",
        metavar="NAME",
        help="a social care topic, any unambiguous prefix (repeat: posts with all of them)",
    )
    p.add_argument("--feed", help="a feed id, URL or part of its title")
    p.add_argument("--unread", action="store_true", help="only unread posts")
    p.add_argument("--starred", action="store_true", help="only starred posts")
    p.add_argument("--search", metavar="Q", help='full-text search (words, "phrases")')
    p.add_argument(
        "--query",
        metavar="Q",
        help="a filter query, e.g. 'topic:funding since:7d -tag:news (budget or \"care act\")'"
        "; fields: topic: tag: feed: author: has:comments since: before: unread starred",
    )
    p.add_argument(
        "--filter", metavar="NAME", help="a saved filter ([filters] in config.toml), by name"
    )
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N posts (50)")
    p.set_defaults(func=cmd_entries)

    p = sub.add_parser(
        "topics", parents=[common, jsonflag], help="social care topics with post and unread counts"
    )
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser(
        "filters", parents=[common, jsonflag], help="saved filters (config.toml) and their counts"
    )
    p.set_defaults(func=cmd_filters)

    p = sub.add_parser(
        "digest",
        parents=[common, jsonflag],
        help="a reading list for a briefing: matching posts grouped by topic",
        description="Write the matching posts, grouped by topic in taxonomy order and newest "
        "first, with source, date, link, a two-line summary and comment count. Each post is "
        "listed once, under the topic the briefing asks for (--topic, topic: in --query), "
        'else its first topic; posts without topics come last under "Other".',
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="md (default), html (a standalone page), csv (a row per post) or json",
    )
    p.add_argument(
        "--query",
        metavar="Q",
        help="a filter query, e.g. 'topic:funding since:7d' (the language of `entries --query`)",
    )
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    p.add_argument("--title", help='the heading (default "Reading list: QUERY")')
    p.add_argument(
        "--topic",
        action="append",
        metavar="NAME",
        help="a social care topic, any unambiguous prefix (repeat: posts with all of them)",
    )
    p.add_argument("--tag", action="append", help="a blog category or a feed tag (repeatable)")
    p.add_argument("--feed", help="a feed id, URL or part of its title")
    p.add_argument("--unread", action="store_true", help="only unread posts")
    p.add_argument("--starred", action="store_true", help="only starred posts")
    p.add_argument("--search", metavar="Q", help='full-text search (words, "phrases")')
    p.add_argument("--limit", type=int, default=200, metavar="N", help="at most N posts (200)")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("show", parents=[common, jsonflag], help="print one post in full")
    p.add_argument("id", type=int)
    p.add_argument("--mark-read", action="store_true", help="mark the post read")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "comments", parents=[common, jsonflag], help="print a post's comments as a thread"
    )
    p.add_argument("id", type=int)
    p.add_argument("--cached", action="store_true", help="do not fetch; show what the cache has")
    p.set_defaults(func=cmd_comments)

    p = sub.add_parser("doctor", parents=[common, jsonflag], help="check the cache and the feeds")
    p.add_argument(
        "--rebuild-search",
        action="store_true",
        help="index every cached post again first (when doctor says the search index is off)",
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("mark", parents=[common, jsonflag], help="mark posts read/unread/starred")
    p.add_argument("ids", type=int, nargs="+", metavar="ID")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--read", action="store_true")
    group.add_argument("--unread", action="store_true")
    group2 = p.add_mutually_exclusive_group()
    group2.add_argument("--star", action="store_true")
    group2.add_argument("--unstar", action="store_true")
    p.set_defaults(func=cmd_mark)
    return parser


def _open_reader(home: str | None, demo: bool) -> int:
    try:
        from carefeed.tui.app import run_reader  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        sys.stderr.write(
            "the reader is not part of this build yet; see `carefeed --help` for the commands\n"
        )
        return EXIT_ERROR
    try:
        return int(run_reader(home, demo=demo))
    except CarefeedError as exc:
        sys.stderr.write(f"carefeed: {line(str(exc), 400)}\n")
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _open_reader(args.home, args.demo)
    out = sys.stdout
    try:
        with Carefeed.open(args.home) as app:
            return int(args.func(app, args, out))
    except PollRunningError as exc:
        sys.stderr.write(f"carefeed: {line(str(exc))}\n")
        return EXIT_POLL_RUNNING
    except QueryError as exc:
        sys.stderr.write(query_error(exc, getattr(args, "query", None) or ""))
        return EXIT_USAGE
    except CarefeedError as exc:
        sys.stderr.write(f"carefeed: {line(str(exc), 400)}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("carefeed: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `carefeed entries | head`
        return 0
