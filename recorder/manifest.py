"""The manifest of a recording: what was recorded, when, by whom, and what happened.

A recording is a directory ``DATA_DIR/recordings/<id>/`` holding one
Matroska/WebM file per published track and ``manifest.json``. The manifest is
rewritten atomically (temporary file, then rename) while recording, so a
crash leaves the last good version; its ``status`` says whether the recording
ended normally.

Times are Unix seconds on the **server's** clock. Each track's ``sync``
points map its media time (seconds from its first frame) to that clock, from
the publisher's RTCP sender reports, so tracks of different sites align and a
site's audio and video stay in sync over hours even when its clocks drift.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

MANIFEST = "manifest.json"
VERSION = 1


class RecordingStatus(StrEnum):
    """Where a recording is in its life."""

    RECORDING = "recording"
    COMPLETE = "complete"  # stopped by the host, the schedule or the room closing
    STOPPED_LOW_DISK = "stopped-low-disk"
    INTERRUPTED = "interrupted"  # the server died while recording; files are good up to then


class TrackEntry(BaseModel):
    """One file: one track of one site, from one join (a rejoin starts a new file)."""

    file: str
    site_id: str
    site_name: str
    kind: Literal["audio", "video"]
    codec: str  # "vp8", "h264", "opus"
    clock_rate: int  # 90000 or 48000
    started_at: float  # server time the file was opened
    first_frame_at: float | None = None  # server time of the first frame's capture
    last_frame_at: float | None = None
    frames: int = 0
    bytes: int = 0
    # Frames not written because the disk fell behind (the writer's queue was
    # full); manifests written before this was counted read as 0.
    dropped_frames: int = 0
    width: int | None = None
    height: int | None = None
    closed: bool = False
    sync: list[tuple[float, float]] = Field(
        default_factory=list,
        description="(media seconds, server time) pairs; interpolate between them",
    )
    clock: Literal["rtcp", "arrival"] = "arrival"  # what first_frame_at and sync came from
    # What the video shows: the site's camera, or its presentation (screen share),
    # which a composite shows large; manifests written before it read as camera.
    content: Literal["camera", "screen"] = "camera"


class Event(BaseModel):
    """Something that happened in the room while recording."""

    at: float
    type: str  # join, leave, mute, floor, spotlight, speaker, hand, lock, plate, recording-started, ...
    site_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class UnitEntry(BaseModel):
    """A unit of the meeting's invited sites."""

    code: str
    name: str
    type: str
    depth: int


class Manifest(BaseModel):
    """Everything about one recording."""

    version: int = VERSION
    id: str
    room_id: str
    room_name: str
    meeting_id: str | None = None
    meeting_title: str | None = None
    meeting_start: float | None = None
    meeting_end: float | None = None
    host_site: str | None = None
    units: list[UnitEntry] = Field(default_factory=list)
    invited_sites: list[str] = Field(default_factory=list)
    status: RecordingStatus = RecordingStatus.RECORDING
    started_at: float
    ended_at: float | None = None
    started_by: str | None = None
    stop_reason: str | None = None
    tracks: list[TrackEntry] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    def sites(self) -> dict[str, str]:
        """site id -> name of every site that has a track."""
        return {t.site_id: t.site_name for t in self.tracks}

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to the last frame of an interrupted one)."""
        end = self.ended_at
        if end is None:
            ends = [t.last_frame_at for t in self.tracks if t.last_frame_at is not None]
            end = max(ends) if ends else None
        return None if end is None else max(0.0, end - self.started_at)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (a crash leaves the old or the new one, never half)."""
    write_manifest_bytes(directory, manifest_bytes(manifest))


def manifest_bytes(manifest: Manifest) -> bytes:
    """What :func:`write_manifest` writes (taken on the thread that owns the manifest)."""
    return manifest.model_dump_json(indent=1).encode("utf-8")


def write_manifest_bytes(directory: Path, data: bytes) -> None:
    """Replace the manifest with ``data`` atomically; it waits for the disk (fsync)."""
    target = directory / MANIFEST
    temporary = directory / f".{MANIFEST}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def read_manifest(directory: Path) -> Manifest:
    """Load a recording's manifest."""
    return Manifest.model_validate(json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
