"""Run ``carefeed --home H poll --json`` in this process with the stage timers installed.

Usage: ``python bench/driver.py HOME STATS.json POLL.json``. It is the CLI's own ``main``
(same argument parsing, same Carefeed.open, same asyncio.run), so the wall time measured
around this process is what a user's ``carefeed poll --json`` costs, plus the timers'
few microseconds per call. The stage totals go to STATS.json, the poll's JSON to POLL.json.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import instrument


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the benchmark stopping us: let carefeed close its parser pool


def main(argv: list[str]) -> int:
    home, stats_path, poll_path = argv
    signal.signal(signal.SIGTERM, _interrupt)
    instrument.install()
    from carefeed.cli import main as carefeed_main

    start, cpu_start = time.perf_counter(), instrument.cpu_now()
    code: int | str = "exception"
    try:
        with Path(poll_path).open("w") as out, redirect_stdout(out):
            code = carefeed_main(["--home", home, "poll", "--json"])
    finally:  # the stage totals are worth having from a poll that crashed, too
        data = instrument.summary(time.perf_counter() - start, cpu_start)
        data["exit"] = code
        Path(stats_path).write_text(json.dumps(data, indent=1))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
