"""Comments without I/O: where a post's comment feed is, who answers whom, what is new.

* :func:`comment_feed_url` — the feed a post names (``wfw:commentRss``, Atom replies link),
  or, for a WordPress site that names none, the post's link + ``feed/``; and the refusal of
  one on another site (scheme, host and port must be the post's feed's: a feed must not
  make carefeed fetch from somewhere else, HOSTILE.md case 15).
* :func:`resolve_parents` — threading: Atom ``thr:in-reply-to`` (RFC 4685) or the
  ``#comment-N`` link of WordPress's "In reply to" marker, matched against the other
  comments of the same post; anything that names no comment of the post (the post itself,
  or old WordPress's every-comment-points-at-the-newest-post bug) is top level.
* :func:`build_tree` / :func:`flatten` — flat comments → replies under their parents,
  oldest first at each level; a loop in the data cannot hang or lose a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from carefeed.model import Comment, CommentData

REFUSED_SITE = "comment feed refused: different site"
REFUSED_SCHEME = "comment feed refused: not http(s)"

_COMMENT_FRAGMENT = re.compile(r"#comment-([0-9]{1,12})\s*\Z")


# --------------------------------------------------------------------------- where


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def same_site(url: str, feed_url: str) -> bool:
    """Do both URLs have the same scheme, host and port (and is ``url`` http(s))?"""
    mine = _origin(url)
    return mine is not None and mine == _origin(feed_url)


def is_wordpress(generator: str | None) -> bool:
    return bool(generator) and "wordpress" in (generator or "").lower()


def guess_wordpress_feed(link: str | None) -> str | None:
    """WordPress serves every post's comments at the post's address + ``feed/``
    (``?p=123`` permalinks: ``?p=123&feed=rss2``)."""
    if not link:
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if parts.query:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query + "&feed=rss2", ""))
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path + "feed/", "", ""))


def comment_feed_url(
    named: str | None, link: str | None, generator: str | None, feed_url: str
) -> tuple[str | None, str | None]:
    """(the comment feed to fetch, or None; why it is refused, or None)."""
    url = named or (guess_wordpress_feed(link) if is_wordpress(generator) else None)
    if url is None:
        return None, None
    if _origin(url) is None:
        return url, REFUSED_SCHEME
    if not same_site(url, feed_url):
        return url, REFUSED_SITE
    return url, None


# --------------------------------------------------------------------------- threading


def comment_key(value: str | None) -> str | None:
    """``comment-123`` from a link or guid ending ``#comment-123``: WordPress's one stable
    name for a comment (guids and links may use different permalinks for the same one)."""
    if not value:
        return None
    match = _COMMENT_FRAGMENT.search(value)
    return f"comment-{match.group(1)}" if match else None


def resolve_parents(comments: Sequence[CommentData]) -> dict[str, str | None]:
    """Each comment's guid → the guid of the comment it answers within ``comments``, or None.

    ``in_reply_to`` is matched against the other comments' guids, then links, then their
    ``#comment-N`` keys; ``in_reply_to_link`` (the Atom href) against links and keys. A
    reference that names no comment here is top level, never an error.
    """
    by_guid = {c.guid: c.guid for c in comments}
    by_link: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for c in comments:
        if c.link:
            by_link.setdefault(c.link, c.guid)
        for value in (c.guid, c.link):
            key = comment_key(value)
            if key:
                by_key.setdefault(key, c.guid)
    parents: dict[str, str | None] = {}
    for c in comments:
        parent: str | None = None
        for ref in (c.in_reply_to, c.in_reply_to_link):
            if not ref:
                continue
            parent = by_guid.get(ref) or by_link.get(ref)
            if parent is None:
                key = comment_key(ref)
                parent = by_key.get(key) if key else None
            if parent is not None:
                break
        parents[c.guid] = parent if parent != c.guid else None
    return parents


@dataclass(frozen=True)
class CommentNode:
    comment: Comment
    replies: tuple[CommentNode, ...] = ()


def _order(c: Comment) -> tuple[float, int]:
    return (c.published.timestamp(), c.id)


def build_tree(comments: Iterable[Comment]) -> list[CommentNode]:
    """Replies under the comment they answer, oldest first at every level.

    A comment whose parent is missing is top level; a loop of replies (a → b → a, only in
    hostile or broken data) is cut where it is found. Every comment appears exactly once,
    and nothing recurses, so a 10,000-deep chain is fine.
    """
    items = sorted(comments, key=_order)
    by_id = {c.id: c for c in items}
    parent_of: dict[int, int | None] = {}
    for c in items:
        p = c.parent
        parent_of[c.id] = p if p is not None and p in by_id and p != c.id else None
    rooted: set[int] = set()
    for c in items:
        path: list[int] = []
        on_path: set[int] = set()
        current: int | None = c.id
        while current is not None and current not in rooted:
            if current in on_path:
                parent_of[current] = None  # cut the loop here
                break
            path.append(current)
            on_path.add(current)
            current = parent_of[current]
        rooted.update(path)
    children: dict[int | None, list[int]] = {}
    for c in items:
        children.setdefault(parent_of[c.id], []).append(c.id)
    nodes: dict[int, CommentNode] = {}
    stack: list[tuple[int, bool]] = [(i, False) for i in reversed(children.get(None, []))]
    while stack:
        cid, ready = stack.pop()
        kids = children.get(cid, [])
        if ready:
            nodes[cid] = CommentNode(by_id[cid], tuple(nodes[k] for k in kids))
        else:
            stack.append((cid, True))
            stack.extend((k, False) for k in kids)
    return [nodes[i] for i in children.get(None, [])]


def flatten(tree: Sequence[CommentNode], depth: int = 0) -> list[tuple[int, Comment]]:
    """(depth, comment) in reading order: each comment followed by its replies."""
    out: list[tuple[int, Comment]] = []
    stack: list[tuple[int, CommentNode]] = [(depth, node) for node in reversed(tree)]
    while stack:
        level, node = stack.pop()
        out.append((level, node.comment))
        stack.extend((level + 1, child) for child in reversed(node.replies))
    return out
