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

One module per noun: :mod:`.text` (lettering), :mod:`.plates`, :mod:`.camera`,
:mod:`.vehicles`, :mod:`.traffic`, :mod:`.signs`, :mod:`.road`,
:mod:`.compositing`, :mod:`.night`, :mod:`.scene` and :mod:`.video`; the names
tests and benchmarks use are re-exported here.
"""

from tests.support.synth.camera import Camera
from tests.support.synth.plates import (
    LAYOUTS,
    PLATE_COLOURS,
    PLATE_MM,
    PlateSpec,
    random_plate,
    render_plate,
)
from tests.support.synth.scene import CheckpointScene
from tests.support.synth.signs import scene_texts
from tests.support.synth.text import PLATE_FONT, SIGN_FONT, font, stamp
from tests.support.synth.vehicles import VehicleTruth
from tests.support.synth.video import generate

__all__ = [
    "LAYOUTS",
    "PLATE_COLOURS",
    "PLATE_FONT",
    "PLATE_MM",
    "SIGN_FONT",
    "Camera",
    "CheckpointScene",
    "PlateSpec",
    "VehicleTruth",
    "font",
    "generate",
    "random_plate",
    "render_plate",
    "scene_texts",
    "stamp",
]
