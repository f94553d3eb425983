"""Recordings in tests: synthetic ones for the composite renderer, and a server's folders.

:func:`write_recording` writes what the recorder writes: a ``manifest.json``
and one WebM file per track, VP8 and Opus packets encoded once with PyAV and
then muxed without decoding, as recorder/track.py does, with the pts an RTP writer
gives them: 1/90000 for video and 1/48000 for audio, counted from the track's
first frame, on the *publisher's* clock. That clock can run fast or slow
against the server's (``video_ppm``, ``audio_ppm``); the manifest's sync
points say by how much, as RTCP sender reports would.

The content is an A/V test pattern: a dark picture that turns white for a
few frames (a **flash**) and silence broken by a short tone (a **beep**, at a
frequency of the site's own) at the same wall-clock instants, every
``flash_every`` seconds from ``flash_first`` seconds after the site joins
(exactly: the flash begins with the first frame at or after that instant and
the beep with that frame's wall time, to the sample).
:class:`SiteTruth` gives the exact wall times at which each flash and beep
begins, computed from the same clock model, for the tests to compare the
composite against. ``pattern="motion"`` adds moving detail (the benchmark:
flat frames would make decoding unrealistically cheap).

:func:`recording_dirs` lists what a test server (:mod:`tests.support.server`)
recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from recorder.manifest import Event, Manifest, RecordingStatus, TrackEntry, write_manifest
from tests.support.server import ServerProcess

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
OPUS_FRAME = 960  # 20 ms
BASE_TIME = 1_790_000_000.0  # server time of the recording's start (late 2026)

DARK_Y = 40  # luma of the pattern's dark picture
FLASH_Y = 235  # luma of a flash (white)
BEEP_LEVEL = 0.5


@dataclass
class SiteSpec:
    """One site of a synthetic recording. Times are seconds from the recording's start."""

    site_id: str
    name: str
    join: float = 0.0
    leave: float | None = None  # None: stays until the end
    beep_hz: float = 1000.0
    video: bool = True
    audio: bool = True
    width: int = 320
    height: int = 180
    fps: int = 25
    video_ppm: float = 0.0  # the site's video clock runs this much fast (+) or slow (-)
    audio_ppm: float = 0.0
    media_offset: float = 0.0  # media seconds of the first frame (0 for the recorder)
    sync_from_zero: bool = True  # sync points from media 0 (not just from the first frame)
    drop_video: tuple[int, ...] = ()  # frame indices lost in transit (never the first)
    drop_audio: tuple[int, ...] = ()
    switch_size: tuple[float, int, int] | None = None  # (seconds after join, width, height)
    pattern: Literal["flash", "motion"] = "flash"


@dataclass
class SiteTruth:
    """What a site's tracks contain, on the server's wall clock."""

    spec: SiteSpec
    flashes: list[float] = field(default_factory=list)  # wall time of each flash's first frame
    beeps: list[float] = field(default_factory=list)  # wall time of each beep's first sample
    video_file: str | None = None
    audio_file: str | None = None


@dataclass
class RecordingTruth:
    """A synthetic recording's directory, manifest and per-site truth."""

    directory: Path
    manifest: Manifest
    sites: dict[str, SiteTruth]

    @property
    def start(self) -> float:
        """Server time of the recording's start."""
        return self.manifest.started_at


class _Clock:
    """A publisher clock: media seconds <-> server seconds, running ``ppm`` fast."""

    def __init__(self, anchor_wall: float, media_offset: float, ppm: float) -> None:
        self.anchor_wall = anchor_wall
        self.media_offset = media_offset
        self.rate = 1.0 + ppm * 1e-6  # media seconds per wall second

    def wall(self, media: float) -> float:
        return self.anchor_wall + (media - self.media_offset) / self.rate

    def media(self, wall: float) -> float:
        return self.media_offset + (wall - self.anchor_wall) * self.rate

    def sync(self, until_media: float, every: float, from_zero: bool) -> list[tuple[float, float]]:
        """Sync points every ``every`` media seconds up to ``until_media``, as RTCP gives."""
        first = 0.0 if from_zero else self.media_offset
        count = math.ceil((until_media - first) / every)
        return [(first + i * every, self.wall(first + i * every)) for i in range(count + 1)]


def _flash_walls(
    spec: SiteSpec, start: float, until: float, first: float, every: float
) -> list[float]:
    walls = []
    at = start + spec.join + first
    while at < until:
        walls.append(at)
        at += every
    return walls


@lru_cache(maxsize=4)
def _scene(width: int, height: int) -> np.ndarray:
    """A still, textured backdrop (a room) for the motion pattern."""
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(7)
    texture = rng.integers(-10, 11, (height, width))
    base = 50 + 60 * xx / width + 30 * yy / height + texture
    base[(yy // 24 + xx // 24) % 2 == 0] += 12  # a tiled wall
    return np.clip(base, 16, 235).astype(np.uint8)


def _video_frame(width: int, height: int, white: bool, index: int, pattern: str) -> av.VideoFrame:
    if pattern == "motion":
        # A talking-head stand-in: a still room, a moving face-sized blob, a
        # bit of sensor noise. Encodes and decodes at camera-like cost.
        y = _scene(width, height).copy()
        yy, xx = np.ogrid[0:height, 0:width]
        cx = width / 2 + width / 8 * math.sin(index / 20)
        cy = height / 2 + height / 16 * math.cos(index / 13)
        head = ((xx - cx) / (width / 7)) ** 2 + ((yy - cy) / (height / 4)) ** 2 < 1
        y[head] = 170 + (index % 30)
        noise = np.random.default_rng(index).integers(-2, 3, y.shape)
        y = np.clip(y.astype(np.int16) + noise, 16, 235).astype(np.uint8)
        if white:
            y[:] = FLASH_Y
        u = np.full((height // 2, width // 2), 118, np.uint8)
        v = np.full((height // 2, width // 2), 138, np.uint8)
    else:
        y = np.full((height, width), FLASH_Y if white else DARK_Y, np.uint8)
        u = np.full((height // 2, width // 2), 128, np.uint8)
        v = np.full((height // 2, width // 2), 128, np.uint8)
    data = np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)])
    return av.VideoFrame.from_ndarray(data, format="yuv420p")


def _vp8_encoder(width: int, height: int, fps: int, pattern: str) -> Any:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps, 1)
    codec.bit_rate = 600_000 if pattern == "motion" else 150_000
    codec.gop_size = 10 * fps  # WebRTC senders make keyframes rarely
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return codec


_Encoded = list[tuple[int, bytes, bool, int, int]]
_ENCODED: dict[tuple[Any, ...], _Encoded] = {}


def _encode_video(spec: SiteSpec, frames: int, white: list[bool]) -> _Encoded:
    """(frame index, VP8 payload, keyframe, width, height) of every frame.

    Sites with the same picture share one encoding (the benchmark's 16 sites).
    """
    key = (spec.pattern, spec.width, spec.height, spec.fps, frames, tuple(white), spec.switch_size)
    if key not in _ENCODED:
        _ENCODED.clear()  # one at a time: a minute of 640x360 is a few MB
        _ENCODED[key] = _encode_video_now(spec, frames, white)
    return _ENCODED[key]


def _encode_video_now(spec: SiteSpec, frames: int, white: list[bool]) -> _Encoded:
    switch = None if spec.switch_size is None else round(spec.switch_size[0] * spec.fps)
    out: list[tuple[int, bytes, bool, int, int]] = []
    codec: Any = None
    size = (spec.width, spec.height)

    def collect(packets: Any) -> None:
        out.extend((int(p.pts), bytes(p), bool(p.is_keyframe), *size) for p in packets)

    for index in range(frames):
        if codec is None or index == switch:
            if codec is not None:
                collect(codec.encode(None))
            if index == switch and spec.switch_size is not None:
                size = spec.switch_size[1], spec.switch_size[2]
            # A new resolution needs a new encoder, whose first frame is a keyframe.
            codec = _vp8_encoder(size[0], size[1], spec.fps, spec.pattern)
        frame = _video_frame(size[0], size[1], white[index], index, spec.pattern)
        frame.pts = index
        frame.time_base = codec.time_base
        collect(codec.encode(frame))
    if codec is not None:
        collect(codec.encode(None))
    return out


def _encode_opus(pcm: np.ndarray) -> list[bytes]:
    """Opus packets (20 ms) of mono float PCM, as they would come off RTP.

    The encoder's look-ahead delays its output by ``initial_padding`` samples;
    RTP timestamps do not account for that, so the input is advanced by it
    here: decoded sample i is then pcm[i] exactly, which is what the truth says.
    """
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 64_000
    codec.open()
    padding = 312  # libopus at 48 kHz; checked below against the first packet's pts
    signal = np.concatenate([pcm[padding:], np.zeros(padding + OPUS_FRAME, np.float32)])
    frames = len(pcm) // OPUS_FRAME
    packets: list[tuple[int, bytes]] = []
    for index in range(frames + 1):
        chunk = signal[index * OPUS_FRAME : (index + 1) * OPUS_FRAME]
        if len(chunk) < OPUS_FRAME:
            chunk = np.concatenate([chunk, np.zeros(OPUS_FRAME - len(chunk), np.float32)])
        pcm16 = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
        stereo = np.repeat(pcm16[:, None], 2, axis=1).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * OPUS_FRAME
        frame.time_base = Fraction(1, AUDIO_CLOCK)
        for packet in codec.encode(frame):
            packets.append((int(packet.pts), bytes(packet)))
    assert packets and packets[0][0] == -padding, packets[0][0]
    return [data for _, data in packets[:frames]]


def _beep_pcm(
    spec: SiteSpec, clock: _Clock, samples: int, beeps: list[float], length: float
) -> tuple[np.ndarray, list[float]]:
    """Mono PCM of the site's audio track and the wall time of each beep's first sample."""
    pcm = np.zeros(samples, np.float32)
    starts = []
    n = round(length * AUDIO_CLOCK)
    ramp = round(0.002 * AUDIO_CLOCK)
    envelope = np.ones(n, np.float32)
    envelope[:ramp] = np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
    envelope[-ramp:] = envelope[:ramp][::-1]
    t = np.arange(n) / AUDIO_CLOCK
    tone = (BEEP_LEVEL * np.sin(2 * np.pi * spec.beep_hz * t) * envelope).astype(np.float32)
    for wall in beeps:
        first = math.ceil((clock.media(wall) - clock.media_offset) * AUDIO_CLOCK - 1e-6)
        if first < 0 or first + n > samples:
            continue
        pcm[first : first + n] = tone
        starts.append(clock.wall(clock.media_offset + first / AUDIO_CLOCK))
    return pcm, starts


def write_recording(
    directory: Path,
    sites: list[SiteSpec],
    duration: float,
    *,
    started_at: float = BASE_TIME,
    flash_first: float = 1.0,
    flash_every: float = 2.0,
    flash_frames: int = 3,
    beep_seconds: float = 0.1,
    sync_every: float = 5.0,
    host_site: str | None = None,
    events: list[Event] | None = None,
    status: RecordingStatus = RecordingStatus.COMPLETE,
) -> RecordingTruth:
    """Write a synthetic recording of ``duration`` seconds into ``directory``.

    ``events`` are added to the join/leave events the sites' times imply.
    """
    directory.mkdir(parents=True, exist_ok=True)
    end = started_at + duration
    tracks: list[TrackEntry] = []
    all_events: list[Event] = []
    truths: dict[str, SiteTruth] = {}
    for spec in sites:
        truth = truths[spec.site_id] = SiteTruth(spec)
        joined = started_at + spec.join
        left = min(end, started_at + spec.leave) if spec.leave is not None else end
        all_events.append(Event(at=joined, type="join", site_id=spec.site_id))
        if spec.leave is not None:
            all_events.append(
                Event(at=left, type="leave", site_id=spec.site_id, data={"reason": "left"})
            )
        walls = _flash_walls(spec, started_at, left - 0.3, flash_first, flash_every)
        if spec.video:
            clock = _Clock(joined, spec.media_offset, spec.video_ppm)
            frames = int((clock.media(left) - spec.media_offset) * spec.fps)
            frame_walls = [clock.wall(spec.media_offset + i / spec.fps) for i in range(frames)]
            white = [False] * frames
            for wall in walls:
                first = next((i for i, w in enumerate(frame_walls) if w >= wall - 1e-9), None)
                if first is None:
                    continue
                truth.flashes.append(frame_walls[first])
                for i in range(first, min(frames, first + flash_frames)):
                    white[i] = True
            encoded = _encode_video(spec, frames, white)
            name = f"{spec.site_id}-video-1.webm"
            truth.video_file = name
            size = _write_video(directory / name, spec, encoded)
            media_end = spec.media_offset + frames / spec.fps
            tracks.append(
                TrackEntry(
                    file=name,
                    site_id=spec.site_id,
                    site_name=spec.name,
                    kind="video",
                    codec="vp8",
                    clock_rate=VIDEO_CLOCK,
                    started_at=joined,
                    first_frame_at=clock.wall(0.0),
                    last_frame_at=frame_walls[-1] if frame_walls else None,
                    frames=frames - len(spec.drop_video),
                    bytes=size,
                    width=spec.width,
                    height=spec.height,
                    closed=True,
                    sync=clock.sync(media_end + sync_every, sync_every, spec.sync_from_zero),
                    clock="rtcp",
                )
            )
        if spec.audio:
            clock = _Clock(joined, spec.media_offset, spec.audio_ppm)
            samples = int((clock.media(left) - spec.media_offset) * AUDIO_CLOCK)
            samples -= samples % OPUS_FRAME
            # Each beep starts with its flash's first frame (to the sample), so
            # that flash against beep measures the composite, not the pattern.
            beep_walls = truth.flashes if spec.video else walls
            pcm, truth.beeps = _beep_pcm(spec, clock, samples, beep_walls, beep_seconds)
            packets = _encode_opus(pcm)
            name = f"{spec.site_id}-audio-1.webm"
            truth.audio_file = name
            size = _write_audio(directory / name, spec, packets)
            media_end = spec.media_offset + samples / AUDIO_CLOCK
            tracks.append(
                TrackEntry(
                    file=name,
                    site_id=spec.site_id,
                    site_name=spec.name,
                    kind="audio",
                    codec="opus",
                    clock_rate=AUDIO_CLOCK,
                    started_at=joined,
                    first_frame_at=clock.wall(0.0),
                    last_frame_at=clock.wall(media_end - OPUS_FRAME / AUDIO_CLOCK),
                    frames=len(packets) - len(spec.drop_audio),
                    bytes=size,
                    closed=True,
                    sync=clock.sync(media_end + sync_every, sync_every, spec.sync_from_zero),
                    clock="rtcp",
                )
            )
    all_events.extend(events or [])
    all_events.sort(key=lambda e: e.at)
    manifest = Manifest(
        id="rec-test",
        room_id="room-test",
        room_name="Phòng họp thử",
        host_site=host_site,
        status=status,
        started_at=started_at,
        ended_at=end,
        tracks=tracks,
        events=all_events,
    )
    write_manifest(directory, manifest)
    return RecordingTruth(directory, manifest, truths)


# As recorder/track.py opens its files: a cluster a second, every packet flushed.
_MUXER_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}


def _write_video(
    path: Path, spec: SiteSpec, encoded: list[tuple[int, bytes, bool, int, int]]
) -> int:
    # The recorder's way: a libvpx stream (never fed: it only describes the
    # track) and the RTP frames' payloads muxed as they are.
    container = av.open(str(path), "w", format="webm", options=dict(_MUXER_OPTIONS))
    stream = container.add_stream("libvpx", rate=30)
    stream.width, stream.height = spec.width, spec.height
    stream.pix_fmt = "yuv420p"
    base = round(spec.media_offset * VIDEO_CLOCK)
    ticks = Fraction(VIDEO_CLOCK, spec.fps)
    for index, data, keyframe, _width, _height in encoded:
        if index in spec.drop_video and index != 0:
            continue
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = base + round(index * ticks)
        packet.time_base = Fraction(1, VIDEO_CLOCK)
        packet.is_keyframe = keyframe
        container.mux(packet)
    container.close()
    return path.stat().st_size


def _write_audio(path: Path, spec: SiteSpec, packets: list[bytes]) -> int:
    # A libopus stream gives the track its OpusHead (and 312 samples of
    # pre-skip, which the decoder drops from the first packet only).
    container = av.open(str(path), "w", format="webm", options=dict(_MUXER_OPTIONS))
    stream = container.add_stream("libopus", rate=AUDIO_CLOCK)
    stream.layout = "stereo"
    base = round(spec.media_offset * AUDIO_CLOCK)
    for index, data in enumerate(packets):
        if index in spec.drop_audio and index != 0:
            continue
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = base + index * OPUS_FRAME
        packet.time_base = Fraction(1, AUDIO_CLOCK)
        packet.is_keyframe = True
        container.mux(packet)
    container.close()
    return path.stat().st_size


def truncate(path: Path, fraction: float) -> None:
    """Cut a file to ``fraction`` of its size, as a killed server would leave it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def recording_dirs(server: ServerProcess) -> list[Path]:
    """The folders of a test server's recordings, oldest first (their ids sort by time)."""
    root = server.data_dir / "recordings"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
