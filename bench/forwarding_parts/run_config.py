"""What every run of a benchmark invocation shares (from the command line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunConfig:
    """Window, warm-up, workers, profiling, late joiners, load and media socket, as set."""

    seconds: float
    warmup: float
    tail: float
    per_worker: int
    ready_timeout: float
    py_spy: bool
    py_spy_rate: int
    late_joiners: int
    burner: bool = False  # a busy loop per core but one beside the server during the window
    media_port: str | None = None  # CONFERENCE_MEDIA_PORT for our server (None: unset)
