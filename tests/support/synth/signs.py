"""What must not be read as a plate: signs by the road, words on it, the camera's caption."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tests.support.synth.camera import Camera
from tests.support.synth.text import SIGN_FONT, font, stamp
from tests.support.synth.vehicles import LETTERING


@dataclass(frozen=True)
class Overlay:
    """A sign in front of the road (BGR picture at a fixed place)."""

    image: np.ndarray
    x: int
    y: int
    lit: bool  # lit at night (shop signs), or only reflective
    texts: tuple[str, ...]


def draw_overlays(width: int) -> list[Overlay]:
    """Signs nearer than the road, in the corners the plates never cross."""
    s = width / 1280
    out: list[Overlay] = []

    def board(
        w: int, h: int, bg: Sequence[int], rows: Sequence[tuple[str, Sequence[int]]]
    ) -> np.ndarray:
        w, h = round(w * s), round(h * s)
        img = np.full((h, w, 3), bg, np.uint8)
        cv2.rectangle(img, (2, 2), (w - 3, h - 3), (235, 235, 235), max(1, round(3 * s)))
        row_h = (h - 12) // len(rows)
        for i, (text, colour) in enumerate(rows):
            box = (8, 6 + i * row_h + row_h // 8, w - 16, row_h * 3 // 4)
            stamp(img, font(SIGN_FONT).mask(text, box[3]), box, colour, max_stretch=1.2)
        return img

    shop = board(
        300,
        96,
        (140, 40, 20),
        [("TẠP HÓA MINH ANH", (80, 230, 250)), ("ĐT: 0208.3855.123", (245, 245, 245))],
    )
    out.append(
        Overlay(shop, round(8 * s), round(40 * s), True, ("TẠP HÓA MINH ANH", "ĐT: 0208.3855.123"))
    )
    auction = board(
        220,
        100,
        (235, 235, 235),
        [("ĐẤU GIÁ BIỂN SỐ", (30, 30, 180)), ("30K-999.99", (20, 20, 20))],
    )
    out.append(
        Overlay(auction, round(8 * s), round(150 * s), True, ("ĐẤU GIÁ BIỂN SỐ", "30K-999.99"))
    )
    checkpoint = board(
        230,
        110,
        (150, 90, 20),
        [("TRẠM KIỂM SOÁT", (245, 245, 245)), ("KM 52+300", (245, 245, 245))],
    )
    out.append(
        Overlay(
            checkpoint,
            width - round(238 * s),
            round(40 * s),
            False,
            ("TRẠM KIỂM SOÁT", "KM 52+300"),
        )
    )
    d = round(90 * s)
    limit = np.full((d, d, 3), (150, 150, 150), np.uint8)
    cv2.circle(limit, (d // 2, d // 2), d // 2 - 1, (235, 235, 235), -1, cv2.LINE_AA)
    cv2.circle(limit, (d // 2, d // 2), d // 2 - 2, (30, 30, 200), max(2, d // 9), cv2.LINE_AA)
    stamp(
        limit,
        font(SIGN_FONT).mask("80", d // 3),
        (d // 4, d // 3, d // 2, d // 3),
        (20, 20, 20),
    )
    out.append(Overlay(limit, width - round(110 * s), round(160 * s), False, ("80",)))
    names = board(
        230,
        80,
        (60, 120, 30),
        [("HÀ NỘI  75 km", (245, 245, 245)), ("THÁI NGUYÊN 20 km", (245, 245, 245))],
    )
    out.append(
        Overlay(
            names,
            width - round(238 * s),
            round(265 * s),
            False,
            ("HÀ NỘI 75 km", "THÁI NGUYÊN 20 km"),
        )
    )
    return out


def paint_on_road(
    img: np.ndarray,
    cam: Camera,
    text: str,
    x_m: float,
    z_near: float,
    z_far: float,
    width_m: float,
) -> None:
    """Words painted on the lane: long letters that look right from a driver's seat."""
    mask = font(SIGN_FONT).mask(text, 200)
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
    img[:] = (img * (1 - alpha) + np.array([225, 228, 230], np.float32) * alpha).astype(np.uint8)


def draw_caption(frame: np.ndarray, t: float, clock_start: float) -> None:
    """The camera's own caption: name, place and a clock that ticks every second."""
    clock = time.strftime("%d/%m/%Y %H:%M:%S", time.gmtime(clock_start + int(t) + 7 * 3600))
    text = f"CAM 03  QL3 KM52+300  {clock}"
    s = frame.shape[1] / 1280
    mask = font(SIGN_FONT).mask(text, round(16 * s))
    x, y = round(8 * s), round(10 * s)
    h, w = mask.shape
    box = (x, y, w, h)
    shadow = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    stamp(frame, shadow, box, (0, 0, 0), max_stretch=1.0)
    stamp(frame, mask, box, (255, 255, 255), max_stretch=1.0)


def overlay_quad(o: Overlay) -> np.ndarray:
    """The sign's bounding box as two corners (top left, bottom right)."""
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
