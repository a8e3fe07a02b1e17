"""The reader under hostile text (HOSTILE.md §3 cases 1-5, 11-13 and the sweep).

* :func:`seed_hostile` fills a cache through the real store with feed text written to
  hurt: Textual/Rich markup (actions, crashing tags, escape-bypasses, links), terminal
  escape sequences (OSC 0/52/8, CSI, SGR, 8-bit C1), bidi overrides and zero-width
  characters, in every field the reader shows: feed titles, folder tags, feed errors,
  post titles, authors, categories, bodies, links, comment authors, comment text and
  comment-fetch errors. It writes *raw* strings, as a cache written by an older carefeed
  could hold them: the reader's own cleaning (tui/render.py) must stand on its own.
* :func:`run_reader_in_pty` runs ``carefeed`` (the real entry point) on a pseudo-terminal,
  types keys and returns every byte the reader wrote to the terminal, plus what an
  in-process spy saw: the actions run and every action that came out of text (Textual's
  ``App._broker_event``, the one door from a ``@click`` style to an action).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from screens import browser_script, screen_text, settle  # noqa: F401  (re-exported)

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)

# --------------------------------------------------------------------------- payloads

MARKUP_ACTION = "[@click=app.quit]Funding cuts[/]"  # case 1
MARKUP_CRASH = ["Budget [/bold] cuts", "[/] x", "[/", "[type=x, v={'a[0]'}]"]  # case 2
MARKUP_BYPASS = ["[ @click=app.quit]Funding", "[$accent @click=app.quit]x"]  # case 3
BRACKETS = "Adult social care [Green Paper] response"  # case 4
LINK_MARKUP = [  # case 5
    "[link='file:///etc/passwd']click me[/link]",
    "[link=https://evil.example]x[/]",
]
STYLE_MARKUP = "[bold]Care[/bold] [red on white]news[/]"  # would restyle, silently
MARKUP = [MARKUP_ACTION, *MARKUP_CRASH, *MARKUP_BYPASS, BRACKETS, *LINK_MARKUP, STYLE_MARKUP]

ESCAPES = [  # case 11: each ends properly, so clean_text drops the payload with it
    "\x1b]0;pwned-title\x07",
    "\x1b]2;pwned-title2\x1b\\",
    "\x1b]52;c;Y3VybCBldmlsCg==\x1b\\",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b[2J",
    "\x1b[31;1m",
    "\x1b]8;;http://evil.example/osc8\x1b\\",
    "\u009b2J",
    "\u009d0;c1-title\u009c",
    "\x07\x08\x00",
]
BIDI = ["Invoice \u202egnp.exe", "fund\u200bing", "Dr \u2066Smith\u2069"]  # case 12

# Text that must never reach the terminal (the payloads of the escapes above, as bytes).
FORBIDDEN_BYTES = [
    b"\x1b]52",
    b"\x1b]0;",
    b"\x1b]2;",
    b"\x1b]8;",  # the reader makes no hyperlinks: any OSC 8 came from feed text
    b"evil.example/osc8",
    b"pwned-title",
    b"c1-title",
    b"Y3VybCBldmlsCg",
    b"ZXZpbA",
]
_C1 = re.compile("[\u0080-\u009f]")


def combined(i: int = 0) -> str:
    """Every payload at once, escapes interleaved at the front (where a list row shows
    them), rotated by ``i`` so each row starts differently."""
    marks = MARKUP[i % len(MARKUP) :] + MARKUP[: i % len(MARKUP)]
    parts = []
    for n, mark in enumerate(marks):
        parts.append(ESCAPES[n % len(ESCAPES)] + mark)
    return " ".join(parts) + " " + " ".join(BIDI)


def assert_terminal_safe(output: bytes) -> None:
    """I6 at the byte level: none of the hostile sequences or their payloads, no C1."""
    for seq in FORBIDDEN_BYTES:
        assert seq not in output, f"{seq!r} reached the terminal"
    text = output.decode("utf-8", errors="replace")
    found = _C1.search(text)
    assert found is None, f"C1 control {found.group()!r} reached the terminal"
    for ch in ("\u202e", "\u2066", "\u200b"):
        assert ch not in text, f"{ch!r} reached the terminal"


# --------------------------------------------------------------------------- the cache


@dataclass
class Seeded:
    home: Path
    feed_ids: dict[str, int] = field(default_factory=dict)
    entry_ids: dict[str, int] = field(default_factory=dict)  # guid -> id


def seed_hostile(home: Path, *, links: Sequence[str] = ()) -> Seeded:
    """A cache whose every text field is hostile (see the module docstring)."""
    from carefeed.api import Carefeed
    from carefeed.decide import plan_entries
    from carefeed.model import CommentData, CommentTarget, EntryData, FeedIntent, Subscription

    seeded = Seeded(home)
    home.mkdir(parents=True, exist_ok=True)
    with Carefeed.open(home) as api:
        store = api.store
        specs: list[tuple[str, str, tuple[str, ...], str | None, list[EntryData]]] = []
        posts = []
        for i, mark in enumerate(MARKUP):
            posts.append(
                EntryData(
                    guid=f"m{i}",
                    title=ESCAPES[i % len(ESCAPES)] + mark + ESCAPES[(i + 1) % len(ESCAPES)],
                    link=links[i] if i < len(links) else f"https://example.org/m{i}",
                    author=ESCAPES[(i + 2) % len(ESCAPES)] + MARKUP[(i + 3) % len(MARKUP)],
                    published=NOW - timedelta(minutes=10 + i),
                    content=(
                        f"{combined(i)}\n\n{mark} in a paragraph {ESCAPES[i % len(ESCAPES)]}"
                        f"\n\n> {MARKUP[(i + 1) % len(MARKUP)]}\n\n{BRACKETS}"
                    ),
                    categories=(mark, "[Archive]", BIDI[1], ESCAPES[6] + "Safeguarding"),
                )
            )
        specs.append(("hostile-1", combined(0), (combined(3), "[Archive]"), combined(5), posts))
        commented = [
            EntryData(
                guid="with-comments",
                title="Comments " + ESCAPES[0] + MARKUP_ACTION,
                link="https://example.org/comments",
                author=combined(7),
                published=NOW - timedelta(minutes=5),
                content=combined(8),
                categories=(combined(9),),
                comment_count=2,
            ),
            EntryData(
                guid="comment-error",
                title="Comment error " + ESCAPES[2] + MARKUP_CRASH[0],
                link="https://example.org/comment-error",
                published=NOW - timedelta(minutes=6),
                content="The comments failed to load.",
                comment_count=4,
            ),
        ]
        specs.append(("hostile-2", ESCAPES[1] + MARKUP_BYPASS[0], (BRACKETS,), None, commented))
        for key, title, tags, error, entries in specs:
            url = f"http://127.0.0.1:9/{key}.xml"
            feed_id, _ = store.add_feed(Subscription(url=url, title=title, tags=tags), NOW)
            seeded.feed_ids[key] = feed_id
            intent = FeedIntent(
                feed_id=feed_id,
                fetched_at=NOW - timedelta(minutes=3),
                next_due=NOW + timedelta(days=3650),
                ok=error is None,
                error=error,
                error_count=1 if error else 0,
            )
            store.apply_update(intent, plan_entries({}, entries))
        for entry in api.entries(limit=None):
            seeded.entry_ids[entry.guid] = entry.id
        store.write_comments(
            CommentTarget(seeded.entry_ids["with-comments"], url=None, comment_count=2),
            NOW,
            comments=[
                CommentData(
                    guid="c1",
                    text=combined(1) + "\n\n" + MARKUP_ACTION + ESCAPES[3],
                    author=ESCAPES[0] + MARKUP_ACTION,
                    published=NOW - timedelta(minutes=4),
                ),
                CommentData(
                    guid="c2",
                    text=MARKUP_CRASH[0] + ESCAPES[7] + " reply",
                    author=MARKUP_CRASH[1] + ESCAPES[6],
                    published=NOW - timedelta(minutes=3),
                    in_reply_to="c1",
                ),
            ],
            parents={"c2": "c1"},
        )
        store.write_comments(
            CommentTarget(seeded.entry_ids["comment-error"], url=None, comment_count=4),
            NOW,
            error=combined(2),
            ok=False,
        )
    return seeded


def hostile_opml(port: int = 9) -> bytes:
    """An OPML file whose folder and outline titles carry what XML 1.0 can carry (markup,
    8-bit C1, bidi; C0 escapes are not well-formed XML), pointing at a closed loopback port."""
    from xml.sax.saxutils import quoteattr

    c1 = "\u009b2J\u009d0;c1-title\u009c"
    outlines = "".join(
        f"<outline type='rss' text={quoteattr(c1 + m + BIDI[0])} title={quoteattr(c1 + m)}"
        f" xmlUrl='http://127.0.0.1:{port}/opml-{n}.xml'/>"
        for n, m in enumerate(MARKUP)
    )
    folder = quoteattr(MARKUP_ACTION + c1 + BIDI[1])
    return (
        "<?xml version='1.0' encoding='UTF-8'?><opml version='2.0'><head><title>"
        f"{MARKUP_CRASH[0]}</title></head><body><outline text={folder}>{outlines}</outline>"
        "</body></opml>"
    ).encode()


# --------------------------------------------------------------------------- a real pty

# Runs the real `carefeed` entry point with two spies installed first: every action run
# (so a test can see that the spy works at all) and every action that came out of a style
# (a ``@click`` in text), each appended to a JSON-lines file.
_SPY = r"""
import json, sys
from textual.app import App
log = open(sys.argv[1], "a", buffering=1)
_run, _broker = App.run_action, App._broker_event
async def run_action(self, action, *a, **k):
    log.write(json.dumps(["action", str(action)]) + "\n")
    return await _run(self, action, *a, **k)
async def broker(self, name, event, ns):
    handled = await _broker(self, name, event, ns)
    if handled:
        log.write(json.dumps(["from-text", name, repr(getattr(event, "style", None))]) + "\n")
    return handled
App.run_action, App._broker_event = run_action, broker
from carefeed.cli import main
sys.exit(main(sys.argv[2:]))
"""


@dataclass
class PtyRun:
    output: bytes
    returncode: int | None
    alive_before_quit: bool
    spy: list[list[str]]
    marks: dict[str, int]  # label -> offset in output when that key was typed
    missed: list[str]  # keys whose expected screen never showed

    def actions(self) -> list[str]:
        return [e[1] for e in self.spy if e[0] == "action"]

    def from_text(self) -> list[list[str]]:
        return [e for e in self.spy if e[0] == "from-text"]


def _drain(
    fd: int, into: bytearray, quiet: float, limit: float, expect: bytes | None = None
) -> None:
    """Read until ``expect`` (if given) has arrived and then the terminal has been quiet
    for ``quiet`` s; at most ``limit`` s."""
    start = len(into)
    end = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < end:
        if expect is not None and expect in into[start:]:
            expect = None
            last = time.monotonic()
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            into.extend(chunk)
            last = time.monotonic()
        elif expect is None and time.monotonic() - last >= quiet:
            return


def run_reader_in_pty(
    home: Path,
    keys: Sequence[tuple[str, bytes] | tuple[str, bytes, bytes]],
    tmp: Path,
    *,
    size: tuple[int, int] = (140, 45),
    quiet: float = 0.1,
    env_extra: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> PtyRun:
    """``carefeed --home HOME`` on a pty of ``size`` (cols, rows); types each ``(label,
    bytes[, expect])`` in ``keys`` once the screen has gone quiet (and, with ``expect``,
    once those bytes have been drawn: typing into a search box before it is open would
    press the main screen's keys instead), then ``q`` until it exits."""
    import fcntl

    cols, rows = size
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    spy_log = tmp / "spy.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("CAREFEED_HOME", "TEXTUAL")}
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"})
    env.update(env_extra or {})
    child = subprocess.Popen(
        [sys.executable, "-c", _SPY, str(spy_log), "--home", str(home)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        close_fds=True,
        cwd=cwd,
    )
    os.close(slave)
    out = bytearray()
    marks: dict[str, int] = {}
    missed: list[str] = []
    alive = False
    try:
        # start-up: Textual's import, then the first paint (the footer names the palette)
        _drain(master, out, quiet=0.4, limit=20, expect=b"Palette")
        for label, data, *expect in keys:
            marks[label] = len(out)
            os.write(master, data)
            if data == b"\x1b":
                # a lone ESC is a key only once the terminal's escape delay has passed:
                # the next key sooner would make it Alt+key
                time.sleep(0.2)
            _drain(master, out, quiet=quiet, limit=8, expect=expect[0] if expect else None)
            if expect and expect[0] not in out[marks[label] :]:
                missed.append(label)
        alive = child.poll() is None
        for _ in range(6):  # q leaves the post, the search, a modal... then quits
            if child.poll() is not None:
                break
            os.write(master, b"q")
            _drain(master, out, quiet=0.2, limit=3)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
        _drain(master, out, quiet=0.1, limit=1)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    spy = []
    if spy_log.exists():
        spy = [json.loads(line) for line in spy_log.read_text().splitlines() if line.strip()]
    return PtyRun(bytes(out), child.returncode, alive, spy, marks, missed)
