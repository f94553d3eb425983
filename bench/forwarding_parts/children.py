"""The processes the orchestrator started: everything to kill on the way out."""

from __future__ import annotations

import contextlib
from typing import Any

CHILDREN: list[Any] = []  # everything to kill on the way out


def kill_children() -> None:
    """Kill every process still registered (an interrupted or failed run)."""
    for child in list(CHILDREN):
        with contextlib.suppress(Exception):
            child.kill()
    CHILDREN.clear()
