"""What the cameras read and alert on: plate events, watch-list entries, outbreak markings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlateEvent:
    """One vehicle pass read at a checkpoint."""

    id: str
    feed_id: str
    checkpoint: str
    at: float  # unix seconds
    plate: str  # normalised, e.g. "20A12345"
    display: str  # e.g. "20A-123.45"
    province_code: str
    confidence: float
    crop: str | None = None  # file name of the plate crop (JPEG) under DATA_DIR/anpr
    thumbnail: str | None = None  # file name of the frame thumbnail (JPEG)
    alert: str | None = None  # why it raised an alert, if it did
    colour: str | None = None  # plate background where the reader saw it: see PLATE_COLOURS
    # The unit of the camera's checkpoint when the pass was read: who may see the
    # event (its subtree's hosts and operators), whatever becomes of the camera.
    # None (a camera of no unit, or the camera was gone when units were first
    # kept): administrators only.
    unit_code: str | None = None


# Plate backgrounds (Circular 58/2020/TT-BCA art. 25): white private, yellow
# commercial transport, blue state bodies, red military.
PLATE_COLOURS = ("white", "yellow", "blue", "red")


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """A plate (exact, or with * and ? wildcards) to raise an alert for."""

    id: str
    pattern: str  # normalised upper case, e.g. "30A12345", "29A*", "*8888"
    reason: str
    created_by: str
    created_at: float
    unit_code: str | None = None  # the unit of the supervisor who listed it (None: an admin)


@dataclass(frozen=True, slots=True)
class Outbreak:
    """A province marked as an outbreak zone for a date range (inclusive)."""

    id: str
    province_code: str
    start: str  # ISO date, e.g. "2021-11-01"
    end: str
    reason: str
    created_by: str
    created_at: float
    unit_code: str | None = None  # the unit of the supervisor who marked it (None: an admin)


@dataclass(frozen=True, slots=True)
class PlateQuery:
    """What a plate-event search asks for (see ``PlateEventStore.search_plate_events``)."""

    plate: str | None = None  # any part of the plate, read as plate_query reads it
    start: float | None = None  # the window: start <= at < end
    end: float | None = None
    checkpoint: str | None = None
    limit: int = 100
    feed_ids: Sequence[str] | None = None  # only these cameras
    unit_codes: Sequence[str] | None = None  # only the events kept for these units


def plate_query(text: str | None) -> str:
    """What part of a plate a search means: upper case letters and digits only (both engines)."""
    if not text:
        return ""
    return "".join(ch for ch in text.upper().replace("Đ", "D") if ch.isascii() and ch.isalnum())[
        :16
    ]
