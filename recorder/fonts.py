"""The TrueType font that composites write site names with, and text rasterized with it.

Site names are Vietnamese ("Ủy ban nhân dân xã Tân Cương"): they need a font
with the Latin Extended Additional block, which DejaVu Sans and Liberation
Sans have (Debian: ``fonts-dejavu-core``, ``fonts-liberation``). Pillow's
built-in bitmap font has none of it, so there is no silent fallback: without
a usable font, :func:`find_font` raises :class:`FontNotFoundError` saying what
to install. The search itself is shared with the minutes' PDF
(:mod:`conference.fonts`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from conference.fonts import (
    FONT_ENV,
    FONT_ROOT,
    VIETNAMESE_PROBE,
    FontNotFoundError,
    search_font,
)

__all__ = ["FONT_ENV", "FONT_ROOT", "FontNotFoundError", "find_font", "fit_text", "text_mask"]

# Bold reads better over video; regular faces come next, then anything from the
# same families further down the tree (other distributions' layouts).
_CANDIDATES = (
    "truetype/dejavu/DejaVuSans-Bold.ttf",
    "truetype/liberation2/LiberationSans-Bold.ttf",
    "truetype/liberation/LiberationSans-Bold.ttf",
    "truetype/dejavu/DejaVuSans.ttf",
    "truetype/liberation2/LiberationSans-Regular.ttf",
    "truetype/liberation/LiberationSans-Regular.ttf",
)
_PATTERNS = (
    "DejaVuSans-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
)

_TALL = "ẤẪỸỮgjpqy"

UInt8Array = npt.NDArray[np.uint8]


def find_font(root: Path = FONT_ROOT) -> Path:
    """The font file to write labels with.

    ``$CONFERENCE_RENDER_FONT`` if set, else DejaVu Sans or Liberation Sans
    (bold preferred) under ``root``.
    """
    return search_font(
        root, _CANDIDATES, _PATTERNS, _check_font, "the composite's site names", env=FONT_ENV
    )


@lru_cache(maxsize=8)
def _check_font(path: Path) -> Path:
    try:
        font = ImageFont.truetype(str(path), 16)
    except OSError as error:
        raise FontNotFoundError(f"cannot load font {path}: {error}") from error
    # A glyph missing from the font shows as the .notdef box: every missing
    # letter then renders identically, which a font with the block never does.
    masks = {bytes(np.asarray(_mask(font, letter))) for letter in VIETNAMESE_PROBE[:12]}
    if len(masks) < 6:
        raise FontNotFoundError(f"font {path} has no Vietnamese letters")
    return path


@lru_cache(maxsize=64)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    """The label font at ``size`` pixels (cached: composites reuse a few sizes)."""
    return ImageFont.truetype(str(find_font()), size)


def _mask(font: ImageFont.FreeTypeFont, text: str) -> Image.Image:
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(image).text((-left, -top), text, font=font, fill=255)
    return image


def fit_text(text: str, size: int, max_width: int) -> str:
    """``text`` (NFC) at most ``max_width`` wide, its beginning replaced by an ellipsis.

    The end is kept because unit names differ at the end: "Ủy ban nhân dân
    xã Tân Cương" and "Ủy ban nhân dân xã Phúc Xuân" both start alike.
    """
    font = load_font(size)
    text = unicodedata.normalize("NFC", text.strip())
    if font.getlength(text) <= max_width:
        return text
    # Binary search on the number of characters kept: names can be long.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength("…" + text[len(text) - middle :].lstrip()) <= max_width:
            low = middle
        else:
            high = middle - 1
    return "…" + text[len(text) - low :].lstrip() if low else "…"


def text_mask(text: str, size: int, max_width: int | None = None) -> UInt8Array:
    """Coverage (0-255) of ``text`` written at ``size`` px, height = the font's line height.

    Normalized to NFC so names typed with combining accents render like
    precomposed ones; cut with an ellipsis to ``max_width`` if given.
    """
    font = load_font(size)
    text = (
        fit_text(text, size, max_width)
        if max_width is not None
        else unicodedata.normalize("NFC", text)
    )
    # Stacked accents on capitals (Ấ, Ẫ) rise above the font's ascent: size the
    # line by the tallest Vietnamese letters so every label gets the same height
    # and nothing is clipped.
    _, top, _, bottom = (int(v) for v in font.getbbox(_TALL + text))
    width = max(1, int(np.ceil(font.getlength(text))))
    image = Image.new("L", (width, bottom - top), 0)
    ImageDraw.Draw(image).text((0, -top), text, font=font, fill=255)
    return np.asarray(image, dtype=np.uint8).copy()
