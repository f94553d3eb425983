"""The vehicles of the synthetic scene: what is known of each, their faces, their motion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from tests.support.synth.camera import Camera
from tests.support.synth.plates import PlateSpec
from tests.support.synth.text import SIGN_FONT, font, stamp


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
class Sprite:
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
    stamp(img, font(SIGN_FONT).mask(text, box[3]), box, (*colour[:3], 255), max_stretch=1.3)


def _place_plate(img: np.ndarray, w_m: float, h_m: float, plate: np.ndarray, x_m: float,
                 u_m: float) -> tuple[int, int, int, int]:  # fmt: skip
    ph, pw = plate.shape[:2]
    x = _sx(x_m, w_m) - pw // 2
    y = _sy(u_m, h_m) - ph // 2
    img[y : y + ph, x : x + pw, :3] = plate
    img[y : y + ph, x : x + pw, 3] = 255
    return (x, y, pw, ph)


def car_sprite(
    rng: np.random.Generator, plate: np.ndarray, front: bool, plate_mm: tuple[int, int]
) -> Sprite:
    """A car seen from the front (``front``) or from behind, carrying ``plate``."""
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
    return Sprite(img, w_m, h_m, rect, lights, colour)


def big_sprite(
    rng: np.random.Generator, plate: np.ndarray, kind: str
) -> tuple[Sprite, tuple[str, ...]]:
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
    return Sprite(img, w_m, h_m, rect, lights, (255, 250, 235)), lettering


def moto_sprite(rng: np.random.Generator, plate: np.ndarray) -> Sprite:
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
    return Sprite(img, w_m, h_m, rect, [light], (60, 60, 255))


@dataclass
class MovingVehicle:
    """A vehicle on its way through the picture: its face, lane, speed and timing."""

    truth: VehicleTruth
    sprite: Sprite
    x_m: float
    speed: float  # m/s
    sign: int  # -1 approaching (Z falls), +1 receding
    z0: float  # Z at t0
    t0: float
    t1: float
    yaw: float  # radians
    roll: float  # degrees

    def z(self, t: float) -> float:
        """Its distance from the camera at time ``t``."""
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


def transform(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) through the homography ``h``."""
    p = np.hstack([points, np.ones((len(points), 1))]) @ h.T
    return p[:, :2] / p[:, 2:3]
