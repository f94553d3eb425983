"""This process's load between two heartbeats: CPU, sites, packets per second, rooms."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from conference.cluster.records import NodeLoad


@dataclass(frozen=True)
class Counts:
    """What the conference counts now: connected sites, SFU packets in+out so far, open rooms."""

    sites: int
    packets_total: int
    rooms: int


class LoadSampler:
    """Turns counters into rates over the interval since the previous :meth:`sample`."""

    def __init__(self, counts: Callable[[], Counts]) -> None:
        self._counts = counts
        self._wall = time.monotonic()
        self._cpu = time.process_time()
        self._packets = counts().packets_total

    def sample(self) -> NodeLoad:
        """The load since the previous sample (or since start-up)."""
        counts = self._counts()
        wall, cpu = time.monotonic(), time.process_time()
        elapsed = max(wall - self._wall, 1e-6)
        load = NodeLoad(
            cpu_percent=round(max(cpu - self._cpu, 0.0) / elapsed * 100, 1),
            sites=counts.sites,
            packets_per_s=round(max(counts.packets_total - self._packets, 0) / elapsed, 1),
            rooms=counts.rooms,
        )
        self._wall, self._cpu, self._packets = wall, cpu, counts.packets_total
        return load
