"""The records and seams shared by the plate-reading parts.

``PlateReader`` is the small interface a better model can replace: it reads
the plates in one image region. ``Plate`` is a parsed, validated Vietnamese
plate. Everything else (detection in a scene, tracking, events) builds on
these two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]  # BGR, as OpenCV and PyAV's to_ndarray(format="bgr24") give it


@dataclass(frozen=True)
class Plate:
    """A Vietnamese plate, parsed and validated."""

    normalized: str  # "20A12345": upper case, no separators, Đ written D
    display: str  # "20A-123.45" (one line) or "20-B1 123.45" (two lines)
    province_code: str  # "20"
    province: str  # "Thái Nguyên"
    series: str  # "A", "B1", "LD", ...
    number: str  # "12345" or "1234"
    lines: int  # 1 or 2
    kind: str  # "car", "motorbike", or "special" (e.g. NG, LD series)
    repaired: tuple[str, ...] = ()  # OCR confusions fixed by position rules, e.g. ("8->B at 2",)


@dataclass(frozen=True)
class Reading:
    """One plate read from an image."""

    plate: Plate
    confidence: float  # 0..1
    box: tuple[int, int, int, int]  # x, y, w, h in the image given to the reader
    raw_text: str = ""  # what the OCR saw, before parsing
    colour: str | None = None  # "white", "yellow", "blue", "red" background, where visible
    notes: tuple[str, ...] = field(default_factory=tuple)
    votes: int = 1  # box and variant readings that agreed on this plate


class PlateReader(Protocol):
    """Reads plates; the implementation (RapidOCR today) is replaceable."""

    name: str

    def read(self, image: Image) -> list[Reading]:
        """Every plate found in ``image`` (a scene or a crop), best first."""
        ...
