"""Text for the synthetic scene: plate and sign lettering as masks, stamped into pictures."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
PLATE_FONT = FONT_DIR / "LiberationSansNarrow-Bold.ttf"  # closest free face to the plate font
SIGN_FONT = FONT_DIR / "LiberationSans-Bold.ttf"


class TextRenderer:
    """Text as a grey mask, with a TrueType face where OpenCV 5 can load one.

    Without the font (or without ``cv2.FontFace``) it falls back to OpenCV's
    Hershey font, which has no Vietnamese letters: the text is then written
    without diacritics (Đ as D) rather than with question marks.
    """

    def __init__(self, path: Path) -> None:
        self.face: Any = None
        if hasattr(cv2, "FontFace") and path.is_file():
            face = cv2.FontFace(str(path))
            if face.getName():  # an unloadable file gives a face with no name, not an error
                self.face = face

    def mask(self, text: str, height: int) -> np.ndarray:
        """A tight uint8 mask of ``text`` whose capitals are about ``height`` px tall."""
        height = max(6, int(height))
        if self.face is None:
            text = _ascii(text)
            scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_DUPLEX, height, 2)
            thickness = max(1, height // 9)
            (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thickness)
            canvas = np.zeros((h + base + 8, w + 8), np.uint8)
            cv2.putText(
                canvas,
                text,
                (4, h + 4),
                cv2.FONT_HERSHEY_DUPLEX,
                scale,
                255,
                thickness,
                cv2.LINE_AA,
            )
        else:
            size = int(height * 1.4)  # the font size is the em; capitals are ~0.72 em
            canvas = np.zeros((size * 2, int(size * (len(text) + 2) * 0.7) + 16), np.uint8)
            cv2.putText(canvas, text, (8, int(size * 1.5)), 255, self.face, size)
        ys, xs = np.nonzero(canvas)
        if len(xs) == 0:
            return np.zeros((height, 1), np.uint8)
        return canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _ascii(text: str) -> str:
    """``text`` without diacritics (Đ as D), for a face with no Vietnamese letters."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


_FONTS: dict[Path, TextRenderer] = {}


def font(path: Path) -> TextRenderer:
    """The renderer of the face at ``path``, loaded once."""
    if path not in _FONTS:
        _FONTS[path] = TextRenderer(path)
    return _FONTS[path]


def stamp(
    image: np.ndarray,
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    colour: Sequence[int],
    max_stretch: float = 1.6,
) -> None:
    """Draw ``mask`` in ``colour`` fitted into ``box`` (x, y, w, h), centred.

    The mask is stretched to fill the box, but never distorted more than
    ``max_stretch`` in either direction, as plate and sign lettering is.
    """
    x, y, w, h = box
    mh, mw = mask.shape
    sx, sy = w / mw, h / mh
    if sx > sy * max_stretch:
        sx = sy * max_stretch
    elif sy > sx * max_stretch:
        sy = sx * max_stretch
    tw, th = max(1, round(mw * sx)), max(1, round(mh * sy))
    scaled = cv2.resize(mask, (tw, th), interpolation=cv2.INTER_AREA)
    ox, oy = x + (w - tw) // 2, y + (h - th) // 2
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + tw, image.shape[1]), min(oy + th, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    alpha = scaled[y0 - oy : y1 - oy, x0 - ox : x1 - ox].astype(np.float32)[..., None] / 255.0
    region = image[y0:y1, x0:x1]
    channels = region.shape[2]
    ink = np.array(list(colour)[:channels], np.float32)
    if channels == 4:
        ink[3] = 255.0
    region[:] = (region * (1 - alpha) + ink * alpha).astype(np.uint8)
