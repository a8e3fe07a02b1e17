"""Which addresses can be subscribed to, and the reason given when one cannot."""

from __future__ import annotations

import pytest

from carefeed.errors import InvalidUrlError
from carefeed.urls import display_url, validate_feed_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("htp:/x", "only http and https"),
        ("javascript:alert(1)", "got javascript"),
        ("file:///etc/passwd", "got file"),
        ("http://", "no host"),
        ("http://exa mple.com/", "spaces"),
        ("http://[::1", "malformed"),
        ("http://a.example/" + "x" * 4000, "longer than"),
        ("", "empty"),
    ],
)
def test_refused_with_reason(url: str, reason: str):
    with pytest.raises(InvalidUrlError, match=reason):
        validate_feed_url(url)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("feed://blog.example/rss", "http://blog.example/rss"),
        ("feed:https://blog.example/rss", "https://blog.example/rss"),
        ("HTTPS://Blog.Example/Feed?Tag=Care#top", "https://blog.example/Feed?Tag=Care"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("  https://blog.example/feed/  ", "https://blog.example/feed/"),
    ],
)
def test_canonical_form(url: str, canonical: str):
    assert validate_feed_url(url) == canonical


def test_credentials_are_kept_but_never_shown():
    url = validate_feed_url("http://user:secret@host.example/feed")
    assert url == "http://user:secret@host.example/feed"
    assert "secret" not in display_url(url)
    with pytest.raises(InvalidUrlError) as info:
        validate_feed_url("ftp://user:secret@host.example/feed")
    assert "secret" not in str(info.value)
