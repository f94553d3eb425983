"""The traffic of the synthetic scene: who drives by when, and where each plate is seen."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tests.support.synth.camera import Camera
from tests.support.synth.plates import PLATE_MM, random_plate, render_plate
from tests.support.synth.signs import Overlay, overlay_quad
from tests.support.synth.vehicles import (
    SPRITE_PX_PER_M,
    MovingVehicle,
    VehicleTruth,
    big_sprite,
    car_sprite,
    moto_sprite,
    transform,
)


def schedule(
    rng: np.random.Generator,
    camera: Camera,
    seconds: float,
    height: int,
    per_minute: float,
    layouts: list[str],
) -> list[MovingVehicle]:
    """About ``per_minute`` vehicles over ``seconds``, each layout in turn, lanes kept apart.

    Draws from ``rng`` in a fixed order: a seed gives the same traffic.
    """
    count = max(1, round(per_minute * seconds / 60))
    order: list[str] = []
    while len(order) < count:  # every layout in turn, shuffled: all of them show up
        batch = list(layouts)
        rng.shuffle(batch)
        order.extend(batch)
    order = order[:count]
    # Arrivals spread over the clip with jitter; the last must leave before it ends.
    vehicles: list[MovingVehicle] = []
    lane_free: dict[int, list[tuple[float, float, float, float]]] = {-1: [], 1: []}
    usable = max(seconds - 2.6, 1.0)
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
        colour = "yellow" if kind in ("truck", "coach") and layout.startswith("car_1line") else None
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
            sprite = moto_sprite(rng, plate_img)
            x_m = float(rng.uniform(0.9, 1.6))
        elif kind == "car":
            sprite = car_sprite(rng, plate_img, front=sign < 0, plate_mm=mm)
            x_m = sign * float(rng.uniform(1.3, 1.7))
        else:
            sprite, lettering = big_sprite(rng, plate_img, kind)
            x_m = -float(rng.uniform(1.45, 1.7))
        plate_u = (
            sprite.height_m - (sprite.plate_rect[1] + sprite.plate_rect[3] / 2) / SPRITE_PX_PER_M
        )
        z_top = camera.z_at_row(-40, 0.0)  # beyond this the whole vehicle is above the picture
        z_exit = camera.z_at_row(height + 30, plate_u)  # the plate is below the picture
        near = z_exit * 0.9
        far = z_top + 2.0
        duration = (far - near) / speed
        slot = (index + float(rng.uniform(0.1, 0.9))) * usable / count
        start = slot
        # Keep a lane's vehicles 14 m apart all through the picture (no overtaking here).
        for _ in range(200):
            if all(_clear(start, duration, o) for o in lane_free[sign]):
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
            MovingVehicle(
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


def _clear(start: float, duration: float, other: tuple[float, float, float, float]) -> bool:
    o_start, o_duration, near, far = other
    # Same direction, both move through [near, far]; enough if the later one starts
    # once the earlier has gone 14 m plus the difference it could make up.
    if start >= o_start + o_duration or o_start >= start + duration:
        return True
    gap_time = 14.0 / ((far - near) / max(o_duration, duration))
    return abs(start - o_start) >= gap_time + abs(duration - o_duration)


def compute_truth(
    vehicles: Sequence[MovingVehicle],
    camera: Camera,
    frame_count: int,
    fps: int,
    size: tuple[int, int],
    signs: Sequence[Overlay],
) -> None:
    """Fill in each vehicle's truth: its plate's box per frame, and where it is in full view.

    ``size`` is the picture's (width, height); a plate is in full view when it
    is wholly inside the picture and neither a nearer vehicle nor a sign covers it.
    """
    w, h = size
    for index in range(frame_count):
        t = index / fps
        active = [v for v in vehicles if v.t0 <= t <= v.t1]
        quads: dict[int, np.ndarray] = {}
        for v in active:
            hom = v.homography(camera, t)
            sw, sh = v.sprite.image.shape[1], v.sprite.image.shape[0]
            quads[v.truth.id] = transform(
                hom, np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float)
            )
        for v in active:
            hom = v.homography(camera, t)
            x, y, pw, ph = v.sprite.plate_rect
            corners = transform(
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
            ) or any(_overlaps(corners, overlay_quad(o)) for o in signs)
            if inside and not covered:
                v.truth.full_frames = (*v.truth.full_frames, index)
    for v in vehicles:
        frames = sorted(v.truth.boxes)
        if frames:
            v.truth.entry_frame, v.truth.exit_frame = frames[0], frames[-1]


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    return bool(ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1)
