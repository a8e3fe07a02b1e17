"""Which feed addresses carefeed will subscribe to, and their one canonical spelling.

Used by ``add``, OPML import and permanent redirects alike, so a URL refused in one place
is refused in all of them, with the same reason.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from carefeed.errors import InvalidUrlError
from carefeed.text import clean_text

MAX_URL_LENGTH = 2048


def _shown(url: str) -> str:
    """The URL as it may appear in a message: cleaned, short, and without credentials."""
    try:
        parts = urlsplit(url)
        if parts.password is not None or parts.username is not None:
            host = parts.hostname or ""
            url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    except ValueError:
        pass
    return clean_text(url, max_len=80)


def validate_feed_url(url: str) -> str:
    """Return the canonical form of a feed URL, or raise InvalidUrlError saying why.

    ``feed://host/x`` and ``feed:https://host/x`` (old browser conventions) become http(s);
    the scheme and host are lower-cased; everything else is kept as written, because many
    servers treat paths and queries case-sensitively.
    """
    raw = url
    url = url.strip()
    if not url:
        raise InvalidUrlError("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
        raise InvalidUrlError(f"URL contains spaces or control characters: {_shown(raw)}")
    lowered = url.lower()
    if lowered.startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidUrlError(f"malformed URL: {_shown(url)}") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        named = clean_text(scheme, max_len=20) or "no scheme"
        raise InvalidUrlError(
            f"only http and https feeds are supported (got {named}): {_shown(url)}"
        )
    host = parts.hostname
    if not host:
        raise InvalidUrlError(f"no host in URL: {_shown(url)}")
    netloc = host if ":" not in host else f"[{host}]"
    if parts.username is not None or parts.password is not None:
        cred = parts.username or ""
        if parts.password is not None:
            cred += ":" + parts.password
        netloc = f"{cred}@{netloc}"
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def display_url(url: str) -> str:
    """A feed URL fit for messages and listings: never shows a password."""
    return _shown(url) if "@" in url else clean_text(url, max_len=2048)
