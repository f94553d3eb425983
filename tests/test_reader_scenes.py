"""RapidOcrReader on whole road scenes (the anpr-real-scenes-dev set, read in place).

The set carries no licence: it is read where it lies, for measurement only,
and this test skips only when the folder is absent. Reading a file is offline
and deterministic (no time budget), so the rates are the same on a loaded
machine. The floors are what the reader reached when the test was written,
less a small margin; ``bench/anpr_images.py`` gives the figures.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest

from anpr_feed.reader import RapidOcrReader

SCENES = Path("/work/shared/data/anpr-real-scenes-dev")

# Exact-read floors per plate type (lines-row vehicle).
FLOORS = {
    "1-row car": 0.78,
    "2-row car": 0.80,
    "2-row motorbike": 0.52,
}


@pytest.mark.skipif(not (SCENES / "labels.csv").is_file(), reason="scenes set absent")
def test_whole_scenes_are_read_per_plate_type() -> None:
    reader = RapidOcrReader(threads=1)
    reader.warm_up()
    with (SCENES / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 90
    tally: dict[str, list[int]] = {}
    misses = []
    for row in rows:
        image = cv2.imread(str(SCENES / "images" / row["file"]), cv2.IMREAD_COLOR)
        assert image is not None, row["file"]
        readings = reader.read(image)
        got = readings[0].plate.normalized if readings else None
        kind = f"{row['lines']}-row {row['vehicle']}"
        counts = tally.setdefault(kind, [0, 0])
        counts[0] += got == row["plate"]
        counts[1] += 1
        if got != row["plate"]:
            misses.append((row["file"], row["plate"], got))
    assert set(tally) == set(FLOORS)
    rates = {k: ok / n for k, (ok, n) in tally.items()}
    for kind, floor in FLOORS.items():
        assert rates[kind] >= floor, (kind, rates, misses)
