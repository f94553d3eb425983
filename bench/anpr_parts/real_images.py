"""The real-images part: ``bench/anpr_images.py`` run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
REAL_DATA = Path("/work/shared/data/anpr-real-dev")


def real_images(quick: bool) -> dict[str, Any]:
    """bench/anpr_images.py's result (a subprocess), or a note why it was skipped."""
    script = BENCH / "anpr_images.py"
    if not (REAL_DATA / "labels.csv").is_file():
        return {"skipped": f"no labelled images at {REAL_DATA}"}
    if not script.is_file():
        return {"skipped": f"{script} is missing"}
    # bench/anpr.py reads the synthetic clips itself; the scenes are read when present.
    command = [sys.executable, str(script), "--data", str(REAL_DATA), "--video", "none"]
    if quick:
        command += ["--limit", "20"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"failed": done.returncode, "stderr": done.stderr[-2000:]}
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return {"failed": "not JSON", "stdout": done.stdout[-2000:]}
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result
