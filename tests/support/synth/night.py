"""The checkpoint at night: darkness, retro-reflecting plates, headlight glare."""

from __future__ import annotations

import cv2
import numpy as np

from tests.support.synth.compositing import Light


def darken(frame: np.ndarray, reflect: np.ndarray | None, lights: list[Light]) -> np.ndarray:
    """The picture at night: dark but for plates and lit signs (``reflect``), lights glaring."""
    height, width = frame.shape[:2]
    gain = 0.22 + 0.58 * (reflect if reflect is not None else 0.0)  # plates and lit signs
    out = frame.astype(np.float32) * np.asarray(gain, np.float32)[..., None]
    glow = np.zeros((height // 4, width // 4, 3), np.float32)
    for x, y, r, colour in lights:
        cx, cy = int(x / 4), int(y / 4)
        radius = max(1, int(r * 1.6 / 4))
        strength = 1.0 if colour[2] > 200 and colour[0] > 200 else 0.55  # red tail lights glow less
        c = tuple(float(ch) * strength for ch in colour)
        cv2.circle(glow, (cx, cy), radius, c, -1, cv2.LINE_AA)
        # A thin horizontal streak: the lens flare of a headlight.
        cv2.ellipse(
            glow, (cx, cy), (radius * 3, max(1, radius // 4)), 0, 0, 360, c, -1, cv2.LINE_AA
        )
    glow = cv2.GaussianBlur(glow, (0, 0), 2.0)
    glow = cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)
    out += glow * 0.8
    return np.clip(out, 0, 255).astype(np.uint8)
