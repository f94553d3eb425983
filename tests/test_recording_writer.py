"""recorder.writer: track files written on their own threads, off the forwarding loop.

The loop only queues frames; a slow disk makes frames drop (counted), never
the loop wait; files are complete once a recording stops; and while it
records, what the crash-safety promise covers is in the file, readable by
another process, within a batch interval.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import av
import pytest

import recorder.writer as writer_module
from conference.rooms.participant import Participant
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.tokens import Role
from recorder.manifest import Manifest, RecordingStatus, read_manifest
from recorder.session import RoomRecorder
from recorder.writer import BATCH_SECONDS, TrackFormat, TrackWriter
from tests.support.media import EncodedClip, encode_h264, encode_opus, encode_vp8

VP8_FORMAT = TrackFormat(container="webm", codec="libvpx", clock_rate=90000, width=320, height=240)
FRAME_TICKS = 3000  # 30 fps at 90 kHz


@pytest.fixture(scope="module")
def clip() -> EncodedClip:
    return encode_vp8(frames=90, gop=30)  # 3 s, a keyframe a second


def frames_in(path: Path) -> int:
    """Video frames decoded from ``path`` by another process, as a player or the renderer would."""
    script = (
        "import av, sys\n"
        "with av.open(sys.argv[1]) as c:\n"
        "    print(sum(1 for _ in c.decode(video=0)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    return int(done.stdout.strip() or 0)


def put_clip(writer: TrackWriter, clip: EncodedClip, count: int | None = None) -> int:
    accepted = 0
    for index, data in enumerate(clip.payloads[:count]):
        accepted += writer.put(data, index * FRAME_TICKS, clip.keyframes[index])
    return accepted


async def test_files_are_complete_once_the_writer_finishes(tmp_path: Path, clip) -> None:
    writer = TrackWriter(tmp_path / "a.webm", VP8_FORMAT)
    assert put_clip(writer, clip) == 90
    writer.close()
    await writer.wait()
    assert writer.finished and not writer.failed and writer.written == 90
    assert frames_in(tmp_path / "a.webm") == 90
    with av.open(str(tmp_path / "a.webm")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        # The trailer is written: the file knows its length (a player can seek it).
        assert container.duration is not None and container.duration >= 2_900_000
    assert (tmp_path / "a.webm").stat().st_mode & 0o077 == 0  # private, as before


async def test_h264_and_opus_files(tmp_path: Path) -> None:
    h264, opus = encode_h264(frames=30), encode_opus(1.0)
    video = TrackWriter(
        tmp_path / "v.mkv",
        TrackFormat(container="matroska", codec="libx264", clock_rate=90000, width=320, height=240),
    )
    audio = TrackWriter(
        tmp_path / "a.webm", TrackFormat(container="webm", codec="libopus", clock_rate=48000)
    )
    assert put_clip(video, h264) == 30
    for index, data in enumerate(opus.payloads):
        assert audio.put(data, index * 960, True)
    video.close()
    audio.close()
    await asyncio.gather(video.wait(), audio.wait())
    assert frames_in(tmp_path / "v.mkv") == 30
    with av.open(str(tmp_path / "a.webm")) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.extradata  # OpusHead: browsers' WebM players want it
        assert sum(1 for _ in container.decode(stream)) == len(opus.payloads)


async def test_a_full_queue_drops_and_counts_and_never_blocks(
    tmp_path: Path, clip, caplog: pytest.LogCaptureFixture
) -> None:
    # The thread is held before it takes anything (the manifest is "not on
    # disk yet"): the queue only fills, as it does when the disk stalls.
    ready = threading.Event()
    writer = TrackWriter(tmp_path / "a.webm", VP8_FORMAT, ready=ready, queue_frames=40)
    with caplog.at_level(logging.WARNING, logger="recorder.writer"):
        # The writer thread is held, so a put that waited for room in the
        # queue would wait forever: that all 90 return is the proof.
        accepted = put_clip(writer, clip)
    assert accepted == 40 and writer.dropped == 50
    drops = [r for r in caplog.records if "frame(s) dropped" in r.getMessage()]
    assert len(drops) == 1  # rate-limited: one line, not fifty
    assert not (tmp_path / "a.webm").exists()  # no file before the manifest is on disk
    ready.set()
    writer.close()
    await writer.wait()
    assert writer.written == 40 and frames_in(tmp_path / "a.webm") == 40


async def test_queue_is_bounded_in_bytes_too(tmp_path: Path, clip) -> None:
    ready = threading.Event()
    biggest = max(len(p) for p in clip.payloads)
    writer = TrackWriter(tmp_path / "a.webm", VP8_FORMAT, ready=ready, queue_bytes=biggest * 3)
    accepted = put_clip(writer, clip)
    assert 3 <= accepted < 90 and writer.dropped == 90 - accepted
    ready.set()
    writer.close()
    await writer.wait()
    assert writer.written == accepted


async def test_written_frames_are_readable_by_another_process_while_recording(
    tmp_path: Path, clip
) -> None:
    # Crash safety: clusters close every second of media and each packet is
    # flushed, so once the thread took a batch, everything up to the last
    # closed cluster is in the file (kill -9 cannot take it back).
    writer = TrackWriter(tmp_path / "a.webm", VP8_FORMAT)
    try:
        put_clip(writer, clip)
        # However busy the machine, wait until the thread has taken all 90
        # (a deadline only against a hang, not a speed assertion).
        for _ in range(600):
            if writer.written == 90:
                break
            await asyncio.sleep(BATCH_SECONDS)
        assert writer.written == 90 and not writer.finished
        assert frames_in(tmp_path / "a.webm") >= 60  # the first two 1 s clusters at least
    finally:
        writer.close()
        await writer.wait()


async def test_the_loop_keeps_turning_while_the_disk_is_slow(
    tmp_path: Path, clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_mux = writer_module.TrackWriter._mux
    loop_thread = threading.get_ident()
    muxing = threading.Event()  # set while a frame is being written
    mux_threads: set[int] = set()

    def mux_on_a_slow_disk(self: TrackWriter, *args: Any) -> None:
        mux_threads.add(threading.get_ident())
        muxing.set()
        time.sleep(0.02)  # 20 ms a frame: a disk far behind
        slow_mux(self, *args)
        muxing.clear()

    monkeypatch.setattr(writer_module.TrackWriter, "_mux", mux_on_a_slow_disk)
    writer = TrackWriter(tmp_path / "a.webm", VP8_FORMAT)
    put_clip(writer, clip, 30)
    writer.close()
    finishing = asyncio.ensure_future(writer.wait())
    turns_while_muxing = 0
    while not finishing.done():
        await asyncio.sleep(0.005)
        turns_while_muxing += muxing.is_set()
    assert writer.written == 30 and frames_in(tmp_path / "a.webm") == 30
    # Every frame was written off the loop's thread, and the loop kept
    # turning while a write was in progress (no timing: counts only).
    assert mux_threads and loop_thread not in mux_threads
    assert turns_while_muxing > 0


def vp8_packets(clip: EncodedClip, source: Source) -> list[MediaPacket]:
    """One RTP packet per frame: a VP8 payload descriptor (S=1, PID 0) and the frame."""
    return [
        MediaPacket(
            sequence_number=index,
            timestamp=index * FRAME_TICKS,
            marker=1,
            payload=b"\x10" + data,
            keyframe=clip.keyframes[index],
            audio_level=None,
            arrival=time.monotonic(),
            abs_send_time=b"\x00\x00\x00",
        )
        for index, data in enumerate(clip.payloads)
    ]


def opus_packets(audio: EncodedClip) -> list[MediaPacket]:
    return [
        MediaPacket(
            sequence_number=index,
            timestamp=index * 960,
            marker=0,
            payload=data,
            keyframe=True,
            audio_level=None,
            arrival=time.monotonic(),
            abs_send_time=b"\x00\x00\x00",
        )
        for index, data in enumerate(audio.payloads)
    ]


async def test_a_room_recording_writes_off_the_loop_and_stop_waits_for_the_files(
    tmp_path: Path, clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened_on: list[str] = []
    real_open = writer_module.av.open

    def watched_open(*args: Any, **kwargs: Any) -> Any:
        opened_on.append(threading.current_thread().name)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(writer_module.av, "open", watched_open)
    metrics = SfuMetrics()
    video = Source(source_id="v", owner="05536", kind="video", metrics=metrics)
    video.codec = "VP8"
    audio = Source(source_id="a", owner="05536", kind="audio", metrics=metrics)
    audio.codec = "opus"
    site = Participant(id="05536", name="Xã Chợ Chu", role=Role.PARTICIPANT)
    site.sources = {"video": video, "audio": audio}
    manifest = Manifest(id="r1", room_id="phong", room_name="Phòng", started_at=time.time())
    stopped: list[RoomRecorder] = []
    recording = RoomRecorder(tmp_path / "r1", manifest, 0, on_stopped=stopped.append)
    recording.start()
    recording.participant_joined(site)
    opus = encode_opus(2.0)
    for packet in vp8_packets(clip, video):
        video.push(packet)
    for packet in opus_packets(opus):
        audio.push(packet)
    assert opened_on == []  # the loop only queued: the files are the threads' work
    done = await recording.stop()
    again = await recording.stop()  # a second stop waits for the same work
    assert done is again is manifest and stopped == [recording]
    assert opened_on and all(name.startswith("recorder ") for name in opened_on)
    on_disk = read_manifest(tmp_path / "r1")
    assert on_disk.status is RecordingStatus.COMPLETE
    tracks = {t.kind: t for t in on_disk.tracks}
    assert all(t.closed for t in on_disk.tracks)  # marked closed once the file was finished
    assert tracks["video"].frames == 90 and frames_in(tmp_path / "r1" / tracks["video"].file) == 90
    with av.open(str(tmp_path / "r1" / tracks["audio"].file)) as container:
        assert sum(1 for _ in container.decode(audio=0)) == len(opus.payloads)
    assert video.sinks == () and audio.sinks == ()


async def test_after_a_drop_video_waits_for_the_next_keyframe(tmp_path: Path, clip) -> None:
    from recorder.manifest import TrackEntry
    from recorder.track import ClockOffset, TrackRecorder

    video = Source(source_id="v", owner="05536", kind="video", metrics=SfuMetrics())
    video.codec = "VP8"
    entry = TrackEntry(
        file="v.webm",
        site_id="05536",
        site_name="Xã Chợ Chu",
        kind="video",
        codec="vp8",
        clock_rate=90000,
        started_at=time.time(),
    )
    ready = threading.Event()  # the disk "stalls" until set
    track = TrackRecorder(video, tmp_path / "v.webm", entry, ClockOffset(), ready=ready)
    video.add_sink(track)
    packets = vp8_packets(clip, video)
    for packet in packets[:45]:
        video.push(packet)
    assert track._writer is not None
    track._writer._queue_frames = 0  # full from now on
    video.push(packets[45])  # dropped
    track._writer._queue_frames = 500
    for packet in packets[46:]:
        video.push(packet)
    assert track.dropped_frames == 1
    ready.set()
    track.close()
    await track.finished()
    # 0-44 kept; 46-59 depend on the dropped 45 and are skipped; 60 is a keyframe.
    assert entry.closed and entry.frames == 45 + 30
    assert frames_in(tmp_path / "v.webm") == 75


async def test_a_recording_that_finishes_late_does_not_hide_the_next_ones_indicator(
    tmp_path: Path,
) -> None:
    from conference.rooms.room import Room
    from conference.settings import Settings
    from recorder.control import RecordingControl

    class Live:  # the two questions RecordingControl asks of the live rooms
        def __init__(self, room: Room) -> None:
            self.room = room

        def get(self, room_id: str) -> Room | None:
            return self.room if room_id == self.room.id else None

        def meeting(self, room_id: str) -> None:
            return None

    room = Room("phong", "Phòng họp", "VP8")
    control = RecordingControl(Settings(data_dir=tmp_path), Live(room))  # type: ignore[arg-type]
    first = control.start_recording(room, "host.dinhhoa")
    assert room.recording
    # The host stops it and starts again while the first one's files are still finishing.
    stopping = asyncio.ensure_future(control.stop_recording(room.id, reason="stopped-by-host"))
    await asyncio.sleep(0)
    assert first.stopped and not stopping.done()
    second = control.start_recording(room, "host.dinhhoa")
    assert second is not first
    assert (await stopping) is first.manifest
    assert room.recording and control.recorders[room.id] is second  # still on
    assert first not in room.observers and second in room.observers
    assert await control.stop_recording(room.id) is second.manifest
    assert not room.recording and room.id not in control.recorders
    assert await control.stop_recording(room.id) is None


async def test_dropped_frames_are_in_the_manifest_and_in_the_metrics(tmp_path: Path) -> None:
    import json

    from aiohttp.test_utils import TestClient, TestServer

    from conference.rooms.room import Room
    from conference.settings import Settings
    from recorder.manifest import Manifest
    from server.compose import build_app
    from web.keys import RECORDING

    app = build_app(Settings(data_dir=tmp_path))
    async with TestClient(TestServer(app)) as client:
        control = app[RECORDING]
        room = Room("phong", "Phòng họp", "VP8")
        recording = control.start_recording(room, "host.dinhhoa")
        audio = Source(source_id="a", owner="05536", kind="audio", metrics=SfuMetrics())
        audio.codec = "opus"
        site = Participant(id="05536", name="Xã Chợ Chu", role=Role.PARTICIPANT)
        site.sources = {"audio": audio}
        recording.participant_joined(site)
        # The first manifest is not on disk before the loop turns: the writer
        # thread waits for it and takes nothing, as when the disk stalls. Its
        # queue holds 500 frames; the last 100 of 600 have no room.
        for packet in opus_packets(encode_opus(12.0)):
            audio.push(packet)
        stopped = await control.stop_recording(room.id)
        assert stopped is not None
        on_disk = read_manifest(tmp_path / "recordings" / stopped.id)
        (track,) = on_disk.tracks
        assert track.dropped_frames == 100 and track.frames == 500
        with av.open(str(tmp_path / "recordings" / stopped.id / track.file)) as container:
            assert sum(1 for p in container.demux(audio=0) if p.size) == 500

        response = await client.get("/metrics")
        assert response.status == 200
        text = await response.text()
    assert "# TYPE conference_recording_frames_dropped_total counter" in text
    assert "\nconference_recording_frames_dropped_total 100\n" in text

    # A manifest written before drops were counted reads as none dropped.
    raw = json.loads((tmp_path / "recordings" / stopped.id / "manifest.json").read_text())
    del raw["tracks"][0]["dropped_frames"]
    assert Manifest.model_validate(raw).tracks[0].dropped_frames == 0


def test_arrivals_follow_a_step_of_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wall clock stepped after start (NTP, a resumed VM) moves later arrivals with it.

    With a constant taken at import, a server whose clock was stepped by an hour
    placed every later recording's tracks an hour away from the recording's own
    start and end (``time.time()``): the composite showed nothing.
    """
    import recorder.track as track_module

    clock = track_module._WallClock()
    now = time.monotonic()
    assert abs(clock.wall(now) - time.time()) < 0.5
    real_time = time.time
    monkeypatch.setattr(track_module.time, "time", lambda: real_time() + 3600.0)
    clock._read_at -= 2.0  # a second has passed since the last reading
    assert abs(clock.wall(time.monotonic()) - (real_time() + 3600.0)) < 0.5
