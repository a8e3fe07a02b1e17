"""Run a command and watch its whole process tree: peak memory and CPU per process.

Linux only (/proc). A sampler thread walks the tree every ``interval`` seconds and keeps,
for every process seen, its peak RSS (``VmHWM``, the kernel's own high-water mark, so a
spike between two samples is not missed while the process lives) and its CPU time; and,
for the tree as a whole, the peak of the summed RSS and of the summed PSS (PSS shares a
page between the processes that map it, so forked parser workers are not counted twice).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcInfo:
    pid: int
    name: str
    hwm_kb: int = 0
    cpu_s: float = 0.0
    seen: float = 0.0  # first sample that saw it (monotonic)
    last: float = 0.0


@dataclass
class TreeRun:
    returncode: int
    wall_s: float
    procs: dict[int, ProcInfo] = field(default_factory=dict)
    peak_rss_kb: int = 0  # the largest sum of RSS over the tree at one sample
    peak_pss_kb: int = 0
    root_pid: int = 0
    machine_cpu_s: float = 0.0  # every process on the machine, over the run (/proc/stat)
    sampler_cpu_s: float = 0.0  # this watcher's own cost, not charged to anyone

    @property
    def tree_cpu_s(self) -> float:
        return sum(p.cpu_s for p in self.procs.values())

    @property
    def others_cores(self) -> float:
        """Cores busy outside the measured tree during the run (the server, other work)."""
        others = self.machine_cpu_s - self.tree_cpu_s - self.sampler_cpu_s
        return max(0.0, others) / self.wall_s if self.wall_s else 0

    @property
    def root(self) -> ProcInfo:
        return self.procs[self.root_pid]

    def peak_mb(self) -> float:
        return self.peak_rss_kb / 1024

    def by_role(self) -> dict[str, list[ProcInfo]]:
        roles: dict[str, list[ProcInfo]] = {}
        for info in self.procs.values():
            roles.setdefault(info.name, []).append(info)
        return roles


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(rest[1]), []).append(int(entry.name))
    return children


def _machine_cpu() -> float:
    """Seconds of CPU the whole machine has spent busy since boot (all but idle/iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    busy = sum(fields[:8]) - idle  # guest time is already inside user time
    return busy / _TICK


def _tree(root: int) -> list[int]:
    children = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as fh:
        for row in fh:
            key, _, value = row.partition(":")
            fields[key] = value.strip()
    return fields


def _kb(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        stat = fh.read()
    rest = stat[stat.rfind(b")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / _TICK  # utime + stime


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for row in fh:
                if row.startswith("Pss:"):
                    return _kb(row[4:])
    except OSError:
        pass
    return 0


def _name(pid: int, fields: Mapping[str, str]) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        argv = []
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    if "multiprocessing.forkserver" in text:
        return "forkserver"
    if "multiprocessing.resource_tracker" in text:
        return "resource tracker"
    return fields.get("Name", "?")


def run_watched(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: Path | None = None,
    stderr: Path | None = None,
    interval: float = 0.05,
    timeout: float = 1800,
) -> TreeRun:
    """Run ``argv`` to completion, sampling its process tree; wall time is around the run."""
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    err = stderr.open("wb") if stderr else subprocess.DEVNULL
    procs: dict[int, ProcInfo] = {}
    peaks = [0, 0]
    sampler_cpu = [0.0]
    stop = threading.Event()
    machine_start = _machine_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
    )

    def sample() -> None:
        members: list[int] = []
        for tick in itertools.count():
            now = time.monotonic()
            rss = pss = 0
            # walking /proc costs ~4 ms with a few hundred processes: only every 5th sample
            if tick % 5 == 0:
                members = _tree(process.pid)
            for pid in members:
                try:
                    fields = _status(pid)
                    if fields.get("State", "").startswith("Z"):
                        continue
                    cpu = _cpu(pid)
                    info = procs.get(pid)
                    if info is None:
                        info = procs[pid] = ProcInfo(pid, _name(pid, fields), seen=now)
                    elif info.name != "forkserver" and info.name.startswith("python"):
                        info.name = _name(pid, fields)  # argv is set after the fork
                    info.hwm_kb = max(info.hwm_kb, _kb(fields.get("VmHWM")))
                    info.cpu_s = max(info.cpu_s, cpu)
                    info.last = now
                    rss += _kb(fields.get("VmRSS"))
                    pss += _pss(pid)
                except (OSError, ValueError, IndexError):
                    continue
            peaks[0] = max(peaks[0], rss)
            peaks[1] = max(peaks[1], pss)
            sampler_cpu[0] = time.thread_time()
            if stop.wait(interval):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        returncode = process.wait(timeout)
    except BaseException:  # Ctrl-C or a timeout: let it clean up its children, then insist
        process.terminate()
        try:
            process.wait(3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    finally:
        wall = time.perf_counter() - started
        stop.set()
        thread.join()
        for handle in (out, err):
            if hasattr(handle, "close"):
                handle.close()
    run = TreeRun(returncode, wall, procs, peaks[0], peaks[1], process.pid)
    run.machine_cpu_s = _machine_cpu() - machine_start
    run.sampler_cpu_s = sampler_cpu[0]
    if process.pid not in procs:  # finished before the first sample
        procs[process.pid] = ProcInfo(process.pid, Path(argv[0]).name)
    return run
