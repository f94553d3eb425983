"""Drawing on the checkpoint picture: plate boxes, readings, the alert banner.

Labels are Vietnamese (province names, the banner), so text is drawn with a
TrueType face through OpenCV 5's ``cv2.FontFace``; where no font can be
loaded it falls back to OpenCV's built-in Hershey font with the diacritics
dropped (``Thái Nguyên`` -> ``Thai Nguyen``) rather than question marks.
Everything here is a few small rectangles and short strings per frame
(well under a millisecond at 720p), so annotation fits the real-time budget.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from anpr_feed.types import Image

FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)

GREEN = (60, 200, 60)
AMBER = (0, 190, 255)
RED = (40, 40, 230)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def ascii_fold(text: str) -> str:
    """``text`` without Vietnamese diacritics (Đ as D), for fonts that lack them."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


class Painter:
    """Text and boxes on BGR pictures, Vietnamese-capable when a TrueType font exists."""

    def __init__(self, font_paths: tuple[Path, ...] = FONT_PATHS) -> None:
        self.face: Any = None
        if hasattr(cv2, "FontFace"):
            for path in font_paths:
                if path.is_file():
                    face = cv2.FontFace(str(path))
                    if face.getName():  # an unloadable file gives a nameless face, not an error
                        self.face = face
                        break

    def text_size(self, text: str, size: int) -> tuple[int, int]:
        """Width and height (px) of ``text`` drawn ``size`` px tall."""
        if self.face is not None:
            rect = cv2.getTextSize((0, 0), text, (0, 0), self.face, size)
            return int(rect[2]), int(size)
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, size, 1)
        (w, _), _ = cv2.getTextSize(ascii_fold(text), cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        return int(w), int(size)

    def text(
        self, image: Image, text: str, org: tuple[int, int], size: int, colour: tuple[int, int, int]
    ) -> None:
        """Draw ``text`` with its baseline-left corner at ``org``, capitals ~``size`` px tall."""
        if self.face is not None:
            # The face size is the em; capitals are about 0.72 of it.
            cv2.putText(image, text, org, colour, self.face, round(size / 0.72))
            return
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, size, 2)
        cv2.putText(
            image,
            ascii_fold(text),
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            max(1, size // 10),
            cv2.LINE_AA,
        )

    def label(
        self,
        image: Image,
        box: tuple[int, int, int, int],
        lines: list[str],
        colour: tuple[int, int, int],
        size: int = 16,
    ) -> None:
        """A plate box with ``lines`` in a filled tag above it (below if no room)."""
        x, y, w, h = box
        thickness = 2 if w < 200 else 3
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness)
        if not lines:
            return
        pad = max(3, size // 4)
        line_h = round(size * 1.45)
        width = max(self.text_size(line, size)[0] for line in lines) + 2 * pad
        height = line_h * len(lines) + pad
        top = y - height - 2
        if top < 0:
            top = min(y + h + 2, image.shape[0] - height)
        left = max(0, min(x, image.shape[1] - width))
        _fill(image, left, top, width, height, colour, 0.85)
        ink = BLACK if colour != RED else WHITE
        for i, line in enumerate(lines):
            self.text(image, line, (left + pad, top + (i + 1) * line_h - pad // 2 - 2), size, ink)

    def banner(self, image: Image, text: str, size: int = 22) -> None:
        """A red band across the top of the picture with ``text`` in white."""
        height = round(size * 2.0)
        _fill(image, 0, 0, image.shape[1], height, RED, 0.88)
        w, _ = self.text_size(text, size)
        if w > image.shape[1] - 20:  # too long: cut, keep the start (the plate)
            keep = max(8, int(len(text) * (image.shape[1] - 40) / w))
            text = text[:keep] + "…"
        self.text(image, text, (12, round(height / 2 + size / 2)), size, WHITE)


def _fill(
    image: Image, x: int, y: int, w: int, h: int, colour: tuple[int, int, int], opacity: float
) -> None:
    """Blend a filled rectangle (clipped to the picture)."""
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.shape[1], x + w), min(image.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    region = image[y0:y1, x0:x1]
    if opacity >= 1.0:
        region[:] = colour
        return
    solid = np.empty_like(region)
    solid[:] = colour
    cv2.addWeighted(solid, opacity, region, 1 - opacity, 0, dst=region)
