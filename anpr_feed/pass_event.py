"""A plate pass: one vehicle seen passing a feed's camera, with its plate read."""

from __future__ import annotations

from dataclasses import dataclass

from anpr_feed.detector import Box
from anpr_feed.types import Plate


@dataclass(frozen=True)
class PassEvent:
    """One vehicle pass with its plate read."""

    plate: Plate
    confidence: float  # 0..1: the winning reading's confidence times its share of the votes
    started_at: float  # timestamp of the first frame the plate was seen in
    ended_at: float  # ... and of the last
    reads: int  # readings that voted for this plate
    attempts: int  # reader calls on this track
    crop_jpeg: bytes  # the plate (with a margin) from the best reading's frame
    thumbnail_jpeg: bytes  # that frame, scaled down, with the plate boxed
    box: Box  # the plate's box in that frame (full-size pixels)
    track_id: int = 0
    colour: str | None = None  # plate background, if the reader said
    alert: str | None = None  # why it is alerted, if it is (see Pipeline.alert)
    alternatives: tuple[tuple[str, float], ...] = ()  # other readings and their vote weights
