"""The road under the checkpoint camera, drawn once per scene."""

from __future__ import annotations

import cv2
import numpy as np

from tests.support.synth.camera import Camera
from tests.support.synth.signs import paint_on_road


def draw_road(
    cam: Camera, w: int, h: int, rng: np.random.Generator, painted_words: bool
) -> np.ndarray:
    """The empty road as the camera sees it (BGR): lanes, markings, texture, far haze.

    ``painted_words``: also the words painted on the lanes (text that is not a plate).
    """
    rows = np.arange(h, dtype=np.float32)
    z_rows = cam.focal * cam.mount_m / np.maximum(rows - cam.horizon_y, 1.0)
    # Road, shoulder and verge as the X each pixel lands on.
    xs = (np.arange(w, dtype=np.float32) - w / 2)[None, :] * z_rows[:, None] / cam.focal
    img = np.empty((h, w, 3), np.float32)
    road = np.array([92, 94, 96], np.float32)
    shoulder = np.array([140, 145, 150], np.float32)
    verge = np.array([60, 120, 80], np.float32)
    ax = np.abs(xs)[..., None]
    img[:] = np.where(ax < 3.6, road, np.where(ax < 5.0, shoulder, verge))
    texture = rng.normal(0, 6, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
    texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)
    img += texture[..., None]
    haze = (1 - rows / h)[:, None, None] * 25  # far road paler
    img += haze
    # Markings: double yellow centre line, dashed lane edges, solid edge lines,
    # a rumble strip band and painted words, all on the road plane.
    z_of_row = z_rows[:, None]
    yellow = np.array([40, 190, 220], np.float32)
    white = np.array([225, 228, 230], np.float32)
    for x_line, width_m, colour, dashed in (
        (-0.12, 0.12, yellow, False),
        (0.12, 0.12, yellow, False),
        (-3.1, 0.15, white, True),
        (3.1, 0.15, white, True),
        (-3.6, 0.2, white, False),
        (3.6, 0.2, white, False),
    ):
        mask = np.abs(xs - x_line) < width_m / 2
        if dashed:
            mask &= (z_of_row % 12.0) < 6.0
        img[mask] = colour
    strip = ((z_of_row > 33) & (z_of_row < 35) & ((z_of_row * 4) % 1.0 < 0.5)) & (np.abs(xs) < 3.5)
    img[strip] = np.array([200, 205, 210], np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if painted_words:
        paint_on_road(out, cam, "CHẬM LẠI", -1.55, 38.0, 44.0, 2.4)
        paint_on_road(out, cam, "60", 1.55, 24.0, 27.5, 1.6)
    return out
