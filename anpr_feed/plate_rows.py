"""Two-row plates: where their rows part, in a detected box or in a whole plate-shaped crop."""

from __future__ import annotations

import cv2
import numpy as np

from anpr_feed.quads import Quad, full_quad, quad_geometry, warp
from anpr_feed.types import Image


def whole_image_candidates(img: Image) -> list[tuple[str, list[tuple[Image, Quad]]]]:
    """The whole image as one plate, for images shaped like one (tight crops)."""
    h, w = img.shape[:2]
    aspect = w / h
    out: list[tuple[str, list[tuple[Image, Quad]]]] = []
    if max(h, w) > 1200:
        return out
    full = full_quad(img)
    if 2.2 <= aspect <= 7.5:
        out.append(("whole1", [(img, full)]))
    if 0.8 <= aspect <= 2.6:
        for split in row_splits(img):
            top = img[:split]
            bottom = img[split:]
            qt = np.array([[0, 0], [w, 0], [w, split], [0, split]], dtype=np.float32)
            qb = np.array([[0, split], [w, split], [w, h], [0, h]], dtype=np.float32)
            out.append(("whole2", [(top, qt), (bottom, qb)]))
    return out


def split_rows(img: Image, q: Quad) -> list[list[tuple[Image, Quad]]]:
    """A plate-shaped box's two rows (image and quad each), per candidate split line.

    Empty if the box is not shaped like a two-row plate. The box is widened a
    little first: a detector box around two rows of text tends to clip the top
    of the first row and the foot of the second.
    """
    _, _, _, _, height, width = quad_geometry(q)
    if height < 16 or not 0.8 <= width / height <= 2.6:
        return []
    centre = q.mean(axis=0)
    down = (q[3] - q[0] + q[2] - q[1]) / 2
    across = (q[1] - q[0] + q[2] - q[3]) / 2
    grow = np.array(
        [
            -0.04 * across - 0.08 * down,
            0.04 * across - 0.08 * down,
            0.04 * across + 0.08 * down,
            -0.04 * across + 0.08 * down,
        ]
    )
    h, w = img.shape[:2]
    big = np.clip(q - centre + grow + centre, [0, 0], [w, h]).astype(np.float32)
    crop = warp(img, big)
    if crop.shape[0] < 16 or crop.shape[1] < 8:
        return []
    out = []
    for split in row_splits(crop):
        f = split / crop.shape[0]
        left = big[0] + (big[3] - big[0]) * f
        right = big[1] + (big[2] - big[1]) * f
        top_q = np.array([big[0], big[1], right, left], dtype=np.float32)
        bottom_q = np.array([left, right, big[2], big[3]], dtype=np.float32)
        out.append([(crop[:split], top_q), (crop[split:], bottom_q)])
    return out


def row_splits(img: Image) -> list[int]:
    """Where a two-row plate's rows may part: one or two candidate lines near the middle.

    Two cues, each the emptiest line between 30 % and 70 % of the height: the
    ink profile (Otsu, text taken as the minority colour), and the profile of
    horizontal gradients (strokes), which does not depend on which colour is
    the text and so survives a box that holds more car body than plate. Both
    are returned when they disagree by more than 4 % of the height.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    lo, hi = int(h * 0.3), int(h * 0.7)
    if hi - lo < 2:
        return [h // 2]
    cols = slice(int(w * 0.1), max(int(w * 0.9), int(w * 0.1) + 1))
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0 if (binary == 0).mean() < 0.5 else binary > 0
    strokes = np.abs(cv2.Sobel(gray.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    k = max(3, h // 25) | 1
    out: list[int] = []
    for profile, width in ((ink[:, cols].mean(axis=1), 3), (strokes[:, cols].mean(axis=1), k)):
        smooth = np.convolve(profile, np.ones(width) / width, mode="same")
        split = lo + int(np.argmin(smooth[lo:hi]))
        if all(abs(split - o) > 0.04 * h for o in out):
            out.append(split)
    return out
