"""Where the pipeline's time goes: wall clock and CPU per stage, and what it counted."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

STAGES = ("detect", "track", "recognize", "emit", "annotate")


@dataclass
class StageStats:
    """Time per stage: wall clock and CPU of the whole process (all threads)."""

    frames: int = 0
    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    reads: int = 0  # reader calls
    read_plates: int = 0  # calls that gave a plate
    deferred: int = 0  # reads put off by the budget or the per-frame limit
    shed: int = 0  # of those, reads refused by the budget (a live feed shedding load)
    unread: int = 0  # tracks that were due a read and ended without one
    events: int = 0
    duplicates: int = 0  # passes folded into an earlier one with the same plate
    rejected: int = 0  # tracks with readings whose vote was too weak to emit
    lettering: int = 0  # tracks read as plates that rode above a plate (a truck's lettering)
    candidates: int = 0  # detector boxes, summed over frames
    tracks: int = 0  # tracks started

    def per_frame_ms(self) -> dict[str, dict[str, float]]:
        """Mean milliseconds per frame of each stage (wall and CPU)."""
        n = max(self.frames, 1)
        return {
            "wall": {k: round(v * 1000 / n, 3) for k, v in self.wall.items()},
            "cpu": {k: round(v * 1000 / n, 3) for k, v in self.cpu.items()},
        }


class StageTimer:
    """``with StageTimer(stats, stage):`` adds the block's wall and CPU time to ``stage``."""

    def __init__(self, stats: StageStats, stage: str) -> None:
        self.stats, self.stage = stats, stage

    def __enter__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.stats.wall[self.stage] += time.perf_counter() - self.w
        self.stats.cpu[self.stage] += time.process_time() - self.c
