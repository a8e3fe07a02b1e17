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
* :func:`looks_like_comments_feed` / :func:`attach_site_comments` — a subscribed
  site-wide comments feed ("Comments for <blog>", WordPress ``/comments/feed/``) is
  recognised, and each of its comments is given to the post it was written under.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

from carefeed.model import Comment, CommentData
from carefeed.text import safe_url

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


def refused_scheme(url: str) -> str:
    """One line: why a comment feed that is not http(s) is not fetched, naming its scheme
    (``file:``, ``javascript:``…) when it has a plain one."""
    scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
    if re.fullmatch(r"[a-z][a-z0-9+.-]{0,19}", scheme) and scheme not in ("http", "https"):
        return f"{REFUSED_SCHEME} ({scheme}: URL)"
    return REFUSED_SCHEME


def comment_feed_url(
    named: str | None, link: str | None, generator: str | None, feed_url: str
) -> tuple[str | None, str | None]:
    """(the comment feed to fetch, or None; why it is refused, or None)."""
    url = named or (guess_wordpress_feed(link) if is_wordpress(generator) else None)
    if url is None:
        return None, None
    if _origin(url) is None:
        return url, refused_scheme(url)
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


def parent_refs(comments: Sequence[CommentData]) -> dict[str, str | None]:
    """:func:`resolve_parents`, but a reply whose parent is not among ``comments`` keeps
    its ``#comment-N`` reference, so the cache can find that parent among the comments it
    already holds for the post (a feed that shows only the newest ten, a site-wide feed)."""
    parents = resolve_parents(comments)
    for c in comments:
        if parents[c.guid] is not None:
            continue
        for ref in (c.in_reply_to, c.in_reply_to_link):
            if ref and comment_key(ref) is not None and comment_key(ref) != _own_key(c):
                parents[c.guid] = ref
                break
    return parents


def _own_key(c: CommentData) -> str | None:
    return comment_key(c.guid) or comment_key(c.link)


# --------------------------------------------------------------------------- site-wide feeds

# How a subscribed feed is recognised as a comments feed rather than a feed of posts:
#
# 1. at least half of its items (and at least one) are comments: their link or guid ends
#    ``#comment-N`` (WordPress) or carries ``showComment=N`` (Blogger); or
# 2. it names itself one — the title starts "Comments for"/"Comments on" (WordPress's
#    site-wide and per-post comment feeds), or the address is WordPress's
#    ``/comments/feed/`` (``…/atom/``, ``?feed=comments-rss2``) or Blogger's
#    ``/feeds/[POST/]comments/default`` — and no item contradicts it: it is empty, or at
#    least one item is a comment (Blogger's comment links carry no mark: its address
#    alone decides).
#
# A blog merely *called* "Comments on Care" with ordinary posts is therefore still a blog.
_COMMENTS_TITLE = re.compile(r"\A\s*comments\s+(?:for|on)\b", re.IGNORECASE)
_COMMENTS_PATH = re.compile(
    r"(?:/comments/feed(?:/(?:atom|rss2?|rdf))?|/feeds/(?:[^/]+/)?comments/(?:default|full|summary))"
    r"/?\Z",
    re.IGNORECASE,
)
_COMMENTS_QUERY = re.compile(r"(?:\A|&)feed=comments-(?:rss2?|atom|rdf)(?:&|\Z)", re.IGNORECASE)
_BLOGGER_COMMENT = re.compile(r"[?&]showComment=[0-9]+", re.IGNORECASE)
_COMMENT_PAGE = re.compile(r"/comment-page-[0-9]+/?\Z", re.IGNORECASE)
# WordPress's site-wide item title: "Comment on <post title> by <author>"
_COMMENT_ON = re.compile(r"\A\s*Comment\s+on\s+(.+)\s*\Z", re.IGNORECASE | re.DOTALL)


def _is_comment_ref(value: str | None) -> bool:
    return bool(value) and (
        comment_key(value) is not None or _BLOGGER_COMMENT.search(value or "") is not None
    )


def looks_like_comments_feed(
    url: str, title: str | None, items: Sequence[tuple[str | None, str | None]]
) -> bool:
    """Is the feed at ``url`` (titled ``title``, items given as (link, guid)) a feed of
    comments? The rule is the comment block above."""
    comments = sum(_is_comment_ref(link) or _is_comment_ref(guid) for link, guid in items)
    if items and comments * 2 >= len(items) and comments:
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    named = (
        bool(_COMMENTS_TITLE.match(title or ""))
        or bool(_COMMENTS_PATH.search(parts.path))
        or bool(_COMMENTS_QUERY.search(parts.query))
    )
    blogger = "/feeds/" in parts.path and bool(_COMMENTS_PATH.search(parts.path))
    return named and (not items or comments > 0 or blogger)


def site_of(url: str | None) -> tuple[str, int | None] | None:
    """(host without ``www.``, port unless the scheme's default): the "same site" of a
    site-wide comments feed and the posts it may attach comments to. http and https of
    one host are one site (blogs move between them; their feeds keep old links)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
        scheme = parts.scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    if port == {"http": 80, "https": 443}[scheme]:
        port = None
    return host.removeprefix("www."), port


@dataclass(frozen=True)
class PostRef:
    """What a site-wide comment is matched against: a cached post and its feed's URL."""

    entry_id: int
    guid: str
    link: str | None
    title: str
    feed_url: str


def _page_key(url: str | None, base: str) -> tuple[str, int | None, str, str] | None:
    """The page a URL names, for matching a comment to its post: site, path without its
    ``comment-page-N/`` and trailing slash, and WordPress's ``p``/``page_id`` (the shape
    of its guids, ``/?p=882``); scheme, other query and fragment are ignored."""
    resolved = safe_url(url, base) if url else None
    site = site_of(resolved)
    if resolved is None or site is None:
        return None
    parts = urlsplit(resolved)
    path = _COMMENT_PAGE.sub("/", parts.path).rstrip("/")
    query = parse_qs(parts.query)
    page = (query.get("p") or query.get("page_id") or [""])[0]
    if not path and not page:
        return None  # the site's home page is no post
    return site[0], site[1], path, page


def _norm_title(title: str) -> str:
    return " ".join(title.split()).casefold()


def attach_site_comments(
    comments: Sequence[CommentData],
    titles: Mapping[str, str],
    posts: Sequence[PostRef],
    feed_url: str,
) -> tuple[dict[int, list[CommentData]], list[CommentData]]:
    """Give each comment of a site-wide comments feed at ``feed_url`` to its post.

    ``posts`` are the candidates (the store's posts near that site); only those whose
    feed or link is on the same site as ``feed_url`` are used, so a comments feed on one
    site can never put comments under another site's posts. A comment is matched, first
    match wins, by: its link (``<post link>[comment-page-N/]#comment-N``), its guid
    (WordPress's ``/?p=882#comment-N`` against the post's ``?p=882`` guid), its Atom
    ``thr:in-reply-to`` (a ref naming the post's guid, or an href naming its page — after
    the link and guid, because old WordPress pointed every in-reply-to at the newest
    post), and last its item title "Comment on <post title> by <author>" when exactly one
    post has that title. Returns (entry id → its comments in feed order, the comments
    whose post is not in the cache).
    """
    home = site_of(feed_url)
    scoped = [
        p for p in posts if home is not None and home in (site_of(p.feed_url), site_of(p.link))
    ]
    by_page: dict[tuple[str, int | None, str, str], set[int]] = {}
    by_guid: dict[str, set[int]] = {}
    by_title: dict[str, set[int]] = {}
    for post in scoped:
        for value in (post.link, post.guid):
            key = _page_key(value, post.feed_url)
            if key is not None:
                by_page.setdefault(key, set()).add(post.entry_id)
        by_guid.setdefault(post.guid, set()).add(post.entry_id)
        by_title.setdefault(_norm_title(post.title), set()).add(post.entry_id)

    def one(found: set[int] | None) -> int | None:
        return next(iter(found)) if found and len(found) == 1 else None

    def by_url(value: str | None) -> int | None:
        key = _page_key(value, feed_url)
        return one(by_page.get(key)) if key is not None else None

    def by_item_title(guid: str) -> int | None:
        match = _COMMENT_ON.match(titles.get(guid, ""))
        if match is None:
            return None
        rest = match.group(1)
        # "<title> by <author>": either may contain " by "; the one split that names a
        # single cached post wins
        found: set[int] = set()
        for split in re.finditer(r"\s+by\s+", rest, re.IGNORECASE):
            found |= by_title.get(_norm_title(rest[: split.start()]), set())
        return one(found)

    def by_in_reply_to(c: CommentData) -> int | None:
        # Trusted only when the comment's own link and guid name no page: old WordPress
        # pointed every comment's in-reply-to at its newest post (SOURCES.md, girtby).
        if _page_key(c.link, feed_url) is not None or _page_key(c.guid, feed_url) is not None:
            return None
        found = one(by_guid.get(c.in_reply_to or ""))
        for ref in (c.in_reply_to, c.in_reply_to_link):
            if found is None and comment_key(ref) is None:
                found = by_url(ref)
        return found

    def find(c: CommentData) -> int | None:
        for found in (by_url(c.link), by_url(c.guid), by_in_reply_to(c)):
            if found is not None:
                return found
        return by_item_title(c.guid)

    groups: dict[int, list[CommentData]] = {}
    orphans: list[CommentData] = []
    for c in comments:
        entry_id = find(c)
        if entry_id is None:
            orphans.append(c)
        else:
            groups.setdefault(entry_id, []).append(c)
    return groups, orphans
