"""Cost that follows the traffic: the gate skips empty road, yet every vehicle is read.

Three synthetic checkpoint feeds (H.264 files, a few vehicles each with empty
road between them) are read in one process, one frame of each in turn, with
the gate and without it (the pipeline on every frame, as before): the gated
feeds must give every plate the ungated ones give, while the detector ran on
far fewer frames. A feed worker encodes nothing while nobody watches, starts
(with a keyframe) when a viewer comes and stops when it leaves; a feed in a
meeting asks its worker for video only while a sink takes its picture.

No timed assertions: the reader has no CPU budget here (``ocr_budget=None``),
so what is read depends on the frames alone.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from anpr_feed import worker
from anpr_feed.gating import GatedPipeline, GateStats, MotionGate, shrink, small_gray
from anpr_feed.participant import UNWATCHED_FRAMES, FeedPublisher
from anpr_feed.pipeline import Pipeline, PipelineConfig
from anpr_feed.reader import RapidOcrReader
from anpr_feed.sources import SourcePolicy
from anpr_feed.types import Image, Reading
from conference.sfu import MediaPacket, SfuMetrics, Source
from tests.support import synth
from tests.support.waiting import wait_until

FPS = 25
SECONDS = 10
# (seed, vehicles a minute): two or three vehicles in 10 s, empty road between them.
FEEDS = ((51, 14.0), (52, 14.0), (53, 20.0))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[synth.VehicleTruth]]]:
    folder = tmp_path_factory.mktemp("gated-feeds")
    out = []
    for seed, per_minute in FEEDS:
        path = folder / f"feed-{seed}.mp4"
        truth = synth.generate(path, SECONDS, fps=FPS, seed=seed, vehicles_per_minute=per_minute)
        out.append((path, truth))
    return out


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    r = RapidOcrReader(threads=1)
    r.warm_up()
    return r


def _read_feeds(paths: list[Path], reader: RapidOcrReader, gate: bool) -> list[dict[str, Any]]:
    """Every feed in one process, one frame of each in turn, as the worker gives them."""
    config = replace(PipelineConfig(), ocr_budget=None)
    feeds = []
    for path in paths:
        container = av.open(str(path))
        feeds.append(
            {
                "container": container,
                "frames": container.decode(video=0),
                "gated": GatedPipeline(Pipeline(reader, config), enabled=gate),
                "plates": [],
                "converted": 0,
            }
        )
    live = list(feeds)
    index = 0
    while live:
        for feed in list(live):
            frame = next(feed["frames"], None)
            if frame is None:
                live.remove(feed)
                continue

            def bgr(frame: Any = frame, feed: dict[str, Any] = feed) -> Image:
                feed["converted"] += 1
                return np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)

            small = small_gray(frame) if gate else None
            events = feed["gated"].process(small, bgr, index / FPS)
            feed["plates"] += [e.plate.normalized for e in events]
        index += 1
    for feed in feeds:
        feed["plates"] += [e.plate.normalized for e in feed["gated"].flush()]
        feed["container"].close()
    return feeds


@pytest.fixture(scope="module")
def runs(
    clips: list[tuple[Path, list[synth.VehicleTruth]]], reader: RapidOcrReader
) -> dict[str, list[dict[str, Any]]]:
    paths = [path for path, _ in clips]
    return {"off": _read_feeds(paths, reader, gate=False), "on": _read_feeds(paths, reader, True)}


def test_the_gate_reads_every_plate_the_ungated_pipeline_reads(
    runs: dict[str, list[dict[str, Any]]], clips: list[tuple[Path, list[synth.VehicleTruth]]]
) -> None:
    for off, on, (_, truth) in zip(runs["off"], runs["on"], clips, strict=True):
        plates = {v.plate.normalized for v in truth}
        read = set(off["plates"]) & plates
        assert read, "the ungated pipeline read none of this feed's vehicles"
        assert set(off["plates"]) <= set(on["plates"]), (off["plates"], on["plates"])
        # One pass per vehicle with the gate too (no pass cut in two by a skipped stretch).
        assert len(on["plates"]) == len(set(on["plates"]))


def test_the_gate_skips_the_empty_road(runs: dict[str, list[dict[str, Any]]]) -> None:
    total = processed = 0
    for off, on in zip(runs["off"], runs["on"], strict=True):
        off_stats: GateStats = off["gated"].stats
        on_stats: GateStats = on["gated"].stats
        assert off_stats.processed == off_stats.frames == SECONDS * FPS  # the baseline: all
        assert on_stats.frames == SECONDS * FPS
        # Detector runs (frames the pipeline took) and BGR conversions: well under the frames.
        assert on["gated"].pipeline.stats.frames == on_stats.processed < on_stats.frames
        assert on["converted"] == on_stats.processed
        assert on_stats.heartbeats > 0  # the empty road was still looked at now and then
        total += on_stats.frames
        processed += on_stats.processed
    assert processed < 0.75 * total, (processed, total)


def test_motion_is_lasting_change_not_a_clock_tick_or_noise() -> None:
    rng = np.random.default_rng(5)
    road = rng.integers(60, 120, (720, 1280, 3), dtype=np.uint8)
    gate = MotionGate()

    def noisy(image: Image) -> Image:
        noise = rng.normal(0, 3, image.shape)
        return np.clip(image + noise, 0, 255).astype(np.uint8)

    assert gate.moving(shrink(noisy(road)))  # the first picture: nothing known, look
    assert not any(gate.moving(shrink(noisy(road))) for _ in range(10))
    # The camera's clock changes once: one frame's change, then it stays.
    ticked = road.copy()
    ticked[680:710, 1000:1240] = 255
    assert not any(gate.moving(shrink(noisy(ticked))) for _ in range(5))
    # A vehicle (a dark block) driving across: changes frame after frame.
    moved = []
    for step in range(6):
        frame = ticked.copy()
        frame[300:420, 200 + 40 * step : 400 + 40 * step] = 20
        moved.append(gate.moving(shrink(noisy(frame))))
    assert all(moved[1:])


class _NoPlates:
    """A reader that finds nothing: the worker's video is what these tests watch."""

    def read(self, image: Image) -> list[Reading]:
        return []


@pytest.fixture
def feed_worker(
    clips: list[tuple[Path, list[synth.VehicleTruth]]],
) -> Iterator[tuple[Any, list[tuple[Any, ...]]]]:
    """The feed worker on a file (in a thread, as ``bench/anpr_smoothness.py`` runs it)."""
    path = clips[0][0]
    ours, theirs = mp.Pipe()
    thread = threading.Thread(
        target=worker.run,
        args=("gated", str(path), theirs, False, True, lambda: Pipeline(_NoPlates())),
        kwargs={"policy": SourcePolicy(files_dir=path.parent)},
        daemon=True,
    )
    thread.start()
    messages: list[tuple[Any, ...]] = []
    yield ours, messages
    ours.send(("stop",))
    thread.join(30)


def _until(conn: Any, messages: list[tuple[Any, ...]], done: Any, limit: float = 120) -> None:
    """Read the worker's messages until ``done(messages)`` (a hung worker fails the test)."""
    deadline = time.monotonic() + limit
    while not done(messages):
        assert time.monotonic() < deadline, "the worker stopped talking"
        if conn.poll(0.5):
            messages.append(conn.recv())


def _frames(messages: list[tuple[Any, ...]]) -> int:
    return max((m[1]["frames"] for m in messages if m[0] == "status"), default=0)


def _packets(messages: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [m for m in messages if m[0] == "packet"]


def test_the_worker_encodes_only_while_someone_watches(
    feed_worker: tuple[Any, list[tuple[Any, ...]]],
) -> None:
    conn, messages = feed_worker
    _until(conn, messages, lambda m: _frames(m) >= 40)
    assert _packets(messages) == []  # 40 frames decoded and gated, none encoded
    status = [m[1] for m in messages if m[0] == "status"][-1]
    assert status["gate"]["frames"] >= 25 and status["gate"]["skipped"] > 0
    conn.send(("video", ["vp8"]))  # a viewer
    _until(conn, messages, lambda m: len(_packets(m)) >= 30)
    first = _packets(messages)[0]
    assert first[3] is True and first[4] == "vp8"  # it starts with a keyframe
    conn.send(("video", []))  # the viewer left
    seen = len(messages)
    # The worker reads its pipe before every packet it demuxes: by the second status
    # after the message (a second apart) it has read it, whatever the machine's load.
    _until(conn, messages, lambda m: len([x for x in m[seen:] if x[0] == "status"]) >= 2)
    settled = len(messages)
    frames_then = _frames(messages)
    _until(conn, messages, lambda m: _frames(m) >= frames_then + 40)
    assert _packets(messages[settled:]) == []


class _Runner:
    """What a :class:`FeedPublisher` needs of a feed's runner: who asked for video."""

    def __init__(self) -> None:
        self.feed = type("Feed", (), {"id": "f1", "checkpoint": "Trạm 1", "name": "cam"})()
        self.listeners: list[Any] = []
        self.keyframes = 0

    def watch(self, codec: str, listener: Any) -> None:
        self.listeners.append(listener)

    def unwatch(self, codec: str, listener: Any) -> None:
        self.listeners.remove(listener)

    def request_keyframe(self) -> None:
        self.keyframes += 1


class _Viewer:
    """A sink that counts what it is given."""

    def __init__(self) -> None:
        self.packets = 0

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.packets += 1

    def on_source_ended(self, source: Source) -> None:
        pass


async def test_a_feed_in_a_meeting_asks_for_video_only_while_a_sink_takes_it() -> None:
    runner = _Runner()
    publisher = FeedPublisher(runner, "vp8", SfuMetrics())
    publisher.start()
    assert runner.listeners == [] and not publisher.watching  # in the room, nobody looks
    viewer = _Viewer()
    publisher.source.add_sink(viewer)
    publisher.source.request_keyframe()  # what a slot or the recorder does as it attaches
    assert runner.listeners == [publisher.on_frame] and publisher.viewers == 1
    publisher.on_frame(b"\x10\x02\x00\x9d\x01\x2a" + bytes(40), 0, True, "vp8")
    assert viewer.packets > 0
    publisher.source.remove_sink(viewer)
    for index in range(UNWATCHED_FRAMES - 1):
        publisher.on_frame(bytes(40), 3600 * (index + 1), False, "vp8")
    assert runner.listeners  # a slot switching sources detaches for a moment: keep going
    publisher.on_frame(bytes(40), 3600 * UNWATCHED_FRAMES, False, "vp8")
    assert runner.listeners == [] and not publisher.watching
    publisher.source.add_sink(viewer)
    publisher.source.request_keyframe()  # throttled by the source: deferred, never dropped
    await wait_until(lambda: bool(runner.listeners), timeout=10)
    assert runner.listeners == [publisher.on_frame]
    publisher.stop()
    assert runner.listeners == []
