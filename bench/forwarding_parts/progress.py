"""Progress lines: they go to stderr, stdout is the JSON document's."""

from __future__ import annotations

import datetime
import sys


def log(message: str) -> None:
    """Write one time-stamped progress line to stderr."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)
