"""How smoothly a feed's annotated video flows while plates are read.

Usage::

    .venv/bin/python bench/anpr_smoothness.py [--clip FILE] [--seconds 12]

Runs the feed worker (``anpr_feed.worker.run``, in a thread, with a pipe as
the server would) on a synthetic night clip at its own pace, asks for VP8,
and times the encoded frames as they come out: with the reader in a
background thread (what the worker does) and, as the baseline in the same
run, with every read inside the frame loop. Prints JSON: frames, passes,
largest gap between two frames, p99 gap, and how many gaps exceed 120 ms
(three frame times at 25 fps: a visible stall).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2

from anpr_feed import worker
from anpr_feed.pipeline import Pipeline, PipelineConfig
from anpr_feed.pipeline_config import LIVE_OCR_BUDGET
from anpr_feed.reader import RapidOcrReader
from anpr_feed.sources import SourcePolicy
from tests.support import synth


def run(clip: Path, background: bool, seconds: float) -> dict[str, Any]:
    """Frame timing of one worker run over ``clip`` (played once)."""

    def factory() -> Pipeline:
        reader = RapidOcrReader(threads=1)
        reader.warm_up()
        # The worker's live budget (a share of a core): this measures a live feed's timing.
        config = PipelineConfig(background_reads=background, ocr_budget=LIVE_OCR_BUDGET)
        return Pipeline(reader, config)

    ours, theirs = mp.Pipe()
    thread = threading.Thread(
        target=worker.run,
        args=("bench", str(clip), theirs, False, False, factory),
        kwargs={"policy": SourcePolicy(files_dir=clip.parent)},
        daemon=True,
    )
    thread.start()
    ours.send(("video", ["vp8"]))
    times: list[float] = []
    passes = 0
    deadline = time.monotonic() + seconds * 3 + 30
    while time.monotonic() < deadline:
        if not ours.poll(0.5):
            continue
        message = ours.recv()
        if message[0] == "packet":
            times.append(time.monotonic())
        elif message[0] == "pass":
            passes += 1
        elif message[0] == "status" and message[1]["state"] in ("offline", "stopped"):
            break
    ours.send(("stop",))
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(times))
    return {
        "reads": "background thread" if background else "in the frame loop (baseline)",
        "frames": len(times),
        "passes": passes,
        "max_gap_ms": round(gaps[-1], 1) if gaps else None,
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1) if gaps else None,
        "gaps_over_120_ms": sum(g > 120 for g in gaps),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="a video file (default: a synthetic night clip)")
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clip = args.clip
    if clip is None:
        clip = Path(tempfile.mkdtemp()) / "night.mp4"
        synth.generate(clip, args.seconds, seed=21, night=True, vehicles_per_minute=30)
    result = {
        "clip": str(clip),
        "baseline": run(clip, False, args.seconds),
        "ours": run(clip, True, args.seconds),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
