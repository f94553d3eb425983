"""Plate-reading accuracy and speed on a labelled image set (the anpr-real-dev set by default).

Usage::

    .venv/bin/python bench/anpr_images.py [--data DIR] [--limit N] [--threads N] [--out FILE]

``DIR`` holds ``labels.csv`` (``file,plate,lines,vehicle,source``; plates upper
case without separators, Đ written D) and ``images/``. The images are read
where they are (they carry no licence: never copy them into the repository).

Prints JSON: exact-match rate, per-character accuracy (edit distance), the
same by rows/vehicle class, mean and p95 milliseconds per image (after a
warm-up read, models loaded), and every miss with its truth and reading.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anpr_feed.reader import RapidOcrReader

DEFAULT_DATA = Path("/work/shared/data/anpr-real-dev")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(truth: str, read: str) -> float:
    """1 - edit distance / truth length, floored at 0."""
    return max(0.0, 1.0 - edit_distance(truth, read) / max(1, len(truth)))


def run(data: Path, limit: int | None, reader: RapidOcrReader) -> dict[str, Any]:
    """Read every labelled image; return the summary."""
    with (data / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if limit:
        rows = rows[:limit]
    reader.warm_up()
    warm = np.full((60, 200, 3), 255, np.uint8)
    reader.read(warm)  # first-run allocations out of the timing
    times: list[float] = []
    misses: list[dict[str, Any]] = []
    groups: dict[str, list[tuple[bool, float]]] = {}
    exact = 0
    chars: list[float] = []
    for row in rows:
        image = cv2.imread(str(data / "images" / row["file"]), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot read {row['file']}")
        t0 = time.perf_counter()
        readings = reader.read(image)
        times.append(time.perf_counter() - t0)
        got = readings[0].plate.normalized if readings else ""
        ok = got == row["plate"]
        acc = char_accuracy(row["plate"], got)
        exact += ok
        chars.append(acc)
        key = f"{row['lines']}-row {row['vehicle']}"
        groups.setdefault(key, []).append((ok, acc))
        if not ok:
            misses.append(
                {
                    "file": row["file"],
                    "truth": row["plate"],
                    "read": got or None,
                    "raw": readings[0].raw_text if readings else None,
                    "confidence": readings[0].confidence if readings else None,
                    "others": [r.plate.normalized for r in readings[1:4]],
                }
            )
    ms = [t * 1000 for t in times]
    n = len(rows)
    return {
        "data": str(data),
        "images": n,
        "exact": exact,
        "exact_rate": round(exact / n, 4) if n else None,
        "char_accuracy": round(statistics.fmean(chars), 4) if chars else None,
        "by_class": {
            k: {
                "n": len(v),
                "exact_rate": round(sum(o for o, _ in v) / len(v), 4),
                "char_accuracy": round(statistics.fmean(a for _, a in v), 4),
            }
            for k, v in sorted(groups.items())
        },
        "ms_mean": round(statistics.fmean(ms), 1) if ms else None,
        "ms_p95": round(float(np.percentile(ms, 95)), 1) if ms else None,
        "ms_max": round(max(ms), 1) if ms else None,
        "reader": {
            "name": reader.name,
            "variants": list(reader.variants),
            "det_side": reader.det_side,
            "threads": reader.threads,
        },
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "misses": misses,
    }


def _cpus() -> int | None:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument(
        "--variants", default=None, help="comma-separated row variants (plain,clahe,margin,gray)"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if not (args.data / "labels.csv").is_file():
        print(f"no labels.csv under {args.data}", file=sys.stderr)
        return 2
    kwargs: dict[str, Any] = {"threads": args.threads}
    if args.variants:
        kwargs["variants"] = tuple(v for v in args.variants.split(",") if v)
    summary = run(args.data, args.limit, RapidOcrReader(**kwargs))
    text = json.dumps(summary, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
