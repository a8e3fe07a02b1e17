"""``carefeed --demo``: sample social care feeds served from 127.0.0.1, so anyone can see
carefeed work with no internet and nothing written outside a temporary folder.

The feeds are files beside this module (their text written for carefeed): a WordPress-
style RSS blog with categories, comment feeds (``wfw:commentRss``) and comment counts
(``slash:comments``); an Atom feed with ``rel="replies"`` links; a practice blog whose
titles contain square brackets (shown literally) and a ``javascript:`` link (refused by
``o``); and a feed whose address now serves a web page, which fails with a clear error
("not a feed (HTML page)").

Dates are written as ``{{rfc822:-95}}`` / ``{{iso:-95}}`` (minutes before the server
started) so the demo always looks fresh; ``{{base}}`` is the server's address. Any
``…/feed/`` or ``comments.xml`` path serves the sample comment feed. Stdlib only: a
``ThreadingHTTPServer`` in a daemon thread.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from xml.sax.saxutils import quoteattr

# path on the server → (file, title, folder): folders become tags on import
FEEDS: dict[str, tuple[str, str, str]] = {
    "/northfield/feed/": ("northfield.xml", "Northfield Adult Care Blog", "Adult social care"),
    "/carers/atom.xml": ("carers.xml", "Carers Voice Network", "Carers"),
    "/practice/feed/": ("practice.xml", "Practice Matters", "Social work practice"),
    "/workforce/feed/": ("workforce.html", "Care Workforce Bulletin", "Workforce"),
}
COMMENTS_FILE = "comments.xml"
_PLACEHOLDER = re.compile(r"\{\{(base|rfc822|iso)(?::(-?\d+))?\}\}")


def _load(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def render_feed(name: str, base: str, now: datetime) -> bytes:
    """A demo file with its placeholders filled in."""

    def fill(match: re.Match[str]) -> str:
        kind, minutes = match.group(1), match.group(2)
        if kind == "base":
            return base
        when = now + timedelta(minutes=int(minutes or 0))
        return format_datetime(when) if kind == "rfc822" else when.isoformat()

    return _PLACEHOLDER.sub(fill, _load(name)).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: _DemoServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        entry = FEEDS.get(path)
        if entry is not None:
            name = entry[0]
            kind = {
                "carers.xml": "application/atom+xml",
                "workforce.html": "text/html",
            }.get(name, "application/rss+xml")
        elif path.endswith(("/feed/", "comments.xml")):
            name, kind = COMMENTS_FILE, "application/rss+xml"
        else:
            self.send_error(404, "Not Found")
            return
        body = render_feed(name, self.server.base, self.server.started)
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the reader owns the terminal."""


class _DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    base = ""
    started = datetime.now(UTC)


class DemoSite:
    """The demo feeds on ``http://127.0.0.1:PORT``; a context manager."""

    def __init__(self) -> None:
        self._server = _DemoServer(("127.0.0.1", 0), _Handler)
        host, port = self._server.server_address[:2]
        self.base = f"http://{host!s}:{port}"
        self._server.base = self.base
        self._server.started = datetime.now(UTC)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="carefeed-demo", daemon=True
        )

    def __enter__(self) -> DemoSite:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def opml(self) -> bytes:
        """The subscription list, one folder (tag) per feed."""
        outlines = "\n".join(
            f"    <outline text={quoteattr(folder)}>\n"
            f'      <outline type="rss" text={quoteattr(title)} title={quoteattr(title)}'
            f" xmlUrl={quoteattr(self.base + path)}/>\n"
            "    </outline>"
            for path, (_, title, folder) in FEEDS.items()
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
            "  <head><title>carefeed demo</title></head>\n  <body>\n"
            f"{outlines}\n  </body>\n</opml>\n"
        ).encode()


__all__ = ["FEEDS", "DemoSite", "render_feed"]
