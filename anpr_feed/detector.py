"""Cheap plate candidates in a whole frame: classical CV on a downscaled picture.

The OCR model costs 100-400 ms a call, so it cannot look at every frame; this
finds *where* a plate may be, every frame, in a few milliseconds (about 4 ms
for 1280x720 on one core), and the tracker and the reader do the rest.

A plate is a short run of characters: many strong, short vertical edges close
together, in a compact box of a plate's proportions. So:

1. halve the picture (plates that are worth reading are still 10+ px tall);
2. horizontal gradient (Sobel x), thresholded: character strokes, both
   polarities (dark on white/yellow, white on blue);
3. a small closing joins the strokes of a character and neighbouring
   characters; an opening with a *horizontal* element then removes thin
   vertical lines (car outlines, mudguards, lane edges) that would otherwise
   weld the plate to its surroundings; a last closing makes solid blobs;
4. connected components with a plate's size, aspect ratio (a one-row car
   plate is ~4.7:1, a two-row one ~2:1, a motorbike's ~1.4:1) and fill;
5. the two rows of a two-row plate found as separate blobs are merged.

It finds every text-like box, not only plates (signs, lettering); the
pipeline never reads the ones that do not move, and the plate grammar turns
down what is read and is not a plate.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from anpr_feed.types import Image

Box = tuple[int, int, int, int]  # x, y, w, h in full-frame pixels


@dataclass(frozen=True)
class Candidate:
    """A box that looks like a plate."""

    box: Box
    score: float  # 0..1: how plate-like the blob is (fill and proportions)


@dataclass(frozen=True)
class DetectorConfig:
    """Tuning of :class:`PlateDetector`; sizes are in full-frame pixels."""

    scale: float = 0.5  # work on a picture this much smaller
    edge_threshold: int = 40  # |Sobel x| (3x3, 8-bit) that counts as a stroke edge
    min_height: int = 12
    max_height: int = 140
    min_width: int = 20
    max_width: int = 420
    min_aspect: float = 0.8  # w / h: a motorbike plate is ~1.36
    max_aspect: float = 7.5  # a one-row car plate is ~4.7, its text blob a bit longer
    min_fill: float = 0.45  # blob area / box area


class PlateDetector:
    """Plate candidates in a BGR frame (see the module docstring for the method)."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        rect = cv2.MORPH_RECT
        self._join = cv2.getStructuringElement(rect, (3, 3))
        self._unline = cv2.getStructuringElement(rect, (5, 1))
        self._solid = cv2.getStructuringElement(rect, (5, 3))

    def detect(self, frame: Image) -> list[Candidate]:
        """Candidate plate boxes in ``frame``, most plate-like first."""
        c = self.config
        small = cv2.resize(frame, None, fx=c.scale, fy=c.scale, interpolation=cv2.INTER_AREA)
        gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        edges = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3))
        _, mask = cv2.threshold(edges, c.edge_threshold, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._join)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._unline)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._solid)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._join)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        inv = 1.0 / c.scale
        blobs: list[tuple[float, float, float, float, float]] = []
        for x, y, w, h, area in stats[1:count]:
            if w * inv < c.min_width * 0.5 or h * inv < c.min_height * 0.5:
                continue  # too small even to be one row of a two-row plate
            blobs.append((x * inv, y * inv, w * inv, h * inv, area / float(w * h)))
        out: list[Candidate] = []
        for x, y, w, h, fill in _merge_rows(blobs):
            if not (c.min_height <= h <= c.max_height and c.min_width <= w <= c.max_width):
                continue
            aspect = w / h
            if not (c.min_aspect <= aspect <= c.max_aspect) or fill < c.min_fill:
                continue
            # Score: fill, and closeness to one of the plate proportions.
            shape = min(abs(np.log(aspect / a)) for a in (1.36, 2.0, 4.7))
            score = float(np.clip(fill, 0, 1) * np.exp(-shape))
            out.append(Candidate((round(x), round(y), round(w), round(h)), score))
        out.sort(key=lambda cand: -cand.score)
        return out


def _merge_rows(
    blobs: list[tuple[float, float, float, float, float]],
) -> list[tuple[float, float, float, float, float]]:
    """Join blobs that are the two rows of one plate (stacked, aligned, close)."""
    blobs = sorted(blobs, key=lambda b: b[1])
    used = [False] * len(blobs)
    out = []
    for i, (x, y, w, h, fill) in enumerate(blobs):
        if used[i]:
            continue
        for j in range(i + 1, len(blobs)):
            if used[j]:
                continue
            x2, y2, w2, h2, fill2 = blobs[j]
            gap = y2 - (y + h)
            if gap > 0.6 * max(h, h2):
                break  # sorted by top: nothing further down can be the next row
            overlap = min(x + w, x2 + w2) - max(x, x2)
            similar = 0.6 <= h2 / h <= 1.6 and overlap >= 0.6 * min(w, w2)
            # Rows of a plate have similar heights and the upper one is no wider.
            if gap >= -0.2 * min(h, h2) and similar and w <= 1.5 * w2:
                nx, ny = min(x, x2), y
                nw, nh = max(x + w, x2 + w2) - nx, y2 + h2 - y
                fill = (fill * w * h + fill2 * w2 * h2) / (nw * nh)
                x, y, w, h = nx, ny, nw, nh
                used[j] = True
                break
        out.append((x, y, w, h, fill))
    return out
