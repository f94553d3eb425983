"""What every run of a benchmark invocation shares (from the command line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunConfig:
    """Window, warm-up, workers, profiling and late joiners, as the command line set them."""

    seconds: float
    warmup: float
    tail: float
    per_worker: int
    ready_timeout: float
    py_spy: bool
    py_spy_rate: int
    late_joiners: int
