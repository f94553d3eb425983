"""Vietnamese plates of Circular 58/2020 for the synthetic scene: random specs, drawn at real size."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from anpr_feed.provinces import PROVINCES
from tests.support.synth.text import PLATE_FONT, font, stamp

# The plate layouts of Circular 58/2020 this generator draws.
LAYOUTS: tuple[str, ...] = (
    "car_1line",  # 20A-123.45   (520 x 110 mm)
    "car_1line_old",  # 20A-1234     (older four-digit number)
    "car_2line",  # 20A / 123.45 (330 x 165 mm, square mounts, mostly rear)
    "moto_2line",  # 20-B1 / 123.45 (190 x 140 mm)
    "car_1line_2letter",  # 51LD-123.45 (two-letter series: LD, KT, ...)
    "moto_2line_2letter",  # 29-AA / 123.45 (mopeds under 50 cc) or 29-MĐ1 / 123.45 (electric)
)

PLATE_MM: dict[str, tuple[int, int]] = {
    "car_1line": (520, 110),
    "car_1line_old": (520, 110),
    "car_2line": (330, 165),
    "moto_2line": (190, 140),
    "car_1line_2letter": (520, 110),
    "moto_2line_2letter": (190, 140),
}

# Background, text (BGR). Yellow: commercial transport since Circular 58/2020; blue: state agencies.
PLATE_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "white": ((236, 240, 242), (20, 20, 20)),
    "yellow": ((40, 200, 240), (20, 20, 20)),
    "blue": ((150, 70, 20), (240, 240, 240)),
    "red": ((40, 40, 200), (240, 240, 240)),  # military: drawn for tests, not in scenes
}

CAR_SERIES = "ABCDEFGHKLMNPSTUVXYZ"  # no I, J, O, Q, R, W on domestic car plates
MOTO_SERIES = "BCDEFGHKLMNPSTUVXYZ"
TWO_LETTER_CAR = ("LD", "KT", "DA")
TWO_LETTER_MOTO = ("AA", "AB", "AC", "AD", "AE", "AF", "AH", "AK", "LA")

# Codes a civilian vehicle can carry (80 is the central registry's, with its own series).
PROVINCE_CODES: tuple[str, ...] = tuple(sorted(c for c in PROVINCES if c != "80"))


@dataclass(frozen=True)
class PlateSpec:
    """The plate a synthetic vehicle carries."""

    normalized: str  # "20A12345", as anpr_feed.types.Plate writes it (Đ as D)
    display: str  # "20A-123.45" or "20-B1 123.45"
    rows: tuple[str, ...]  # as printed: ("20A-123.45",) or ("20-B1", "123.45")
    layout: str  # one of LAYOUTS
    colour: str  # "white", "yellow", "blue" (or "red", never picked at random)
    province_code: str


def random_plate(rng: np.random.Generator, layout: str, colour: str | None = None) -> PlateSpec:
    """A plate of ``layout`` with a real province code and a random series and number."""
    code = str(rng.choice(PROVINCE_CODES))
    digits = "".join(str(d) for d in rng.integers(0, 10, 5))
    five = f"{digits[:3]}.{digits[3:]}"
    if layout == "car_1line":
        series = str(rng.choice(list(CAR_SERIES)))
        rows: tuple[str, ...] = (f"{code}{series}-{five}",)
        display, number = rows[0], digits
        default = str(rng.choice(["white", "white", "white", "yellow", "blue"]))
    elif layout == "car_1line_old":
        series = str(rng.choice(list(CAR_SERIES)))
        number = digits[:4]
        rows = (f"{code}{series}-{number}",)
        display = rows[0]
        default = str(rng.choice(["white", "white", "blue"]))
    elif layout == "car_2line":
        series = str(rng.choice(list(CAR_SERIES)))
        rows = (f"{code}{series}", five)
        display, number = f"{code}{series} {five}", digits
        default = str(rng.choice(["white", "yellow"]))
    elif layout == "moto_2line":
        series = str(rng.choice(list(MOTO_SERIES))) + str(rng.integers(1, 10))
        rows = (f"{code}-{series}", five)
        display, number = f"{code}-{series} {five}", digits
        default = "white"
    elif layout == "car_1line_2letter":
        series = str(rng.choice(TWO_LETTER_CAR))
        rows = (f"{code}{series}-{five}",)
        display, number = rows[0], digits
        default = "white"
    elif layout == "moto_2line_2letter":
        series = (
            "MĐ" + str(rng.integers(1, 10))
            if rng.random() < 0.3
            else str(rng.choice(TWO_LETTER_MOTO))
        )
        rows = (f"{code}-{series}", five)
        display, number = f"{code}-{series} {five}", digits
        default = "white"
    else:
        raise ValueError(f"unknown plate layout {layout!r}")
    normalized = (code + series + number).replace("Đ", "D")
    return PlateSpec(
        normalized=normalized,
        display=display,
        rows=rows,
        layout=layout,
        colour=colour or default,
        province_code=code,
    )


def render_plate(spec: PlateSpec, px_per_mm: float) -> np.ndarray:
    """The plate as a BGR picture at ``px_per_mm``: background, border, lettering."""
    w_mm, h_mm = PLATE_MM[spec.layout]
    w, h = max(8, round(w_mm * px_per_mm)), max(6, round(h_mm * px_per_mm))
    background, ink = PLATE_COLOURS[spec.colour]
    # Draw at 3x and shrink: anti-aliased lettering like a photographed plate.
    k = 3
    big = np.full((h * k, w * k, 3), background, np.uint8)
    border = max(2, round(4 * px_per_mm * k))
    inset = max(1, round(5 * px_per_mm * k))
    cv2.rectangle(big, (inset, inset), (w * k - inset, h * k - inset), ink, border)
    face = font(PLATE_FONT)
    margin_x = round(w * k * 0.06)
    if len(spec.rows) == 1:
        text_h = round(h * k * 0.70)
        mask = face.mask(spec.rows[0], text_h)
        stamp(big, mask, (margin_x, (h * k - text_h) // 2, w * k - 2 * margin_x, text_h), ink)
    else:
        text_h = round(h * k * 0.36)
        gap = round(h * k * 0.07)
        top = (h * k - 2 * text_h - gap) // 2
        for row, y in zip(spec.rows, (top, top + text_h + gap), strict=True):
            mask = face.mask(row, text_h)
            stamp(big, mask, (margin_x, y, w * k - 2 * margin_x, text_h), ink, max_stretch=1.35)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
