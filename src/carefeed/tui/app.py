"""The reader's App: holds the open cache, the query pool and the clock; shows MainScreen.

``run_reader`` is what ``carefeed`` (no command) and ``carefeed --demo`` call. Tests build
a cache in a temporary home and pass the open :class:`~carefeed.api.Carefeed` to
:class:`CarefeedApp` directly, with a fixed clock for deterministic snapshots.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from multiprocessing import resource_tracker
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from carefeed.api import Carefeed
from carefeed.tui import render
from carefeed.tui.commands import ReaderCommands
from carefeed.tui.keymap import KeyConfig, build_keymap
from carefeed.tui.queries import QueryPool
from carefeed.tui.screens.help import HelpScreen
from carefeed.tui.screens.main import MainScreen


def local_now() -> datetime:
    """Now, in the local time zone: relative dates and "12 Mar" are the reader's own."""
    return datetime.now().astimezone()


class CarefeedApp(App[None]):
    """The social care news reader."""

    CSS_PATH = "carefeed.tcss"
    TITLE = "carefeed"
    COMMANDS = App.COMMANDS | {ReaderCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Keys", key_display="?", id="app.help"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        api: Carefeed,
        *,
        poll_on_start: bool = False,
        clock: Callable[[], datetime] = local_now,
        close_api: bool = False,
        preview_delay: float = 0.12,
    ) -> None:
        super().__init__()
        # The poller parses in processes. multiprocessing starts its resource tracker with
        # sys.stderr's descriptor, and inside a running Textual app sys.stderr is a capture
        # whose fileno() is -1 ("bad value(s) in fds_to_keep"): start it now, before.
        resource_tracker.ensure_running()
        self.api = api
        self.poll_on_start = poll_on_start
        self.clock = clock
        self.close_api = close_api
        # seconds the cursor rests before the preview; 0 (tests) also makes counts immediate
        self.preview_delay = preview_delay
        self.pool = QueryPool(api)
        # [reader.keys] from config.toml, as Textual's keymap; bad entries are left out
        self.keys: KeyConfig = build_keymap(api.settings.reader_keys)
        self.set_keymap(self.keys.keymap)
        # the footer finds the palette's key by this name: per app, as [reader.keys] says
        self.COMMAND_PALETTE_BINDING = self.keys.effective["palette"][0]  # type: ignore[misc]

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        if self.keys.errors:  # once the screen is up: a toast sent before is never shown
            self.call_after_refresh(self._report_keys)

    def _report_keys(self) -> None:
        if self.keys.errors:
            where = f"{self.api.paths.config_file} [reader.keys]"
            self.notify(
                render.message(f"{where}: {'; '.join(self.keys.errors)}"),
                title="Keys not changed",
                severity="error",
                timeout=30,
                markup=False,
            )

    def action_help(self) -> None:
        """Open the keys (the help key again, wherever it is bound, closes them)."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(HelpScreen())

    def on_unmount(self) -> None:
        self.pool.close()
        if self.close_api:
            self.api.close()

    async def wait_idle(self) -> None:
        """Until queries on pool threads and workers are done (tests, bench)."""
        for _ in range(50):
            await self.pool.wait_idle()
            await self.workers.wait_for_complete()
            if not self.pool.busy:
                return


def run_reader(home: str | None, demo: bool = False) -> int:
    """Open the reader on ``home`` (None: CAREFEED_HOME or the platform's folders).

    ``demo``: a throwaway home subscribed to the bundled sample feeds, served from
    127.0.0.1 by a thread in this process and polled on start: carefeed working with no
    internet and nothing written outside a temporary folder.
    """
    if not demo:
        api = Carefeed.open(home)
        CarefeedApp(api, close_api=True).run()
        return 0
    from carefeed.demo import DemoSite

    with tempfile.TemporaryDirectory(prefix="carefeed-demo-") as scratch, DemoSite() as site:
        api = Carefeed.open(scratch)
        api.import_opml(site.opml())
        CarefeedApp(api, poll_on_start=True, close_api=True).run()
    return 0
