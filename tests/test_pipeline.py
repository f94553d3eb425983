"""The checkpoint pipeline end to end with the real reader (RapidOCR) on synthetic pictures.

A short synthetic checkpoint clip (fixed seed, every layout, the scene's signs
and billboard) must give one pass per vehicle with the exact plate; a static
plate-shaped sign must never give a pass, while a plate moving in front of it
is read; an alerted plate gets a red banner on the annotated picture.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from anpr_feed.pipeline import (
    PassEvent,
    Pipeline,
    PipelineConfig,
    _rides_above,
    image_from_jpeg,
)
from anpr_feed.reader import RapidOcrReader
from anpr_feed.tracker import Track
from anpr_feed.types import Image, Plate
from tests.support import synth

FPS = 25
WATCHED_REASON = "xe bị truy tìm"


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    r = RapidOcrReader(threads=1)
    r.warm_up()
    return r


@dataclass
class ClipRun:
    truth: list[synth.VehicleTruth]
    events: list[PassEvent]
    pipeline: Pipeline
    watched: str
    banner_frames: int  # annotated frames with the alert banner at the top
    last_frame: Image


@pytest.fixture(scope="module")
def clip_run(reader: RapidOcrReader) -> ClipRun:
    """12 s of a day checkpoint at 30 vehicles a minute (six vehicles), read frame by frame."""
    scene = synth.CheckpointScene(12, fps=FPS, seed=11, vehicles_per_minute=30)
    truth = [v for v in scene.truth if v.boxes]
    watched = truth[1].plate.normalized

    def watch(plate: Plate) -> str | None:
        return WATCHED_REASON if plate.normalized == watched else None

    pipeline = Pipeline(reader, watch=watch)
    events: list[PassEvent] = []
    banner_frames = 0
    frame: Image | None = None
    for index, frame in enumerate(scene.frames()):
        events += pipeline.process(frame, index / FPS)
        if index % 5 == 0:
            annotated = pipeline.annotate(frame)
            if _has_banner(annotated, frame):
                banner_frames += 1
    events += pipeline.flush()
    assert frame is not None
    return ClipRun(truth, events, pipeline, watched, banner_frames, frame)


def _has_banner(annotated: Image, original: Image) -> bool:
    """The top band of the picture was painted red (BGR: red channel high, blue low)."""
    band = annotated[2:20, 200:-200].astype(np.int32)
    changed = np.abs(band - original[2:20, 200:-200].astype(np.int32)).mean() > 30
    b, r = band[..., 0].mean(), band[..., 2].mean()
    return bool(changed and r > 150 and b < 120)


def test_one_pass_per_vehicle_with_the_exact_plate(clip_run: ClipRun) -> None:
    want = sorted(v.plate.normalized for v in clip_run.truth)
    got = sorted(e.plate.normalized for e in clip_run.events)
    assert len(want) == 6
    assert len({v.plate.layout for v in clip_run.truth}) >= 4
    assert got == want


def test_passes_are_timed_within_the_vehicles_time_in_view(clip_run: ClipRun) -> None:
    by_plate = {v.plate.normalized: v for v in clip_run.truth}
    for event in clip_run.events:
        vehicle = by_plate[event.plate.normalized]
        assert vehicle.entry_frame / FPS - 0.05 <= event.started_at <= event.ended_at
        assert event.ended_at <= vehicle.exit_frame / FPS + 0.05
        assert 0.5 <= event.confidence <= 1.0
        assert 1 <= event.reads <= event.attempts


def test_crop_and_thumbnail_are_jpeg_pictures_of_the_plate(clip_run: ClipRun) -> None:
    for event in clip_run.events:
        assert event.crop_jpeg[:2] == b"\xff\xd8" and event.thumbnail_jpeg[:2] == b"\xff\xd8"
        crop = image_from_jpeg(event.crop_jpeg)
        thumb = image_from_jpeg(event.thumbnail_jpeg)
        _, _, w, h = event.box
        # The crop is the plate with a margin; the thumbnail is the frame scaled to 640 px.
        assert w <= crop.shape[1] <= w * 2 + 20 and h <= crop.shape[0] <= h * 2 + 20
        assert thumb.shape[1] == 640 and thumb.shape[0] == 360
        assert crop.std() > 20  # lettering, not a flat patch


def test_no_pass_for_the_scenes_static_text(clip_run: ClipRun) -> None:
    texts = {t.replace("-", "").replace(".", "").replace(" ", "") for t in synth.scene_texts()}
    assert "30K99999" in texts  # the plate-auction billboard is in every frame
    assert not {e.plate.normalized for e in clip_run.events} & texts


def test_watched_plate_alerts_and_banner_is_drawn(clip_run: ClipRun) -> None:
    alerted = [e for e in clip_run.events if e.alert]
    assert [e.plate.normalized for e in alerted] == [clip_run.watched]
    assert alerted[0].alert == WATCHED_REASON
    assert clip_run.banner_frames > 0


def test_alert_banner_on_command(reader: RapidOcrReader) -> None:
    pipeline = Pipeline(reader)
    frame = np.full((720, 1280, 3), 90, np.uint8)
    pipeline.process(frame, 0.0)
    plain = pipeline.annotate(frame)
    assert np.array_equal(plain, frame)  # nothing moving, nothing drawn
    pipeline.alert("30A12345", "xe bị truy tìm")
    annotated = pipeline.annotate(frame)
    assert _has_banner(annotated, frame)
    assert np.array_equal(frame, np.full((720, 1280, 3), 90, np.uint8))  # a copy was drawn on
    pipeline.clear_alert("30A12345")
    assert np.array_equal(pipeline.annotate(frame), frame)


# ---------------------------------------------------------------------------- a sign and a plate


def _plate(normalized_rows: tuple[str, ...], layout: str, colour: str = "white") -> synth.PlateSpec:
    text = "".join(normalized_rows).replace("-", "").replace(".", "")
    return synth.PlateSpec(
        text, " ".join(normalized_rows), normalized_rows, layout, colour, text[:2]
    )


def _sign_scene(frames: int) -> list[Image]:
    """A static plate-shaped billboard whose lit heading flickers, and a car passing in front.

    The flicker makes the detector's box of the sign jump between the whole
    board and its plate-shaped number, as the synthetic scene's billboard did
    when it was once read as a pass.
    """
    rng = np.random.default_rng(5)
    background = np.clip(rng.normal(96, 6, (720, 1280, 3)), 0, 255).astype(np.uint8)
    board = np.full((130, 270, 3), 235, np.uint8)
    sign_plate = synth.render_plate(_plate(("30K-999.99",), "car_1line"), 0.45)
    ph, pw = sign_plate.shape[:2]
    board[70 : 70 + ph, 15 : 15 + pw] = sign_plate
    heading = board.copy()
    synth.stamp(
        heading,
        synth.font(synth.SIGN_FONT).mask("ĐẤU GIÁ BIỂN SỐ", 30),
        (15, 12, 240, 34),
        (30, 30, 180),
    )
    car_plate = synth.render_plate(_plate(("51G-382.17",), "car_1line", "yellow"), 0.32)
    out = []
    for i in range(frames):
        frame = background.copy()
        frame[280:410, 60:330] = heading if (i // 3) % 2 == 0 else board
        x = 1000 - 14 * i  # the car drives right to left, across the sign
        x0, x1 = max(x, 0), min(x + 330, 1280)
        if x1 > x0:
            body = np.full((170, 330, 3), (40, 50, 150), np.uint8)
            body[110 : 110 + car_plate.shape[0], 90 : 90 + car_plate.shape[1]] = car_plate
            frame[250:420, x0:x1] = body[:, x0 - x : x1 - x]
        noise = rng.normal(0, 3, frame.shape)
        out.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return out


def test_static_sign_never_passes_but_a_plate_crossing_it_is_read(reader: RapidOcrReader) -> None:
    pipeline = Pipeline(reader)
    events: list[PassEvent] = []
    frames = _sign_scene(100)
    for index, frame in enumerate(frames):
        events += pipeline.process(frame, index / FPS)
    events += pipeline.flush()
    assert [e.plate.normalized for e in events] == ["51G38217"]
    assert events[0].colour == "yellow"  # a commercial vehicle's plate, kept with the pass
    # The sign was found by the detector all along, and never read.
    assert pipeline.stats.candidates > len(frames)
    assert pipeline.stats.reads <= 4


def _track(track_id: int, boxes: list[tuple[int, int, int, int]], start: int = 0) -> Track:
    track = Track(track_id, boxes[-1], start, start + len(boxes) - 1, 0.0, 0.0)
    for i, box in enumerate(boxes):
        track.history.append((start + i, box))
    return track


def test_lettering_riding_above_a_plate_is_told_from_a_second_vehicle() -> None:
    """A coach's phone number moves with its plate, just above it; another vehicle does not."""
    plate = _track(1, [(500, 200 + 20 * i, 150, 32) for i in range(10)])
    phone = _track(2, [(470, 130 + 19 * i, 210, 36) for i in range(10)])
    assert _rides_above(phone, plate)
    assert not _rides_above(plate, phone)  # the plate is the lower one
    # A car behind in the same lane, slower: not on the same vehicle.
    behind = _track(3, [(505, 120 + 12 * i, 120, 26) for i in range(10)])
    assert not _rides_above(behind, plate)
    # A motorbike alongside at the same speed: beside, not above.
    beside = _track(4, [(760, 180 + 20 * i, 60, 44) for i in range(10)])
    assert not _rides_above(beside, plate)


class GatedReader:
    """A reader whose calls wait until the test opens the gate."""

    name = "gated"

    def __init__(self, inner: RapidOcrReader) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.called = threading.Event()

    def read(self, image: Image) -> list:
        self.called.set()
        assert self.gate.wait(120), "the gate was never opened"
        return self.inner.read(image)


def test_background_reads_let_the_frames_go_on(reader: RapidOcrReader) -> None:
    """A live feed's frames keep flowing while a plate is read; the reading counts later."""
    scene = synth.CheckpointScene(12, fps=FPS, seed=11, vehicles_per_minute=30)
    truth = {v.plate.normalized for v in scene.truth if v.boxes}
    gated = GatedReader(reader)
    pipeline = Pipeline(gated, PipelineConfig(background_reads=True))
    events: list[PassEvent] = []
    held = 0
    for index, frame in enumerate(scene.frames()):
        events += pipeline.process(frame, index / FPS)
        if gated.called.is_set() and not gated.gate.is_set():
            held += 1  # this frame went through while the first read was still waiting
            assert pipeline.stats.reads == 0
            if held == 10:
                gated.gate.set()
    events += pipeline.flush()
    assert held == 10 and pipeline.stats.reads > 0
    read = [e.plate.normalized for e in events]
    assert set(read) <= truth  # nothing read that is not there
    assert len(set(read)) >= len(truth) - 1 and len(read) == len(set(read))


def test_plates_one_character_apart() -> None:
    from anpr_feed.pipeline import one_character_apart

    assert one_character_apart("69MD351779", "59MD351779")
    assert not one_character_apart("69MD351779", "69MD351779")  # the same plate
    assert not one_character_apart("69MD351779", "58MD351779")  # two apart
    assert not one_character_apart("29A12345", "29A123456")  # another length
