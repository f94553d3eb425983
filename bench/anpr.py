"""Checkpoint-camera plate reading, end to end: accuracy, false alerts and real-time cost.

Usage::

    .venv/bin/python bench/anpr.py [--quick] [--jobs N] [--cache DIR] [--out FILE]

Prints one JSON document with three parts:

``synthetic``
    Day and night clips from :mod:`tests.support.synth` (several seeds, every
    plate layout, signs, a plate-auction billboard, truck lettering and the
    camera caption as distractors) through :class:`anpr_feed.pipeline.Pipeline`
    with the RapidOCR reader: per-vehicle exact rate, per-character accuracy
    (1 - edit distance / length, the best pass overlapping the vehicle's time
    in view), missed vehicles, false passes (plates not in the clip), duplicate
    passes. Then every pass goes through :class:`anpr_feed.watchlist.Matcher`
    with a watch list built from some true plates (exact entries, one wildcard
    entry, and the billboard's own plate-shaped number), plus an outbreak
    province: ``false_alerts`` counts alerts for vehicles that are on no list
    (target zero), ``missed_alerts`` listed vehicles that raised none.
``real_images``
    ``bench/anpr_images.py`` (labelled real photographs, read where they are)
    run as a subprocess, its JSON as it printed it; skipped with a note when
    the data folder is absent.
``realtime``
    A 720p 25 fps clip processed in a child process pinned to one core
    (``taskset -c 0``) with every library single-threaded, as the feed worker
    does it: PyAV decode to BGR, the pipeline, annotation, and one VP8 encode
    with the worker's own encoder settings. CPU milliseconds per frame per
    stage and in total against the 40 ms a frame has at 25 fps; and, in the
    same process, the naive approach for comparison: the reader on the whole
    frame (every frame, and every 5th frame).

Clips are generated once and cached (``--cache``, by default under the
system's temporary directory): generating is about 1 s of CPU per second of
video.

The parts are in ``bench/anpr_parts/``, one noun a module (clips, scoring,
alerts, synthetic, real_images, realtime); this script is their command line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from anpr_parts.clips import FULL_CLIPS, QUICK_CLIPS  # noqa: E402
from anpr_parts.output import print_json  # noqa: E402
from anpr_parts.real_images import real_images  # noqa: E402
from anpr_parts.realtime import realtime, realtime_child  # noqa: E402
from anpr_parts.synthetic import synthetic  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the parts not skipped; print the JSON document (and write it to ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short clips, fewer images")
    parser.add_argument("--jobs", type=int, default=1, help="clips read in parallel")
    parser.add_argument(
        "--threads", type=int, default=1, help="reader/OpenCV threads per clip (0: library default)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "anpr-bench-clips",
        help="where generated clips are kept",
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: synthetic,real,realtime"
    )
    parser.add_argument(
        "--read-rate",
        default="none",
        help="a reading budget for the accuracy part, in reader calls per second of video"
        " (counted, so the result is the same however loaded the machine), or 'none'",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--realtime-child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-frames", type=int, default=500, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-frames", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.realtime_child is not None:
        print(
            json.dumps(realtime_child(args.realtime_child, args.max_frames, args.baseline_frames))
        )
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    clips = QUICK_CLIPS if args.quick else FULL_CLIPS
    threads = args.threads or None
    started = time.monotonic()
    out: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "2 cores shared with other work; speeds are CPU time on one pinned core",
        },
        "quick": args.quick,
        "read_rate": args.read_rate,
    }
    if "synthetic" not in skip:
        out["synthetic"] = synthetic(clips, args.cache, args.jobs, threads, args.read_rate)
    if "real" not in skip:
        out["real_images"] = real_images(args.quick)
    if "realtime" not in skip:
        out["realtime"] = {
            ("night" if clip.night else "day"): realtime(
                clip,
                args.cache,
                max_frames=150 if args.quick else 1000,
                baseline_frames=8 if args.quick else 20,
            )
            for clip in (clips[0], next(c for c in clips if c.night))
        }
    out["bench_seconds"] = round(time.monotonic() - started, 1)
    print_json(out, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
