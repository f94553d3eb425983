"""A plate's background colour, which tells its use (private, commercial, state, military)."""

from __future__ import annotations

import cv2
import numpy as np

from anpr_feed.types import Image


def plate_colour(img: Image, box: tuple[int, int, int, int]) -> str | None:
    """The plate's background colour ("white", "yellow", "blue", "red") or None if unclear.

    Looks at the middle band of the box, where the characters are and the car
    around a loosely boxed plate is not, and splits it into ink and
    background (Otsu). Vietnamese plates have black characters (white and
    yellow plates) or white ones (blue and red plates), so the ink tells
    which side is the background: black ink, the brighter side; white ink on
    a coloured side, the darker side; otherwise the larger side. The
    background's hue and saturation then name the colour.
    """
    x, y, w, h = box
    region = img[max(y, 0) : y + h, max(x, 0) : x + w]
    if region.size == 0:
        return None
    band = region[region.shape[0] // 4 : region.shape[0] - region.shape[0] // 4 or None]
    mx = region.shape[1] // 12
    band = band[:, mx : region.shape[1] - mx or None]
    if band.size == 0:
        band = region
    hsv = cv2.cvtColor(band, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY).reshape(-1)
    thr, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = gray > thr
    if bright.all() or not bright.any():
        return None
    light = np.median(hsv[bright], axis=0)
    dark = np.median(hsv[~bright], axis=0)
    if dark[2] < 90 and dark[1] < 110:
        bg = light  # black characters
    elif light[1] < 60 and light[2] > 150 and dark[1] >= 60:
        bg = dark  # white characters on a coloured plate
    else:
        bg = light if bright.mean() >= 0.5 else dark
    hue, sat, val = (float(v) for v in bg)
    if val < 60:
        return None
    if sat < 60:
        return "white" if val > 80 else None  # a dim grey plate is a white one in poor light
    if 15 <= hue <= 40:
        return "yellow"
    if 95 <= hue <= 135:
        return "blue"
    if hue <= 8 or hue >= 165:
        return "red"
    return None
