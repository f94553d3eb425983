"""Synthetic checkpoint video with known truth, to measure plate reading end to end.

The scene is what an ANPR camera on a gantry sees: a long lens looking down a
two-way road, vehicles coming towards it in the left lane (front plates:
cars, trucks, coaches) and going away in the right lane (rear plates: cars
and motorbikes). Each vehicle carries a Vietnamese plate of one of the
layouts of Circular 58/2020 (:data:`LAYOUTS`) with a real registration-area
code, in the colours of its use (white private, yellow commercial, blue
state). The plate is drawn at its real size in millimetres on a vehicle of
real size, so its size on screen follows from the camera geometry (about
60-170 px wide where it is largest for a 1280 px frame), and it goes through
what a real camera does to it: perspective and a slight roll, motion blur
from the vehicle's speed and the exposure time, sensor noise, compression,
and at night darkness, headlight glare and retro-reflection.

The scene also holds text that must **not** be read as a plate: shop and
road signs, a speed-limit sign, a billboard advertising a plate auction
(plate-shaped text on a sign that never moves), lettering and phone numbers
on trucks and coaches, words painted on the road, and the camera's own
on-screen display with a running clock.

Usage::

    truth = generate("clip.mp4", seconds=20, seed=7, vehicles_per_minute=30)

writes the video (H.264 for ``.mp4``/``.mkv``, VP8 for ``.webm``) and returns
a :class:`VehicleTruth` per vehicle: the plate (normalised as
:class:`anpr_feed.types.Plate` writes it), layout, colour, the frames where
the plate is in view and its box in every one of them. Everything is
deterministic for a seed. :class:`CheckpointScene` gives the frames and the
truth without writing a file.
"""

from __future__ import annotations

import fractions
import math
import os
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from anpr_feed.provinces import PROVINCES
from anpr_feed.types import Image

FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
PLATE_FONT = FONT_DIR / "LiberationSansNarrow-Bold.ttf"  # closest free face to the plate font
SIGN_FONT = FONT_DIR / "LiberationSans-Bold.ttf"

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


@dataclass
class VehicleTruth:
    """What the camera saw of one vehicle, frame by frame."""

    id: int
    kind: str  # "car", "truck", "coach", "motorbike"
    direction: str  # "approaching" (front plate) or "receding" (rear plate)
    plate: PlateSpec
    speed_kmh: float
    entry_frame: int  # first frame with any of the plate in the picture
    exit_frame: int  # last such frame
    boxes: dict[
        int, tuple[int, int, int, int]
    ]  # frame -> plate box x, y, w, h (clipped to the frame)
    full_frames: tuple[int, ...]  # frames where the whole plate is in the picture, not covered
    lettering: tuple[str, ...] = ()  # other text on the vehicle (not a plate)

    @property
    def max_plate_width(self) -> int:
        """The widest the plate is on screen, in pixels."""
        return max((self.boxes[i][2] for i in self.full_frames), default=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (frame keys as strings)."""
        out = asdict(self)
        out["boxes"] = {str(k): list(v) for k, v in self.boxes.items()}
        out["full_frames"] = list(self.full_frames)
        return out


# ---------------------------------------------------------------------------- text


class _TextRenderer:
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
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


_FONTS: dict[Path, _TextRenderer] = {}


def _font(path: Path) -> _TextRenderer:
    if path not in _FONTS:
        _FONTS[path] = _TextRenderer(path)
    return _FONTS[path]


def _stamp(
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


# ---------------------------------------------------------------------------- plates


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
    font = _font(PLATE_FONT)
    margin_x = round(w * k * 0.06)
    if len(spec.rows) == 1:
        text_h = round(h * k * 0.70)
        mask = font.mask(spec.rows[0], text_h)
        _stamp(big, mask, (margin_x, (h * k - text_h) // 2, w * k - 2 * margin_x, text_h), ink)
    else:
        text_h = round(h * k * 0.36)
        gap = round(h * k * 0.07)
        top = (h * k - 2 * text_h - gap) // 2
        for row, y in zip(spec.rows, (top, top + text_h + gap), strict=True):
            mask = font.mask(row, text_h)
            _stamp(big, mask, (margin_x, y, w * k - 2 * margin_x, text_h), ink, max_stretch=1.35)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------- camera


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on a gantry, looking down the road through a long lens.

    World: X metres to the right of the camera, U metres above the road, Z
    metres ahead. The lens is long (ANPR cameras use 12-50 mm), so the
    picture covers the road from about 17 m (bottom row) to 48 m (top row)
    and a plate crosses it in 1-2 s at 50-100 km/h.
    """

    width: int
    height: int
    focal: float  # px
    mount_m: float  # camera height above the road
    horizon_y: float  # image row of the horizon (above the picture: negative)

    @classmethod
    def default(cls, width: int, height: int, zoom: float = 1.0) -> Camera:
        """The geometry every synthetic scene uses, scaled to the frame size."""
        focal = 3.9 * width * zoom
        mount = 4.0
        nearest_ground = 17.6 * (height / width) / (720 / 1280)  # m at the bottom row
        return cls(width, height, focal, mount, height - focal * mount / nearest_ground)

    def project(self, x_m: float, u_m: float, z_m: float) -> tuple[float, float]:
        """Image point of world point (X, U, Z)."""
        return (
            self.width / 2 + self.focal * x_m / z_m,
            self.horizon_y + self.focal * (self.mount_m - u_m) / z_m,
        )

    def z_at_row(self, y: float, u_m: float) -> float:
        """Distance at which a point ``u_m`` above the road is on image row ``y``."""
        return self.focal * (self.mount_m - u_m) / max(y - self.horizon_y, 1e-6)


# ---------------------------------------------------------------------------- vehicles

SPRITE_PX_PER_M = 400.0

BODY_COLOURS: tuple[tuple[int, int, int], ...] = (
    (235, 235, 235),
    (190, 192, 195),
    (40, 40, 42),
    (30, 30, 170),
    (140, 80, 30),
    (90, 90, 95),
    (60, 120, 60),
    (200, 200, 205),
)
JACKET_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 40),
    (120, 60, 20),
    (30, 90, 150),
    (70, 110, 70),
    (150, 150, 150),
    (40, 40, 150),
)

# Lettering on trucks and coaches: names, hotlines, phone numbers. Not plates.
LETTERING: tuple[tuple[str, str], ...] = (
    ("PHƯƠNG TRANG", "1900 6067"),
    ("VẬN TẢI HOÀNG LONG", "0912.345.678"),
    ("THÀNH BƯỞI", "1900 6079"),
    ("XE KHÁCH SAO VIỆT", "0983.113.115"),
    ("CHUYỂN PHÁT NHANH", "HOTLINE 1900 1234"),
    ("HÀ NỘI - THÁI NGUYÊN", "0208.3855.123"),
)


@dataclass
class _Sprite:
    """A vehicle's face (front or rear) as BGRA, with where its plate and lights are."""

    image: np.ndarray  # BGRA, SPRITE_PX_PER_M
    width_m: float
    height_m: float
    plate_rect: tuple[int, int, int, int]  # x, y, w, h in sprite pixels
    lights: list[tuple[float, float, float]] = field(default_factory=list)  # x px, y px, radius px
    light_colour: tuple[int, int, int] = (255, 255, 255)


def _sx(x_m: float, width_m: float) -> int:
    return round((x_m + width_m / 2) * SPRITE_PX_PER_M)


def _sy(u_m: float, height_m: float) -> int:
    return round((height_m - u_m) * SPRITE_PX_PER_M)


def _rect(img: np.ndarray, w_m: float, h_m: float, x0: float, u0: float, x1: float, u1: float,
          colour: Sequence[int]) -> None:  # fmt: skip
    cv2.rectangle(
        img,
        (_sx(x0, w_m), _sy(u1, h_m)),
        (_sx(x1, w_m), _sy(u0, h_m)),
        (*colour[:3], 255),
        -1,
        cv2.LINE_AA,
    )


def _poly(img: np.ndarray, w_m: float, h_m: float, points: Sequence[tuple[float, float]],
          colour: Sequence[int]) -> None:  # fmt: skip
    pts = np.array([[_sx(x, w_m), _sy(u, h_m)] for x, u in points], np.int32)
    cv2.fillPoly(img, [pts], (*colour[:3], 255), cv2.LINE_AA)


def _lettering(img: np.ndarray, w_m: float, h_m: float, text: str, x0: float, u0: float,
               x1: float, u1: float, colour: Sequence[int]) -> None:  # fmt: skip
    box = (_sx(x0, w_m), _sy(u1, h_m), _sx(x1, w_m) - _sx(x0, w_m), _sy(u0, h_m) - _sy(u1, h_m))
    _stamp(img, _font(SIGN_FONT).mask(text, box[3]), box, (*colour[:3], 255), max_stretch=1.3)


def _place_plate(img: np.ndarray, w_m: float, h_m: float, plate: np.ndarray, x_m: float,
                 u_m: float) -> tuple[int, int, int, int]:  # fmt: skip
    ph, pw = plate.shape[:2]
    x = _sx(x_m, w_m) - pw // 2
    y = _sy(u_m, h_m) - ph // 2
    img[y : y + ph, x : x + pw, :3] = plate
    img[y : y + ph, x : x + pw, 3] = 255
    return (x, y, pw, ph)


def _car_sprite(
    rng: np.random.Generator, plate: np.ndarray, front: bool, plate_mm: tuple[int, int]
) -> _Sprite:
    w_m, h_m = 1.8, 1.5
    img = np.zeros((round(h_m * SPRITE_PX_PER_M), round(w_m * SPRITE_PX_PER_M), 4), np.uint8)
    body = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
    dark = tuple(int(c * 0.55) for c in body)
    _rect(img, w_m, h_m, -0.78, 0.0, -0.55, 0.32, (25, 25, 25))  # tyres
    _rect(img, w_m, h_m, 0.55, 0.0, 0.78, 0.32, (25, 25, 25))
    _poly(img, w_m, h_m, [(-0.9, 0.22), (0.9, 0.22), (0.9, 0.9), (-0.9, 0.9)], body)
    _poly(img, w_m, h_m, [(-0.86, 0.9), (0.86, 0.9), (0.62, 1.45), (-0.62, 1.45)], body)
    _poly(img, w_m, h_m, [(-0.78, 0.93), (0.78, 0.93), (0.58, 1.38), (-0.58, 1.38)], (70, 55, 50))
    _rect(img, w_m, h_m, -0.9, 0.22, 0.9, 0.34, dark)  # bumper
    lights: list[tuple[float, float, float]] = []
    if front:
        _rect(img, w_m, h_m, -0.42, 0.55, 0.42, 0.74, (35, 35, 35))  # grille
        for u in (0.6, 0.66):
            _rect(img, w_m, h_m, -0.4, u, 0.4, u + 0.015, (90, 90, 90))
        for side in (-1, 1):
            _rect(img, w_m, h_m, side * 0.5, 0.66, side * 0.82, 0.78, (215, 235, 240))
            lights.append((_sx(side * 0.66, w_m), _sy(0.72, h_m), 0.12 * SPRITE_PX_PER_M))
        plate_u = 0.42 if plate_mm[1] < 150 else 0.46
        colour = (255, 250, 235)
    else:
        for side in (-1, 1):
            _rect(img, w_m, h_m, side * 0.58, 0.7, side * 0.86, 0.82, (30, 30, 190))
            lights.append((_sx(side * 0.72, w_m), _sy(0.76, h_m), 0.08 * SPRITE_PX_PER_M))
        plate_u = 0.52 if plate_mm[1] < 150 else 0.56
        colour = (60, 60, 255)
    rect = _place_plate(img, w_m, h_m, plate, float(rng.uniform(-0.05, 0.05)), plate_u)
    return _Sprite(img, w_m, h_m, rect, lights, colour)


def _big_sprite(
    rng: np.random.Generator, plate: np.ndarray, kind: str
) -> tuple[_Sprite, tuple[str, ...]]:
    """A truck or coach seen from the front, with its lettering."""
    w_m, h_m = (2.4, 3.1) if kind == "truck" else (2.5, 3.3)
    img = np.zeros((round(h_m * SPRITE_PX_PER_M), round(w_m * SPRITE_PX_PER_M), 4), np.uint8)
    body = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
    name, phone = LETTERING[int(rng.integers(len(LETTERING)))]
    ink = (20, 20, 20) if sum(body) > 400 else (240, 240, 240)
    _rect(img, w_m, h_m, -1.05, 0.0, -0.75, 0.45, (25, 25, 25))
    _rect(img, w_m, h_m, 0.75, 0.0, 1.05, 0.45, (25, 25, 25))
    _rect(img, w_m, h_m, -w_m / 2, 0.3, w_m / 2, h_m, body)
    _rect(img, w_m, h_m, -w_m / 2 + 0.1, 1.45, w_m / 2 - 0.1, 2.55, (75, 60, 55))  # windscreen
    _rect(img, w_m, h_m, -w_m / 2, 0.3, w_m / 2, 0.5, (45, 45, 45))  # bumper
    lettering = (name, phone)
    _lettering(img, w_m, h_m, name, -w_m / 2 + 0.15, 2.68, w_m / 2 - 0.15, 2.98, ink)
    _lettering(img, w_m, h_m, phone, -0.8, 0.95, 0.8, 1.2, ink)
    lights: list[tuple[float, float, float]] = []
    for side in (-1, 1):
        _rect(img, w_m, h_m, side * 0.85, 0.62, side * 1.15, 0.8, (215, 235, 240))
        lights.append((_sx(side * 1.0, w_m), _sy(0.71, h_m), 0.14 * SPRITE_PX_PER_M))
    rect = _place_plate(img, w_m, h_m, plate, float(rng.uniform(-0.1, 0.1)), 0.6)
    return _Sprite(img, w_m, h_m, rect, lights, (255, 250, 235)), lettering


def _moto_sprite(rng: np.random.Generator, plate: np.ndarray) -> _Sprite:
    """A motorbike and its rider seen from behind."""
    w_m, h_m = 0.8, 1.75
    img = np.zeros((round(h_m * SPRITE_PX_PER_M), round(w_m * SPRITE_PX_PER_M), 4), np.uint8)
    jacket = JACKET_COLOURS[int(rng.integers(len(JACKET_COLOURS)))]
    helmet = BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))]
    _rect(img, w_m, h_m, -0.07, 0.0, 0.07, 0.55, (25, 25, 25))  # rear tyre
    _poly(img, w_m, h_m, [(-0.16, 0.55), (0.16, 0.55), (0.2, 0.95), (-0.2, 0.95)], (50, 50, 55))
    _poly(img, w_m, h_m, [(-0.26, 0.9), (0.26, 0.9), (0.24, 1.48), (-0.24, 1.48)], jacket)
    _rect(img, w_m, h_m, -0.36, 0.55, -0.2, 1.2, (40, 40, 40))  # legs and feet on pegs
    _rect(img, w_m, h_m, 0.2, 0.55, 0.36, 1.2, (40, 40, 40))
    centre = (_sx(0.0, w_m), _sy(1.6, h_m))
    cv2.circle(img, centre, round(0.14 * SPRITE_PX_PER_M), (*helmet, 255), -1, cv2.LINE_AA)
    _rect(img, w_m, h_m, -0.06, 0.9, 0.06, 0.96, (30, 30, 200))  # tail light
    rect = _place_plate(img, w_m, h_m, plate, 0.0, 0.74)
    light = (_sx(0.0, w_m), _sy(0.93, h_m), 0.06 * SPRITE_PX_PER_M)
    return _Sprite(img, w_m, h_m, rect, [light], (60, 60, 255))


@dataclass
class _Vehicle:
    truth: VehicleTruth
    sprite: _Sprite
    x_m: float
    speed: float  # m/s
    sign: int  # -1 approaching (Z falls), +1 receding
    z0: float  # Z at t0
    t0: float
    t1: float
    yaw: float  # radians
    roll: float  # degrees

    def z(self, t: float) -> float:
        return self.z0 + self.sign * self.speed * (t - self.t0)

    def homography(self, camera: Camera, t: float) -> np.ndarray:
        """Sprite pixels -> image pixels at time ``t``."""
        z = self.z(t)
        s = self.sprite
        w_px, h_px = s.image.shape[1], s.image.shape[0]
        src, dst = [], []
        for px, py in ((0, 0), (w_px, 0), (w_px, h_px), (0, h_px)):
            lx = px / SPRITE_PX_PER_M - s.width_m / 2
            u = s.height_m - py / SPRITE_PX_PER_M
            dst.append(
                camera.project(self.x_m + lx * math.cos(self.yaw), u, z + lx * math.sin(self.yaw))
            )
            src.append((px, py))
        _px, py_, _pw, ph = s.plate_rect
        pivot = camera.project(self.x_m, s.height_m - (py_ + ph / 2) / SPRITE_PX_PER_M, z)
        rot = cv2.getRotationMatrix2D(pivot, self.roll, 1.0)
        dst_arr = np.hstack([np.array(dst, np.float64), np.ones((4, 1))]) @ rot.T
        return cv2.getPerspectiveTransform(
            np.asarray(src, np.float32), np.asarray(dst_arr, np.float32)
        )


def _transform(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.hstack([points, np.ones((len(points), 1))]) @ h.T
    return p[:, :2] / p[:, 2:3]


# ---------------------------------------------------------------------------- the scene


@dataclass(frozen=True)
class _Overlay:
    """A sign in front of the road (BGR picture at a fixed place)."""

    image: np.ndarray
    x: int
    y: int
    lit: bool  # lit at night (shop signs), or only reflective
    texts: tuple[str, ...]


class CheckpointScene:
    """A checkpoint camera's picture over time, and what is in it.

    ``truth`` is computed from the geometry before anything is drawn;
    ``frames()`` renders the pictures (BGR, ``height`` x ``width``).
    """

    def __init__(
        self,
        seconds: float,
        fps: int = 25,
        width: int = 1280,
        height: int = 720,
        seed: int = 0,
        vehicles_per_minute: float = 20.0,
        night: bool = False,
        layouts: Sequence[str] = LAYOUTS,
        zoom: float = 1.0,
        exposure: float | None = None,
        noise: float | None = None,
        distractors: bool = True,
        clock_start: float = 1_795_000_000.0,
    ) -> None:
        self.seconds = seconds
        self.fps = fps
        self.width = width
        self.height = height
        self.seed = seed
        self.night = night
        self.frame_count = round(seconds * fps)
        self.camera = Camera.default(width, height, zoom)
        # Shutter: ANPR cameras keep it short by day; at night it opens up and blurs more.
        self.exposure = exposure if exposure is not None else (1 / 250 if night else 1 / 500)
        self.noise = noise if noise is not None else (6.0 if night else 3.0)
        self.distractors = distractors
        self.clock_start = clock_start
        rng = np.random.default_rng(seed)
        self._vehicles = self._schedule(rng, vehicles_per_minute, list(layouts))
        self._background = self._draw_background(np.random.default_rng(seed + 1))
        self._overlays = self._draw_overlays() if distractors else []
        self.truth: list[VehicleTruth] = [v.truth for v in self._vehicles]
        self._compute_truth()

    # -- the traffic --

    def _schedule(
        self, rng: np.random.Generator, per_minute: float, layouts: list[str]
    ) -> list[_Vehicle]:
        camera = self.camera
        count = max(1, round(per_minute * self.seconds / 60))
        order: list[str] = []
        while len(order) < count:  # every layout in turn, shuffled: all of them show up
            batch = list(layouts)
            rng.shuffle(batch)
            order.extend(batch)
        order = order[:count]
        # Arrivals spread over the clip with jitter; the last must leave before it ends.
        vehicles: list[_Vehicle] = []
        lane_free: dict[int, list[tuple[float, float, float, float]]] = {-1: [], 1: []}
        usable = max(self.seconds - 2.6, 1.0)
        for index, layout in enumerate(order):
            moto = layout.startswith("moto")
            if moto:
                sign, kind = 1, "motorbike"
            elif layout == "car_2line":
                sign, kind = 1, "car"  # square plates are mostly on the rear
            else:
                sign = -1 if rng.random() < 0.8 else 1
                kind = "car"
                if sign < 0 and rng.random() < 0.3:
                    kind = "truck" if rng.random() < 0.5 else "coach"
            colour = (
                "yellow" if kind in ("truck", "coach") and layout.startswith("car_1line") else None
            )
            plate = random_plate(rng, layout, colour)
            speed_kmh = float(
                rng.uniform(35, 60)
                if moto
                else rng.uniform(50, 80)
                if kind != "car"
                else rng.uniform(60, 100)
            )
            speed = speed_kmh / 3.6
            mm = PLATE_MM[layout]
            plate_img = render_plate(plate, SPRITE_PX_PER_M / 1000)
            lettering: tuple[str, ...] = ()
            if kind == "motorbike":
                sprite = _moto_sprite(rng, plate_img)
                x_m = float(rng.uniform(0.9, 1.6))
            elif kind == "car":
                sprite = _car_sprite(rng, plate_img, front=sign < 0, plate_mm=mm)
                x_m = sign * float(rng.uniform(1.3, 1.7))
            else:
                sprite, lettering = _big_sprite(rng, plate_img, kind)
                x_m = -float(rng.uniform(1.45, 1.7))
            plate_u = (
                sprite.height_m
                - (sprite.plate_rect[1] + sprite.plate_rect[3] / 2) / SPRITE_PX_PER_M
            )
            z_top = camera.z_at_row(-40, 0.0)  # beyond this the whole vehicle is above the picture
            z_exit = camera.z_at_row(self.height + 30, plate_u)  # the plate is below the picture
            near = z_exit * 0.9
            far = z_top + 2.0
            duration = (far - near) / speed
            slot = (index + float(rng.uniform(0.1, 0.9))) * usable / count
            start = slot
            # Keep a lane's vehicles 14 m apart all through the picture (no overtaking here).
            for _ in range(200):
                if all(self._clear(start, duration, o) for o in lane_free[sign]):
                    break
                start += 0.1
            lane_free[sign].append((start, duration, near, far))
            z0 = far if sign < 0 else near
            truth = VehicleTruth(
                id=index + 1,
                kind=kind,
                direction="approaching" if sign < 0 else "receding",
                plate=plate,
                speed_kmh=round(speed_kmh, 1),
                entry_frame=-1,
                exit_frame=-1,
                boxes={},
                full_frames=(),
                lettering=lettering,
            )
            vehicles.append(
                _Vehicle(
                    truth=truth,
                    sprite=sprite,
                    x_m=x_m,
                    speed=speed,
                    sign=sign,
                    z0=z0,
                    t0=start,
                    t1=start + duration,
                    yaw=math.radians(float(rng.uniform(-8, 8))),
                    roll=float(rng.uniform(-3, 3)),
                )
            )
        return vehicles

    @staticmethod
    def _clear(start: float, duration: float, other: tuple[float, float, float, float]) -> bool:
        o_start, o_duration, near, far = other
        # Same direction, both move through [near, far]; enough if the later one starts
        # once the earlier has gone 14 m plus the difference it could make up.
        if start >= o_start + o_duration or o_start >= start + duration:
            return True
        gap_time = 14.0 / ((far - near) / max(o_duration, duration))
        return abs(start - o_start) >= gap_time + abs(duration - o_duration)

    def _compute_truth(self) -> None:
        w, h = self.width, self.height
        for index in range(self.frame_count):
            t = index / self.fps
            active = [v for v in self._vehicles if v.t0 <= t <= v.t1]
            quads: dict[int, np.ndarray] = {}
            for v in active:
                hom = v.homography(self.camera, t)
                sw, sh = v.sprite.image.shape[1], v.sprite.image.shape[0]
                quads[v.truth.id] = _transform(
                    hom, np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float)
                )
            for v in active:
                hom = v.homography(self.camera, t)
                x, y, pw, ph = v.sprite.plate_rect
                corners = _transform(
                    hom, np.array([[x, y], [x + pw, y], [x + pw, y + ph], [x, y + ph]], float)
                )
                x0, y0 = corners.min(axis=0)
                x1, y1 = corners.max(axis=0)
                cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
                if cx1 - cx0 < 2 or cy1 - cy0 < 2:
                    continue
                box = (int(cx0), int(cy0), math.ceil(cx1 - cx0), math.ceil(cy1 - cy0))
                v.truth.boxes[index] = box
                inside = x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h
                covered = any(
                    _overlaps(corners, quads[o.truth.id])
                    for o in active
                    if o is not v and o.z(t) < v.z(t)
                ) or any(_overlaps(corners, _overlay_quad(o)) for o in self._overlays)
                if inside and not covered:
                    v.truth.full_frames = (*v.truth.full_frames, index)
        for v in self._vehicles:
            frames = sorted(v.truth.boxes)
            if frames:
                v.truth.entry_frame, v.truth.exit_frame = frames[0], frames[-1]

    # -- the picture --

    def _draw_background(self, rng: np.random.Generator) -> np.ndarray:
        cam, w, h = self.camera, self.width, self.height
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
        strip = ((z_of_row > 33) & (z_of_row < 35) & ((z_of_row * 4) % 1.0 < 0.5)) & (
            np.abs(xs) < 3.5
        )
        img[strip] = np.array([200, 205, 210], np.float32)
        out = np.clip(img, 0, 255).astype(np.uint8)
        if self.distractors:
            self._paint_on_road(out, "CHẬM LẠI", -1.55, 38.0, 44.0, 2.4)
            self._paint_on_road(out, "60", 1.55, 24.0, 27.5, 1.6)
        return out

    def _paint_on_road(
        self, img: np.ndarray, text: str, x_m: float, z_near: float, z_far: float, width_m: float
    ) -> None:
        """Words painted on the lane: long letters that look right from a driver's seat."""
        cam = self.camera
        mask = _font(SIGN_FONT).mask(text, 200)
        mh, mw = mask.shape
        src = np.array([[0, 0], [mw, 0], [mw, mh], [0, mh]], np.float32)
        dst = np.array(
            [
                cam.project(x_m - width_m / 2, 0, z_far),
                cam.project(x_m + width_m / 2, 0, z_far),
                cam.project(x_m + width_m / 2, 0, z_near),
                cam.project(x_m - width_m / 2, 0, z_near),
            ],
            np.float32,
        )
        hom = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(mask, hom, (img.shape[1], img.shape[0]))
        alpha = warped.astype(np.float32)[..., None] / 255 * 0.85
        img[:] = (img * (1 - alpha) + np.array([225, 228, 230], np.float32) * alpha).astype(
            np.uint8
        )

    def _draw_overlays(self) -> list[_Overlay]:
        """Signs nearer than the road, in the corners the plates never cross."""
        s = self.width / 1280
        out: list[_Overlay] = []

        def board(
            w: int, h: int, bg: Sequence[int], rows: Sequence[tuple[str, Sequence[int]]]
        ) -> np.ndarray:
            w, h = round(w * s), round(h * s)
            img = np.full((h, w, 3), bg, np.uint8)
            cv2.rectangle(img, (2, 2), (w - 3, h - 3), (235, 235, 235), max(1, round(3 * s)))
            row_h = (h - 12) // len(rows)
            for i, (text, colour) in enumerate(rows):
                box = (8, 6 + i * row_h + row_h // 8, w - 16, row_h * 3 // 4)
                _stamp(img, _font(SIGN_FONT).mask(text, box[3]), box, colour, max_stretch=1.2)
            return img

        shop = board(
            300,
            96,
            (140, 40, 20),
            [("TẠP HÓA MINH ANH", (80, 230, 250)), ("ĐT: 0208.3855.123", (245, 245, 245))],
        )
        out.append(
            _Overlay(
                shop, round(8 * s), round(40 * s), True, ("TẠP HÓA MINH ANH", "ĐT: 0208.3855.123")
            )
        )
        auction = board(
            220,
            100,
            (235, 235, 235),
            [("ĐẤU GIÁ BIỂN SỐ", (30, 30, 180)), ("30K-999.99", (20, 20, 20))],
        )
        out.append(
            _Overlay(auction, round(8 * s), round(150 * s), True, ("ĐẤU GIÁ BIỂN SỐ", "30K-999.99"))
        )
        checkpoint = board(
            230,
            110,
            (150, 90, 20),
            [("TRẠM KIỂM SOÁT", (245, 245, 245)), ("KM 52+300", (245, 245, 245))],
        )
        out.append(
            _Overlay(
                checkpoint,
                self.width - round(238 * s),
                round(40 * s),
                False,
                ("TRẠM KIỂM SOÁT", "KM 52+300"),
            )
        )
        d = round(90 * s)
        limit = np.full((d, d, 3), (150, 150, 150), np.uint8)
        cv2.circle(limit, (d // 2, d // 2), d // 2 - 1, (235, 235, 235), -1, cv2.LINE_AA)
        cv2.circle(limit, (d // 2, d // 2), d // 2 - 2, (30, 30, 200), max(2, d // 9), cv2.LINE_AA)
        _stamp(
            limit,
            _font(SIGN_FONT).mask("80", d // 3),
            (d // 4, d // 3, d // 2, d // 3),
            (20, 20, 20),
        )
        out.append(_Overlay(limit, self.width - round(110 * s), round(160 * s), False, ("80",)))
        names = board(
            230,
            80,
            (60, 120, 30),
            [("HÀ NỘI  75 km", (245, 245, 245)), ("THÁI NGUYÊN 20 km", (245, 245, 245))],
        )
        out.append(
            _Overlay(
                names,
                self.width - round(238 * s),
                round(265 * s),
                False,
                ("HÀ NỘI 75 km", "THÁI NGUYÊN 20 km"),
            )
        )
        return out

    def _draw_vehicle(
        self, frame: np.ndarray, v: _Vehicle, t: float, reflect: np.ndarray | None
    ) -> list[tuple[float, float, float, tuple[int, int, int]]]:
        """Composite one vehicle; returns its lights (x, y, radius, colour) in the picture."""
        hom = v.homography(self.camera, t)
        sprite = v.sprite.image
        sh, sw = sprite.shape[:2]
        corners = _transform(hom, np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float))
        # Motion blur: the image speed of the plate times the exposure time.
        px, py, pw, ph = v.sprite.plate_rect
        centre = np.array([[px + pw / 2, py + ph / 2]], float)
        now = _transform(hom, centre)[0]
        then = _transform(v.homography(self.camera, t + 1 / self.fps), centre)[0]
        velocity = (then - now) * self.fps  # px/s
        blur = velocity * self.exposure
        x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.width), min(y1, self.height)
        lights = []
        for lx, ly, r in v.sprite.lights:
            p = _transform(hom, np.array([[lx, ly]], float))[0]
            lights.append(
                (
                    float(p[0]),
                    float(p[1]),
                    r * float(np.sqrt(abs(np.linalg.det(hom[:2, :2])))),
                    v.sprite.light_colour,
                )
            )
        if x1 <= x0 or y1 <= y0:
            return lights
        # Shrink the sprite first when it is drawn much smaller: warping alone would alias.
        scale = float(np.sqrt(abs(np.linalg.det(hom[:2, :2]) / hom[2, 2] ** 2)))
        src = sprite
        pre = np.eye(3)
        if scale < 0.7:
            k = max(scale * 1.3, 0.05)
            src = cv2.resize(sprite, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            pre = np.diag([1 / k, 1 / k, 1.0])
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], float)
        local = shift @ hom @ pre
        patch = cv2.warpPerspective(src, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
        patch_f = patch.astype(np.float32)
        alpha = patch_f[..., 3:4] / 255.0
        colour = patch_f[..., :3] * alpha
        length = float(np.hypot(*blur))
        if length > 1.0:
            kernel = _line_kernel(blur)
            colour = cv2.filter2D(colour, -1, kernel)
            alpha = cv2.filter2D(alpha, -1, kernel)[..., None] if alpha.ndim == 3 else alpha
            if alpha.ndim == 2:
                alpha = alpha[..., None]
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + colour, 0, 255).astype(np.uint8)
        if reflect is not None:
            plate_mask = np.zeros((sh, sw), np.uint8)
            plate_mask[py : py + ph, px : px + pw] = 255
            if scale < 0.7:
                plate_mask = cv2.resize(
                    plate_mask, (src.shape[1], src.shape[0]), interpolation=cv2.INTER_AREA
                )
            warped = (
                cv2.warpPerspective(plate_mask, local, (x1 - x0, y1 - y0)).astype(np.float32) / 255
            )
            target = reflect[y0:y1, x0:x1]
            # Nearer things cover what is behind: the plate's reflection replaces it.
            covered = alpha[..., 0]
            target[:] = target * (1 - covered) + warped
        return lights

    def frames(self) -> Iterator[Image]:
        """Every frame of the clip, in order."""
        for index in range(self.frame_count):
            yield self.frame(index)

    def frame(self, index: int) -> Image:
        """Frame ``index`` (deterministic: the same for a seed, in any order)."""
        t = index / self.fps
        frame = self._background.copy()
        reflect = np.zeros(frame.shape[:2], np.float32) if self.night else None
        lights: list[tuple[float, float, float, tuple[int, int, int]]] = []
        active = [v for v in self._vehicles if v.t0 <= t <= v.t1]
        for v in sorted(active, key=lambda v: -v.z(t)):
            lights += self._draw_vehicle(frame, v, t, reflect)
        for o in self._overlays:
            oh, ow = o.image.shape[:2]
            frame[o.y : o.y + oh, o.x : o.x + ow] = o.image
            if reflect is not None and o.lit:
                reflect[o.y : o.y + oh, o.x : o.x + ow] = 0.9
        rng = np.random.default_rng((self.seed, index))
        if self.night:
            frame = self._night(frame, reflect, lights)
        if self.noise > 0:
            noise = rng.normal(0, self.noise, (self.height // 2, self.width // 2, 1)).astype(
                np.float32
            )
            # Half-resolution noise upsampled: sensor noise after demosaicing is not per pixel.
            noise = cv2.resize(noise, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
            fine = rng.normal(0, self.noise * 0.5, (self.height, self.width)).astype(np.float32)
            frame = np.clip(frame + (noise + fine)[..., None], 0, 255).astype(np.uint8)
        if self.distractors:
            self._osd(frame, t)
        return frame

    def _night(
        self,
        frame: np.ndarray,
        reflect: np.ndarray | None,
        lights: list[tuple[float, float, float, tuple[int, int, int]]],
    ) -> np.ndarray:
        gain = 0.22 + 0.58 * (reflect if reflect is not None else 0.0)  # plates and lit signs
        out = frame.astype(np.float32) * np.asarray(gain, np.float32)[..., None]
        glow = np.zeros((self.height // 4, self.width // 4, 3), np.float32)
        for x, y, r, colour in lights:
            cx, cy = int(x / 4), int(y / 4)
            radius = max(1, int(r * 1.6 / 4))
            strength = (
                1.0 if colour[2] > 200 and colour[0] > 200 else 0.55
            )  # red tail lights glow less
            c = tuple(float(ch) * strength for ch in colour)
            cv2.circle(glow, (cx, cy), radius, c, -1, cv2.LINE_AA)
            # A thin horizontal streak: the lens flare of a headlight.
            cv2.ellipse(
                glow, (cx, cy), (radius * 3, max(1, radius // 4)), 0, 0, 360, c, -1, cv2.LINE_AA
            )
        glow = cv2.GaussianBlur(glow, (0, 0), 2.0)
        glow = cv2.resize(glow, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        out += glow * 0.8
        return np.clip(out, 0, 255).astype(np.uint8)

    def _osd(self, frame: np.ndarray, t: float) -> None:
        """The camera's own caption: name, place and a clock that ticks every second."""
        import time as _time

        stamp = _time.strftime(
            "%d/%m/%Y %H:%M:%S", _time.gmtime(self.clock_start + int(t) + 7 * 3600)
        )
        text = f"CAM 03  QL3 KM52+300  {stamp}"
        s = self.width / 1280
        mask = _font(SIGN_FONT).mask(text, round(16 * s))
        x, y = round(8 * s), round(10 * s)
        h, w = mask.shape
        box = (x, y, w, h)
        shadow = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        _stamp(frame, shadow, box, (0, 0, 0), max_stretch=1.0)
        _stamp(frame, mask, box, (255, 255, 255), max_stretch=1.0)


def _line_kernel(vector: np.ndarray) -> np.ndarray:
    """A normalised line of the blur's length and direction."""
    length = float(np.hypot(*vector))
    size = math.ceil(length) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = vector / max(length, 1e-6) * (length / 2)
    cv2.line(
        kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA
    )
    return kernel / max(float(kernel.sum()), 1e-6)


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    return bool(ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1)


def _overlay_quad(o: _Overlay) -> np.ndarray:
    h, w = o.image.shape[:2]
    return np.array([[o.x, o.y], [o.x + w, o.y + h]], float)


def scene_texts() -> tuple[str, ...]:
    """Every non-plate text the scene can show (signs, lettering, the caption)."""
    signs = (
        "TẠP HÓA MINH ANH",
        "ĐT: 0208.3855.123",
        "ĐẤU GIÁ BIỂN SỐ",
        "30K-999.99",
        "TRẠM KIỂM SOÁT",
        "KM 52+300",
        "80",
        "HÀ NỘI 75 km",
        "THÁI NGUYÊN 20 km",
        "CHẬM LẠI",
        "60",
        "CAM 03  QL3 KM52+300",
    )
    return signs + tuple(t for pair in LETTERING for t in pair)


# ---------------------------------------------------------------------------- writing


def generate(
    path: str | os.PathLike[str],
    seconds: float,
    fps: int = 25,
    width: int = 1280,
    height: int = 720,
    seed: int = 0,
    vehicles_per_minute: float = 20.0,
    night: bool = False,
    layouts: Sequence[str] = LAYOUTS,
    zoom: float = 1.0,
    exposure: float | None = None,
    noise: float | None = None,
    distractors: bool = True,
    crf: int = 23,
) -> list[VehicleTruth]:
    """Write a synthetic checkpoint clip to ``path`` and return the truth.

    The codec follows the extension: H.264 (libx264, ``crf``) for ``.mp4`` and
    ``.mkv``, VP8 (libvpx, about 4 Mbit/s) for ``.webm``. Only vehicles whose
    plate is in the picture at some point are returned.
    """
    import av

    scene = CheckpointScene(
        seconds,
        fps=fps,
        width=width,
        height=height,
        seed=seed,
        vehicles_per_minute=vehicles_per_minute,
        night=night,
        layouts=layouts,
        zoom=zoom,
        exposure=exposure,
        noise=noise,
        distractors=distractors,
    )
    target = Path(path)
    vp8 = target.suffix.lower() == ".webm"
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libvpx" if vp8 else "libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = fractions.Fraction(1, fps)
        if vp8:
            stream.bit_rate = 4_000_000
            stream.options = {"deadline": "good", "cpu-used": "4", "threads": "1"}
        else:
            stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for index, image in enumerate(scene.frames()):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return [v for v in scene.truth if v.boxes]
