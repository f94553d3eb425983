"""CPU from /proc: the server's, the workers', the whole machine's, and waiting for quiet."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from forwarding_parts.progress import log
from forwarding_parts.server_under_test import ServerUnderTest
from forwarding_parts.worker_process import Worker

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) in seconds of every thread of ``pid`` (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid``."""
    return sum(process_cpu_times(pid))


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every live process below it (``serve --workers N``:
    the supervisor and its workers). A process that exited between two samples takes
    its CPU with it: compare samples of the same processes."""
    total = 0.0
    for each in (pid, *descendants(pid)):
        try:
            total += process_cpu_seconds(each)
        except OSError:
            continue
    return total


def process_runtime_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid`` as the scheduler counts it, to the nanosecond.

    ``/proc/<pid>/stat`` is sampled at the tick on this kernel
    (``CONFIG_TICK_CPU_ACCOUNTING``, 250 Hz, tickless when idle): a process that
    wakes for a few microseconds on an idle CPU is charged whole 4 ms ticks
    whenever the tick restarted with it, so short wake-ups are overcounted.
    The process's CPU clock (``clock_gettime`` on ``MAKE_PROCESS_CPUCLOCK(pid,
    CPUCLOCK_SCHED)``) is the scheduler's exact runtime.
    """
    return time.clock_gettime((~pid << 3) | 2)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


@dataclass
class Sample:
    """The server's and workers' CPU, the server's counters and the machine's load at one time."""

    wall: float
    server_cpu: float
    server_user: float
    server_runtime: float  # the scheduler's exact count (process_runtime_seconds)
    workers_cpu: dict[str, float]
    metrics: dict[str, float]
    busy: tuple[float, float]


def take_sample(server: ServerUnderTest, workers: list[Worker]) -> Sample:
    """A sample at the edge of the measurement window."""
    return Sample(
        wall=time.time(),
        server_cpu=process_cpu_seconds(server.pid),
        server_user=process_cpu_times(server.pid)[0],
        server_runtime=process_runtime_seconds(server.pid),
        workers_cpu={w.role: process_cpu_seconds(w.pid) for w in workers},
        metrics=server.metrics(),
        busy=machine_busy(),
    )


CONTENDED_PERCENT = 25.0  # of one core, used by processes that are not ours


def background_cpu_percent(seconds: float = 1.0) -> float:
    """How busy the machine is (percent of one core) with none of our processes running."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return round((busy1 - busy0) / max(1, total1 - total0) * 100 * (os.cpu_count() or 1), 1)


def wait_for_quiet(limit: float) -> float:
    """Wait (up to ``limit`` s) until others use less than CONTENDED_PERCENT of a core."""
    deadline = time.monotonic() + limit
    load = background_cpu_percent()
    while load > CONTENDED_PERCENT and time.monotonic() < deadline:
        log(f"other processes use {load} % of a core; waiting for a quieter machine")
        time.sleep(4)
        load = background_cpu_percent()
    return load
