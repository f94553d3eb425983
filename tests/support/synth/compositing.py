"""Putting a vehicle into the picture: perspective, motion blur, its lights."""

from __future__ import annotations

import math

import cv2
import numpy as np

from tests.support.synth.camera import Camera
from tests.support.synth.vehicles import MovingVehicle, transform

Light = tuple[float, float, float, tuple[int, int, int]]  # x, y, radius (px), colour (BGR)


def draw_vehicle(
    frame: np.ndarray,
    v: MovingVehicle,
    t: float,
    camera: Camera,
    fps: int,
    exposure: float,
    reflect: np.ndarray | None,
) -> list[Light]:
    """Composite one vehicle at time ``t``, blurred by its motion over ``exposure`` seconds.

    The blur's direction is where the plate is one frame (``1 / fps``) later. At night ``reflect`` gathers where the plate is,
    to be lit by retro-reflection. Returns the vehicle's lights in the picture.
    """
    height, width = frame.shape[:2]
    hom = v.homography(camera, t)
    sprite = v.sprite.image
    sh, sw = sprite.shape[:2]
    corners = transform(hom, np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float))
    # Motion blur: the image speed of the plate times the exposure time.
    px, py, pw, ph = v.sprite.plate_rect
    centre = np.array([[px + pw / 2, py + ph / 2]], float)
    now = transform(hom, centre)[0]
    then = transform(v.homography(camera, t + 1 / fps), centre)[0]
    velocity = (then - now) * fps  # px/s
    blur = velocity * exposure
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, width), min(y1, height)
    lights = []
    for lx, ly, r in v.sprite.lights:
        p = transform(hom, np.array([[lx, ly]], float))[0]
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
        kernel = line_kernel(blur)
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
        warped = cv2.warpPerspective(plate_mask, local, (x1 - x0, y1 - y0)).astype(np.float32) / 255
        target = reflect[y0:y1, x0:x1]
        # Nearer things cover what is behind: the plate's reflection replaces it.
        covered = alpha[..., 0]
        target[:] = target * (1 - covered) + warped
    return lights


def line_kernel(vector: np.ndarray) -> np.ndarray:
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
