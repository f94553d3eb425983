"""The checkpoint scene: a camera's picture over time, and the truth of what is in it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from anpr_feed.types import Image
from tests.support.synth.camera import Camera
from tests.support.synth.compositing import Light, draw_vehicle
from tests.support.synth.night import darken
from tests.support.synth.plates import LAYOUTS
from tests.support.synth.road import draw_road
from tests.support.synth.signs import draw_caption, draw_overlays
from tests.support.synth.traffic import compute_truth, schedule
from tests.support.synth.vehicles import VehicleTruth


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
        self._vehicles = schedule(
            rng, self.camera, seconds, height, vehicles_per_minute, list(layouts)
        )
        self._background = draw_road(
            self.camera, width, height, np.random.default_rng(seed + 1), distractors
        )
        self._overlays = draw_overlays(width) if distractors else []
        self.truth: list[VehicleTruth] = [v.truth for v in self._vehicles]
        compute_truth(
            self._vehicles, self.camera, self.frame_count, fps, (width, height), self._overlays
        )

    def frames(self) -> Iterator[Image]:
        """Every frame of the clip, in order."""
        for index in range(self.frame_count):
            yield self.frame(index)

    def frame(self, index: int) -> Image:
        """Frame ``index`` (deterministic: the same for a seed, in any order)."""
        t = index / self.fps
        frame = self._background.copy()
        reflect = np.zeros(frame.shape[:2], np.float32) if self.night else None
        lights: list[Light] = []
        active = [v for v in self._vehicles if v.t0 <= t <= v.t1]
        for v in sorted(active, key=lambda v: -v.z(t)):
            lights += draw_vehicle(frame, v, t, self.camera, self.fps, self.exposure, reflect)
        for o in self._overlays:
            oh, ow = o.image.shape[:2]
            frame[o.y : o.y + oh, o.x : o.x + ow] = o.image
            if reflect is not None and o.lit:
                reflect[o.y : o.y + oh, o.x : o.x + ow] = 0.9
        rng = np.random.default_rng((self.seed, index))
        if self.night:
            frame = darken(frame, reflect, lights)
        if self.noise > 0:
            noise = rng.normal(0, self.noise, (self.height // 2, self.width // 2, 1)).astype(
                np.float32
            )
            # Half-resolution noise upsampled: sensor noise after demosaicing is not per pixel.
            noise = cv2.resize(noise, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
            fine = rng.normal(0, self.noise * 0.5, (self.height, self.width)).astype(np.float32)
            frame = np.clip(frame + (noise + fine)[..., None], 0, 255).astype(np.uint8)
        if self.distractors:
            draw_caption(frame, t, self.clock_start)
        return frame
