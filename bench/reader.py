"""Reader benchmark: does a 100,000-post cache paint as fast as an empty one? (issue 3)

Fills a throwaway home with N generated posts (through the real store and decide
modules, in a child process so its memory does not count), then, with Textual's pilot in
one process:

* first paint: time from constructing the app to the first screen painted (the list's
  first page read and the refresh after it), empty cache vs the full one, best of 3;
* cursor: key press → repaint, for j across page boundaries and for page-down;
* filter change and search: from setting the view to the first page on screen (the
  count of matches arrives later from a pool thread; reported too);
* peak memory (ru_maxrss of this process).

Prints the figures and writes bench/out/reader.md. ``--posts 20000`` for a quicker run,
``--home DIR`` to keep (and reuse) the filled cache.

The goal: full-cache first paint within 1.2× of the empty-cache one, cursor moves
instant, filter and search re-list under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAINTED_AT: list[float] = []  # wall-clock time of each first paint (for --paint-once)
FEEDS = 200
CATEGORIES = (
    "Adult social care", "Safeguarding", "Carers", "Dementia", "Mental health",
    "Learning disabilities", "Autism", "Home care", "Care homes", "Workforce", "Funding",
    "Commissioning", "Policy", "Practice", "Hospital discharge", "Direct payments", "Housing",
    "Reablement", "Mental Capacity Act", "Supervision", "Research", "News", "Loneliness",
)  # fmt: skip
WORDS = (
    "council", "carer", "assessment", "review", "funding", "workforce", "dementia", "support",
    "family", "practice", "commissioning", "provider", "discharge", "reablement", "housing",
    "advocacy", "capacity", "safeguarding", "wellbeing", "recruitment", "integrated", "board",
    "consultation", "guidance", "pilot", "survey", "evidence", "budget", "visit", "waiting",
)  # fmt: skip


# --------------------------------------------------------------------------- filling


def fill(home: Path, posts: int, *, tag: bool = True) -> float:
    """Write ``posts`` posts over FEEDS feeds, as polls would (with their topics, unless
    ``tag`` is False: bench/topics.py times that part); return seconds taken."""
    from carefeed.decide import plan_entries
    from carefeed.model import EntryData, FeedIntent, Subscription
    from carefeed.paths import resolve_paths
    from carefeed.store import Store

    started = time.perf_counter()
    rng = random.Random(3)
    paragraphs = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "."
        for _ in range(400)
    ]
    titles = [" ".join(rng.choice(WORDS) for _ in range(7)).capitalize() for _ in range(5000)]
    paths = resolve_paths(home)
    paths.ensure()
    store = Store.open(paths.database)
    subs = [
        Subscription(
            url=f"http://127.0.0.1:9/blog-{i}/feed/",
            title=f"Care blog {i}",
            tags=(f"Region {i % 9}",),
        )
        for i in range(FEEDS)
    ]
    store.add_feeds(subs, NOW)
    per_feed = posts // FEEDS
    for f in range(FEEDS):
        batch = []
        for j in range(per_feed):
            k = j * FEEDS + f  # interleave feeds in time, as real blogs are
            body = "\n\n".join(rng.sample(paragraphs, 4))
            batch.append(
                EntryData(
                    guid=f"p{k}",
                    title=titles[k % len(titles)] + f" ({k})",
                    link=f"https://example.org/blog-{f}/{k}",
                    author="Ann Example",
                    published=NOW - timedelta(minutes=3 * k + 1),
                    summary=body[:200],
                    content=body,
                    categories=tuple(rng.sample(CATEGORIES, 3)),
                    comment_count=rng.randrange(12),
                )
            )
        intent = FeedIntent(feed_id=f + 1, fetched_at=NOW, next_due=None, ok=True)
        store.apply_update(intent, plan_entries({}, batch))
    store.close()
    if tag:
        from carefeed.api import Carefeed

        with Carefeed.open(home) as api:
            api.ensure_topics()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- measuring


async def first_paint(home: Path) -> float:
    """Seconds from constructing the app to the post list's first painted line (the
    moment the first screen, list included, goes to the terminal)."""
    from carefeed.api import Carefeed
    from carefeed.tui.app import CarefeedApp
    from carefeed.tui.widgets.entry_list import EntryList

    painted: list[float] = []
    original = EntryList.render_line

    def spy(self: EntryList, y: int) -> Any:
        if not painted:
            painted.append(time.perf_counter())
            PAINTED_AT.append(time.time())
        return original(self, y)

    EntryList.render_line = spy  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        api = Carefeed.open(home)
        app = CarefeedApp(api, clock=lambda: NOW)
        async with app.run_test(size=(160, 48)) as pilot:
            while not painted:
                await pilot.pause()
            await app.wait_idle()
        api.close()
    finally:
        EntryList.render_line = original  # type: ignore[method-assign]
    return painted[0] - started


@asynccontextmanager
async def _settled_reader(api: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The reader on ``api`` under Textual's pilot at 160×48, its first screen settled:
    (app, pilot, main screen)."""
    from carefeed.tui.app import CarefeedApp
    from carefeed.tui.screens.main import MainScreen

    app = CarefeedApp(api, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await app.wait_idle()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        yield app, pilot, screen


async def interact(home: Path) -> dict[str, float]:
    from carefeed.api import Carefeed
    from carefeed.tui.source import View

    figures: dict[str, float] = {}
    api = Carefeed.open(home)
    async with _settled_reader(api) as (app, pilot, screen):
        entries = screen.entries

        cpu: dict[str, float] = {}

        async def timed(
            action: Callable[[], Awaitable[None]], runs: int, name: str = ""
        ) -> list[float]:
            times = []
            c = time.process_time()
            for _ in range(runs):
                t = time.perf_counter()
                await action()
                times.append((time.perf_counter() - t) * 1000)
            cpu[name] = (time.process_time() - c) / runs * 1000
            return times

        async def press(key: str) -> None:
            await pilot.press(key)

        baseline = await timed(lambda: pilot.pause(), 50)  # the pilot's own cost
        figures["pilot pause (ms, median)"] = statistics.median(baseline)
        moves = await timed(lambda: press("j"), 450, "j")  # crosses two page boundaries
        figures["cursor j, key to repaint (ms, median)"] = statistics.median(moves)
        figures["cursor j, key to repaint (ms, max)"] = max(moves)
        figures["cursor j, CPU per key incl. pilot (ms)"] = cpu["j"]
        pages = await timed(lambda: press("pagedown"), 40, "pd")
        figures["page down, key to repaint (ms, median)"] = statistics.median(pages)
        figures["page down, key to repaint (ms, max)"] = max(pages)
        figures["page down, CPU per key incl. pilot (ms)"] = cpu["pd"]

        async def relist(view: View, label: str) -> None:
            t = time.perf_counter()
            screen.set_view(view)
            while entries.entry_at(0, load=False) is None and entries.total:
                await asyncio.sleep(0.001)
            while not entries._pages.get(0) and not entries.counted:
                await asyncio.sleep(0.001)
            listed = time.perf_counter()
            await pilot.pause()
            figures[f"{label}: first page listed (ms)"] = (listed - t) * 1000
            while not entries.counted:
                await asyncio.sleep(0.001)
            figures[f"{label}: count known (ms)"] = (time.perf_counter() - t) * 1000
            figures[f"{label}: posts"] = entries.total

        for view, label in relist_views(api):
            await relist(view, label)
        await relist(View(), "cleared")
        t = time.perf_counter()
        await pilot.press("end")
        while entries.current is None or entries.cursor != entries.total - 1:
            await asyncio.sleep(0.005)
        while entries.entry_at(entries.cursor, load=False) is None:
            await asyncio.sleep(0.005)
        figures["End: jump to the last post (ms)"] = (time.perf_counter() - t) * 1000
        await app.wait_idle()
    api.close()
    return figures


def paint_from_process_start(home: Path) -> float:
    """A fresh interpreter: seconds from spawning it to the list's first painted line."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--paint-once", str(home)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return float(out) - started


def run(posts: int, home: Path | None) -> str:
    scratch = tempfile.TemporaryDirectory(prefix="carefeed-bench-")
    with scratch:
        empty = Path(scratch.name) / "empty"
        full = home or Path(scratch.name) / "full"
        empty.mkdir()
        if not (full / "cache.db").exists():
            print(f"filling {posts:,} posts into {full} …", flush=True)
            took = subprocess.run(
                [sys.executable, __file__, "--fill-only", str(full), "--posts", str(posts)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            print(f"filled in {took} s", flush=True)
        from carefeed.api import Carefeed

        with Carefeed.open(full) as api:
            from carefeed.model import EntryFilter

            total = api.count_entries(EntryFilter())

        async def paints() -> tuple[list[float], list[float]]:
            await first_paint(empty)  # warm imports and CSS parsing
            e, f = [], []
            for _ in range(3):
                e.append(await first_paint(empty))
                f.append(await first_paint(full))
            return e, f

        empty_times, full_times = asyncio.run(paints())
        cold_empty = min(paint_from_process_start(empty) for _ in range(3))
        cold_full = min(paint_from_process_start(full) for _ in range(3))
        figures = asyncio.run(interact(full))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best_empty, best_full = min(empty_times), min(full_times)
    ratio = best_full / best_empty
    lines = [
        "# Reader benchmark (bench/reader.py)",
        "",
        f"Cache: {total:,} posts in {FEEDS} feeds; terminal 160×48; Textual pilot (headless).",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {sys.platform}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| app start → first paint, empty cache (s, best of 3) | {best_empty:.3f} |",
        f"| app start → first paint, {total:,} posts (s, best of 3) | {best_full:.3f} |",
        f"| ratio from app start (goal ≤ 1.2) | {ratio:.2f} |",
        f"| process start → first paint, empty (s, best of 3) | {cold_empty:.3f} |",
        f"| process start → first paint, {total:,} posts (s, best of 3) | {cold_full:.3f} |",
        f"| ratio from process start (goal ≤ 1.2) | {cold_full / cold_empty:.2f} |",
        f"| first paint runs, empty | {', '.join(f'{t:.3f}' for t in empty_times)} |",
        f"| first paint runs, full | {', '.join(f'{t:.3f}' for t in full_times)} |",
    ]
    for name, value in figures.items():
        shown = f"{value:,.0f}" if name.endswith("posts") else f"{value:.1f}"
        lines.append(f"| {name} | {shown} |")
    lines += [
        f"| peak memory, reader process (MiB, ru_maxrss) | {peak:.0f} |",
        "",
        "Key-press figures include the pilot's own wait for the screen to settle (the "
        "'pilot pause' line is that cost alone). 'First page listed' is when the list shows "
        "posts; the count of matches (the scrollbar's length) follows from a pool thread.",
        "",
    ]
    return "\n".join(lines)


def relist_views(api: Any) -> list[tuple[Any, str]]:
    """The filter changes both the full run and ``--relist`` time: a tag, unread, back to
    all, a search typed letter by letter (each matching nearly every post), and two
    queries as the "/" bar reads them."""
    from carefeed.tui.source import View

    views = [
        (View(tags=("Dementia",)), "tag filter"),
        (View(unread=True), "unread filter"),
        (View(), "back to all"),
    ]
    for word in ("s", "sa", "saf", "safe", "safeguarding", "consultation pilot"):
        views.append((View(search=word), f"search '{word}'"))
    for query in ("(safeguarding or budget) -tag:News", "pilot -survey since:30d"):
        node = api.filter_from_query(query, now=NOW).query
        views.append((View(search=query, search_query=node), f"query '{query}'"))
    return views


async def relists(home: Path, rounds: int) -> dict[str, list[float]]:
    """Only the filter and search re-lists, ``rounds`` times each (a noisy machine needs
    medians): ms from setting the view to its first page listed."""
    from carefeed.api import Carefeed

    times: dict[str, list[float]] = {}
    api = Carefeed.open(home)
    views = relist_views(api)
    async with _settled_reader(api) as (app, pilot, screen):
        entries = screen.entries
        for _ in range(rounds):
            for view, label in views:
                t = time.perf_counter()
                screen.set_view(view)
                while not entries._pages.get(0) and not entries.counted:
                    await asyncio.sleep(0.001)
                times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
                await pilot.pause()
                while not entries.counted:
                    await asyncio.sleep(0.001)
                await app.wait_idle()
    api.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--home", type=Path, help="keep the filled cache here (reused if full)")
    parser.add_argument("--fill-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--paint-once", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--relist",
        type=int,
        metavar="N",
        help="only the filter/search re-lists, N times each, medians (needs a filled --home)",
    )
    args = parser.parse_args()
    if args.relist:
        found = asyncio.run(relists(args.home, args.relist))
        for label, values in found.items():
            print(f"{label}: first page listed, median {statistics.median(values):.1f} ms")
        return 0
    if args.paint_once:
        asyncio.run(first_paint(args.paint_once))
        print(f"{PAINTED_AT[-1]:.6f}")
        return 0
    if args.fill_only:
        print(f"{fill(args.fill_only, args.posts):.1f}")
        return 0
    report = run(args.posts, args.home)
    print(report)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "reader.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
