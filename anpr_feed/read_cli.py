"""``conference anpr read IMAGE_OR_VIDEO... [--json]``: read plates from files by hand.

For an operator checking what a camera sees: every plate found is one line on
standard output, tab-separated so that ``cut`` works::

    FILE    PLATE     DISPLAY      CONFIDENCE  PROVINCE      [TIME]
    a.jpg   20A12345  20A-123.45   0.982       Thái Nguyên
    cam.mp4 29B112345 29-B1 123.45 0.951       Hà Nội        12.40-14.84s

The sixth column (video only) is the pass's time offset from the start of the
video: the first and last time the plate was seen. With ``--json`` each line
is a JSON object instead (keys ``file``, ``plate``, ``display``,
``confidence``, ``province``, ``province_code``, ``series``, ``number``,
``lines``, ``kind``, ``colour``, ``repaired``, ``box``; for a video also
``time``, ``started_at``, ``ended_at`` in seconds and ``reads``).

Images go through the reader directly. Videos go through
:class:`anpr_feed.pipeline.Pipeline`, frame by frame, so that a vehicle
passing the camera gives one line (its pass), not one line per frame.

A file that is missing or neither an image nor a video is reported on
standard error and skipped; the others are still read and the exit status is
1. A file where no plate is found is said so on standard error (that is not
an error: exit status 0 if nothing else went wrong).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from anpr_feed.reader import RapidOcrReader
from anpr_feed.types import Image, Plate
from anpr_feed.video_files import VIDEO_SUFFIXES

PROG = "conference anpr read"


class UnreadableFile(Exception):
    """The file is missing or is neither an image nor a decodable video."""


def read_command(paths: list[str], json_lines: bool) -> int:
    """Read every file in ``paths``, print one line per plate; 0, or 1 if a file failed."""
    reader = RapidOcrReader()
    status = 0
    for path in paths:
        try:
            rows = list(read_path(reader, path))
        except UnreadableFile as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            status = 1
            continue
        if not rows:
            print(f"{PROG}: {path}: no plate found", file=sys.stderr)
        for row in rows:
            _emit(row, json_lines, sys.stdout)
        sys.stdout.flush()
    return status


def read_path(reader: RapidOcrReader, path: str) -> Iterator[dict[str, Any]]:
    """The plates in one file as JSON-ready dicts (see the module docstring).

    Raises :class:`UnreadableFile` if the file is missing or undecodable.
    """
    p = Path(path)
    if not p.exists():
        raise UnreadableFile(f"{path}: no such file")
    if not p.is_file():
        raise UnreadableFile(f"{path}: not a file")
    image: Image | None = None
    if p.suffix.lower() not in VIDEO_SUFFIXES:
        try:
            data = np.fromfile(str(p), dtype=np.uint8)
        except OSError as exc:
            raise UnreadableFile(f"{path}: cannot read ({exc.strerror or exc})") from exc
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if decoded is not None:
            image = np.asarray(decoded, dtype=np.uint8)
    if image is not None:
        for r in reader.read(image):
            row = plate_fields(r.plate)
            row.update(
                file=path,
                confidence=round(float(r.confidence), 3),
                colour=r.colour,
                box=list(r.box),
            )
            yield row
        return
    yield from _read_video(reader, p, path)


def _read_video(reader: RapidOcrReader, p: Path, path: str) -> Iterator[dict[str, Any]]:
    """One row per vehicle pass, through the pipeline (every frame, in order)."""
    import av

    from anpr_feed.pipeline import Pipeline, PipelineConfig

    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError) as exc:
        raise UnreadableFile(f"{path}: not an image or a video") from exc
    with container:
        if not container.streams.video:
            raise UnreadableFile(f"{path}: not an image or a video (no video stream)")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 25)
        # A file is read offline: no share-of-real-time budget, every vehicle gets its reads.
        pipeline = Pipeline(reader, PipelineConfig(ocr_budget=None))
        first: float | None = None
        frames = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else index / rate
                if first is None:
                    first = t
                bgr = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
                frames += 1
                for event in pipeline.process(bgr, t - first):
                    yield _pass_row(path, event)
        except av.FFmpegError as exc:
            if frames == 0:
                raise UnreadableFile(
                    f"{path}: not an image or a video (cannot decode: {exc})"
                ) from exc
            print(
                f"{PROG}: {path}: decoding stopped after {frames} frames ({exc})", file=sys.stderr
            )
        if frames == 0:
            raise UnreadableFile(f"{path}: not an image or a video (no frames)")
        for event in pipeline.flush():
            yield _pass_row(path, event)


def _pass_row(path: str, event: Any) -> dict[str, Any]:
    row = plate_fields(event.plate)
    row.update(
        file=path,
        confidence=round(float(event.confidence), 3),
        colour=getattr(event, "colour", None),
        box=list(getattr(event, "box", ()) or ()),
        time=round(float(event.started_at), 2),
        started_at=round(float(event.started_at), 2),
        ended_at=round(float(event.ended_at), 2),
        reads=getattr(event, "reads", None),
    )
    return row


def plate_fields(plate: Plate) -> dict[str, Any]:
    """The plate's own fields, in output order (file and confidence filled in later)."""
    return {
        "file": "",
        "plate": plate.normalized,
        "display": plate.display,
        "confidence": 0.0,
        "province": plate.province,
        "province_code": plate.province_code,
        "series": plate.series,
        "number": plate.number,
        "lines": plate.lines,
        "kind": plate.kind,
        "repaired": list(plate.repaired),
    }


def format_line(row: dict[str, Any]) -> str:
    """The plain, tab-separated line of a row."""
    cols = [
        _clean(row["file"]),
        row["plate"],
        row["display"],
        f"{row['confidence']:.3f}",
        row["province"],
    ]
    if "started_at" in row:
        cols.append(f"{row['started_at']:.2f}-{row['ended_at']:.2f}s")
    return "\t".join(cols)


def _clean(text: str) -> str:
    # A tab or line break in a file name would shift the columns.
    return text.replace("\t", " ").replace("\n", " ")


def _emit(row: dict[str, Any], json_lines: bool, out: TextIO) -> None:
    if json_lines:
        print(json.dumps(row, ensure_ascii=False), file=out)
    else:
        print(format_line(row), file=out)
