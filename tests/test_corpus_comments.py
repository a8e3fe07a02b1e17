"""parse_comments + threading against the real comment feeds in ../shared/corpus/comments.

Each expectation restates SOURCES.md (counts, authors, who replies to whom); without the
corpus these tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carefeed.comments import comment_key, resolve_parents
from carefeed.model import ParsedComments
from carefeed.parse import parse_comments

COMMENTS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "comments"
WHIZZY = "https://whizzy.org"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not COMMENTS.is_dir(),
        reason="../shared/corpus not found: corpus tests need the shared folder beside it",
    ),
]


def load(name: str, url: str | None = None) -> ParsedComments:
    if url is None:
        url = f"{WHIZZY}/feed/" if "whizzy" in name else "http://girtby.net/feed/"
    return parse_comments((COMMENTS / name).read_bytes(), url)


def replies(parsed: ParsedComments) -> dict[str, str]:
    """comment-N → comment-M for every comment that answers another."""
    by_guid = {c.guid: c for c in parsed.comments}
    out = {}
    for guid, parent in resolve_parents(parsed.comments).items():
        if parent is not None:
            child = comment_key(by_guid[guid].link) or guid
            out[child] = comment_key(by_guid[parent].link) or parent
    return out


@pytest.mark.parametrize(
    ("name", "count", "first", "last", "n_replies"),
    [
        ("wp-whizzy-comments-cisco-7941.xml", 38, "Ricardo", "Adan", 10),
        ("wp-whizzy-comments-gmaps-beginners.xml", 13, None, None, 2),
        ("wp-whizzy-comments-alexa-oauth.xml", 13, None, None, 6),
        ("wp-whizzy-comments-dash-searches.xml", 33, None, None, 0),
        ("wp-whizzy-comments-empty-ginger-beer.xml", 0, None, None, 0),
        ("wp-girtby-comments-last-post.xml", 2, "Arash Partow", "Sunny Kalsi", 0),
        ("wp-girtby-comments-archiving-tweets.xml", 3, "Aristotle Pagaltzis", None, 0),
        ("wp-girtby-comments-easiest-100.xml", 4, "Chris", "Alan Green", 0),
        ("wp-girtby-comments-blog-export-format.xml", 9, "Aristotle Pagaltzis", "Alastair", 0),
        ("wp-girtby-sitewide-comments-atom-thr.xml", 10, "Jonno", None, 0),
        ("blogger-comments-gdata-sample-atom-thr.xml", 1, "Blog Author name", None, 0),
    ],
)
def test_counts_authors_and_replies(
    name: str, count: int, first: str | None, last: str | None, n_replies: int
) -> None:
    parsed = load(name)
    assert len(parsed.comments) == count
    assert parsed.warnings == ()
    if first is not None:
        assert parsed.comments[0].author == first
    if last is not None:
        assert parsed.comments[-1].author == last
    assert len(replies(parsed)) == n_replies
    for comment in parsed.comments:
        assert not comment.text.lstrip().startswith("In reply to")


def test_cisco_reply_structure_and_relative_links() -> None:
    parsed = load(
        "wp-whizzy-comments-cisco-7941.xml",
        f"{WHIZZY}/2017/02/23/cisco-7941-asterisk-and-sip/feed/",
    )
    assert replies(parsed)["comment-171"] == "comment-170"
    first = parsed.comments[0]
    assert first.link == f"{WHIZZY}/2017/02/23/cisco-7941-asterisk-and-sip/#comment-7480"
    assert first.published is not None and first.published.isoformat() == (
        "2021-05-19T18:49:15+00:00"
    )


def test_gmaps_and_alexa_replies() -> None:
    assert replies(load("wp-whizzy-comments-gmaps-beginners.xml"))["comment-13"] == "comment-12"
    alexa = load("wp-whizzy-comments-alexa-oauth.xml")
    assert replies(alexa)["comment-134"] == "comment-131"
    assert alexa.comments[0].author == (
        "Smart Home Skill entwicklen | Authentifizierung und Device Discovery | "
        "Smart Home Sri Lanka"
    )


def test_old_wordpress_atom_in_reply_to_the_newest_post_is_top_level() -> None:
    """WordPress 2.9 pointed every comment's thr:in-reply-to at post ?p=3909: that names
    no comment, so nothing is threaded under anything."""
    parsed = load("wp-girtby-sitewide-comments-atom-thr.xml")
    assert all(c.in_reply_to == "http://girtby.net/?p=3909" for c in parsed.comments)
    assert set(resolve_parents(parsed.comments).values()) == {None}
