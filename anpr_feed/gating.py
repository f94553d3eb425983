"""Cost that follows the traffic: run plate detection only when something may be there.

A checkpoint lane sees a vehicle a second or two at a time and nothing in
between (15,000 vehicles a day is one every 5.8 s on average), yet the
pipeline used to look at every frame: BGR conversion and the detector, some
4 ms of CPU a 720p frame, for an empty road. The gate decides, per frame and
for about 0.1 ms, whether the pipeline needs the frame:

* **motion**: the luma plane, shrunk to 160x90 (a box filter: sensor noise
  averages out), is compared with the frame before. A pixel counts as moving
  when it changed by more than ``threshold`` grey levels now *and* in the
  frame pair before (dilated by a pixel): a vehicle changes the picture frame
  after frame, whereas the camera's running clock, which changes once a
  second, and noise change it once. ``min_pixels`` such pixels (of 14,400)
  make a frame move;
* **hold**: ``hold`` frames after the last motion are processed too, so a
  vehicle that slows down or a plate still in view when the picture calms
  is followed to its end;
* **tracks**: while the pipeline follows a moving track (a plate on a
  vehicle, not a sign), or waits for a read in the background, every frame
  goes through it: its tracker and its reading policy count in frames;
* **heartbeat**: on an empty scene the detector still runs every
  ``heartbeat`` frames, a safety net for whatever the motion test cannot see
  (a vehicle creeping in the dark); a heartbeat that starts new tracks is
  followed by ``probe`` frames in a row, enough for the tracker to tell a
  moving plate (which then keeps the gate open) from a sign.

Frames the gate skips are not given to the pipeline at all: its frame
numbering counts processed frames, so a sign's track lives on across an
empty minute and the tracker never sees a gap while anything moves.

:class:`GatedPipeline` wraps a :class:`anpr_feed.pipeline.Pipeline`: the
caller hands it the small grey picture (cheap to get from a decoded frame:
:func:`small_gray`) and a way to get the full BGR frame, which is only
called for frames the pipeline takes (or that are annotated for viewers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from anpr_feed.pass_event import PassEvent
from anpr_feed.types import Image

GATE_SIZE = (160, 90)  # width, height of the picture the gate compares


@dataclass(frozen=True)
class GateConfig:
    """Tuning of :class:`MotionGate`; frame counts are of the camera's frames."""

    threshold: int = 10  # grey levels (of 255) a 160x90 pixel must change by
    min_pixels: int = 4  # moving pixels (of 14,400) that make a frame move
    hold: int = 8  # frames processed after the last motion
    heartbeat: int = 12  # on an empty scene, detect every this many frames
    probe: int = 4  # frames processed after a heartbeat that started tracks


@dataclass
class GateStats:
    """What the gate let through, and why."""

    frames: int = 0  # frames offered
    processed: int = 0  # frames given to the pipeline (the detector ran)
    motion: int = 0  # frames that moved
    held: int = 0  # processed after the motion stopped (hold)
    tracking: int = 0  # processed because a moving track was alive or a read was awaited
    heartbeats: int = 0
    probes: int = 0

    @property
    def skipped(self) -> int:
        """Frames the pipeline never saw."""
        return self.frames - self.processed

    def as_dict(self) -> dict[str, int]:
        """Counts for a status message or a benchmark."""
        return {
            "frames": self.frames,
            "processed": self.processed,
            "skipped": self.skipped,
            "motion": self.motion,
            "held": self.held,
            "tracking": self.tracking,
            "heartbeats": self.heartbeats,
            "probes": self.probes,
        }


def small_gray(frame: Any, size: tuple[int, int] = GATE_SIZE) -> Image:
    """The luma of a decoded PyAV frame shrunk to ``size`` (width, height), without BGR.

    Planar YUV and NV12 frames carry luma in their first plane: that is read
    in place (no colour conversion of the whole picture); anything else is
    converted by FFmpeg.
    """
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
        luma = rows[:, : frame.width]
    else:
        luma = frame.to_ndarray(format="gray")
    return shrink(luma, size)


def shrink(image: Image, size: tuple[int, int] = GATE_SIZE) -> Image:
    """A grey or BGR picture as the gate's small grey one (box filter: noise averages out)."""
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return small


class MotionGate:
    """Whether anything moves in the picture (see the module docstring)."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._previous: Image | None = None
        self._previous_change: Image | None = None
        self._near = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))

    def moving(self, small: Image) -> bool:
        """Take the next small grey picture; whether it moves against the ones before."""
        previous, self._previous = self._previous, small
        if previous is None or previous.shape != small.shape:
            self._previous_change = None
            return True  # the first picture (or a new size): nothing known yet, look
        change = cv2.compare(cv2.absdiff(small, previous), self.config.threshold, cv2.CMP_GT)
        earlier, self._previous_change = self._previous_change, change
        if earlier is None:
            return bool(cv2.countNonZero(change) >= self.config.min_pixels)
        # Changed now and (about here) the frame before: motion, not a clock's tick or noise.
        lasting = cv2.bitwise_and(change, cv2.dilate(earlier, self._near))
        return bool(cv2.countNonZero(lasting) >= self.config.min_pixels)


class GatedPipeline:
    """A :class:`~anpr_feed.pipeline.Pipeline` that only sees the frames the gate lets through.

    ``pipeline`` is used as it is (its ``annotate``, ``alert`` and ``flush``
    stay the caller's to call); ``enabled=False`` gives every frame to the
    pipeline, as before the gate (the baseline, with the same counts).
    """

    def __init__(
        self, pipeline: Any, config: GateConfig | None = None, enabled: bool = True
    ) -> None:
        self.pipeline = pipeline
        self.config = config or GateConfig()
        self.enabled = enabled
        self.gate = MotionGate(self.config)
        self.stats = GateStats()
        self._hold = 0
        self._probe = 0
        self._since = self.config.heartbeat  # frames since the pipeline last ran

    def process(
        self, small: Image | None, frame: Callable[[], Image], timestamp: float
    ) -> list[PassEvent]:
        """Offer one frame: its small grey picture (see :func:`small_gray`), a way to get
        it in BGR and its time; returns the passes that ended (``[]`` on a skipped frame).

        ``small`` may be None when the gate is off.
        """
        self.stats.frames += 1
        if self.enabled and small is not None and not self._wanted(small):
            self._since += 1
            return []
        tracks_before = self.pipeline.stats.tracks
        events: list[PassEvent] = self.pipeline.process(frame(), timestamp)
        self.stats.processed += 1
        self._since = 0
        if self.enabled and self.pipeline.stats.tracks > tracks_before and self._probe == 0:
            # New tracks: give the tracker the frames it needs to see whether they move.
            self._probe = self.config.probe
        return events

    def flush(self) -> list[PassEvent]:
        """End every track (see :meth:`Pipeline.flush`)."""
        self._hold = self._probe = 0
        events: list[PassEvent] = self.pipeline.flush()
        return events

    @property
    def idle(self) -> bool:
        """Nothing moves and nothing is followed: the gate is letting only heartbeats through."""
        return self._hold == 0 and self._probe == 0 and not self._following()

    def _wanted(self, small: Image) -> bool:
        c = self.config
        if self.gate.moving(small):
            self.stats.motion += 1
            self._hold = c.hold
            return True
        if self._hold > 0:
            self._hold -= 1
            self.stats.held += 1
            return True
        if self._following():
            self.stats.tracking += 1
            return True
        if self._probe > 0:
            self._probe -= 1
            self.stats.probes += 1
            return True
        if self._since + 1 >= c.heartbeat:
            self.stats.heartbeats += 1
            return True
        return False

    def _following(self) -> bool:
        """A moving track is alive (a vehicle in view or coasting), or a read is awaited."""
        pipeline = self.pipeline
        if pipeline.waiting_for_reads:
            return True
        return any(track.moving for track in pipeline.tracker.tracks)
