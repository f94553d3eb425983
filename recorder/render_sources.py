"""Track files read for the composite: decoded lazily, in order, in step with the output.

Each cursor owns one track file. It opens the file only when the output
timeline gets near the track's start, decodes one frame ahead of the output,
keeps at most a handful of decoded frames, and closes the file once the
output has moved past its end, so memory stays flat however long the meeting.

Track files come from the recorder's RTP-to-Matroska writer: they start with
a keyframe, may miss frames after packet loss, may change resolution, and may
be cut short (the server was killed mid-cluster). Reading stops quietly at
the first unreadable point; a frame that fails to decode makes the video
cursor wait for the next keyframe instead of showing a smeared picture.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from recorder.timeline import ClockMap

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

OPEN_AHEAD = 1.0
"""Open a track's file this many seconds of wall time before its expected start."""

VIDEO_HOLD = 0.5
"""Seconds a video track's last frame stays up after it (then the site's tile goes dark)."""

AUDIO_JOIN_TOLERANCE = 0.002
"""Audio frames starting within this many seconds of the previous one's end are
contiguous: Matroska keeps millisecond timestamps, so pts alone would leave
sub-millisecond clicks between frames."""


def _is_keyframe(codec: str, packet: av.Packet) -> bool:
    if packet.is_keyframe:
        return True
    if codec == "vp8":
        # VP8 frame tag: bit 0 of the first byte is 0 for a key frame. Checked
        # here too in case a writer did not flag its Matroska blocks.
        data = bytes(packet)
        return bool(data) and not data[0] & 1
    return False


def _open(path: Path, kind: str) -> tuple[Any, Any] | None:
    """The container and its first stream of ``kind``, or None (logged) if unreadable."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as error:
        log.warning("cannot open %s: %s", path, error)
        return None
    streams = container.streams.video if kind == "video" else container.streams.audio
    if not streams:
        log.warning("%s has no %s stream", path, kind)
        container.close()
        return None
    return container, streams[0]


def _seconds(frame: av.VideoFrame | av.AudioFrame, stream_time_base: Any) -> float | None:
    """A decoded frame's pts in seconds (frames flushed out of the decoder lack a time base)."""
    if frame.pts is None:
        return None
    time_base = frame.time_base if frame.time_base is not None else stream_time_base
    return None if time_base is None else float(frame.pts * time_base)


def _readable_packets(container: Any, stream: Any, path: Path) -> Iterator[av.Packet]:
    """The packets of ``stream`` in order, as far as the file is readable."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.FFmpegError, OSError) as error:
            # Truncated or corrupt past this point: render what came before.
            log.warning("%s: unreadable after this point (%s)", path, error)
            return
        yield packet


def decode_video(path: Path) -> Iterator[tuple[float, av.VideoFrame]]:
    """``(media seconds, frame)`` of every decodable frame of a video track file, in order,
    as far as the file is readable."""
    opened = _open(path, "video")
    if opened is None:
        return
    container, stream = opened
    codec = stream.codec_context
    codec.thread_type = "AUTO"
    name = codec.name
    try:
        need_keyframe = True
        for packet in _readable_packets(container, stream, path):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker; flushed below
            if need_keyframe and not _is_keyframe(name, packet):
                continue
            try:
                frames = codec.decode(packet)
            except av.FFmpegError as error:
                log.info("%s: frame at pts %s does not decode (%s)", path, packet.pts, error)
                need_keyframe = True
                continue
            need_keyframe = False
            for frame in frames:
                if (media := _seconds(frame, stream.time_base)) is not None:
                    yield media, frame
        try:
            for frame in codec.decode(None):
                if (media := _seconds(frame, stream.time_base)) is not None:
                    yield media, frame
        except av.FFmpegError:
            pass
    finally:
        container.close()


def decode_audio(path: Path) -> Iterator[tuple[float, int, FloatArray]]:
    """``(media seconds, sample rate, samples[2, n] float32)`` of every decodable audio frame."""
    opened = _open(path, "audio")
    if opened is None:
        return
    container, stream = opened
    codec = stream.codec_context
    try:
        for packet in _readable_packets(container, stream, path):
            try:
                frames = codec.decode(packet if packet.size else None)
            except av.FFmpegError as error:
                log.info("%s: audio frame at pts %s does not decode (%s)", path, packet.pts, error)
                continue
            for frame in frames:
                media = _seconds(frame, stream.time_base)
                if media is None or not frame.samples:
                    continue
                yield media, int(frame.sample_rate), _stereo(frame)
    finally:
        container.close()


def _stereo(frame: av.AudioFrame) -> FloatArray:
    """A frame's samples as float32 [2, n] in [-1, 1]."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    else:
        data = data.astype(np.float32, copy=False)
    if channels == 1:
        return np.repeat(data, 2, axis=0)
    return np.ascontiguousarray(data[:2])


def probe_last_media_time(path: Path, kind: str) -> float | None:
    """Media seconds of the last readable packet's end, reading packets without decoding.

    For tracks whose manifest entry has no ``last_frame_at`` (the server died
    before writing it).
    """
    opened = _open(path, kind)
    if opened is None:
        return None
    container, stream = opened
    last: float | None = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = end if last is None else max(last, end)
    except (av.FFmpegError, OSError):
        pass
    finally:
        container.close()
    return last


@dataclass
class Shown:
    """A decoded frame on the timeline: ``key`` changes whenever the picture does."""

    key: int
    wall: float
    frame: av.VideoFrame


class VideoCursor:
    """One video track, advanced along the output timeline: the latest frame at or before t."""

    _serial = 0

    def __init__(self, path: Path, clock: ClockMap, start_hint: float) -> None:
        self.path = path
        self.clock = clock
        self.start_hint = start_hint
        self._frames: Iterator[tuple[float, av.VideoFrame]] | None = None
        self._current: Shown | None = None
        self._pending: Shown | None = None
        self.finished = False

    def _next(self) -> Shown | None:
        assert self._frames is not None
        for media, frame in self._frames:
            VideoCursor._serial += 1
            return Shown(VideoCursor._serial, self.clock.to_wall(media), frame)
        return None

    def at(self, t: float) -> Shown | None:
        """The frame to show at wall time ``t`` (non-decreasing between calls), or None."""
        if self.finished:
            return None
        if self._frames is None:
            if t < self.start_hint - OPEN_AHEAD:
                return None
            self._frames = decode_video(self.path)
            self._pending = self._next()
        while self._pending is not None and self._pending.wall <= t:
            self._current = self._pending
            self._pending = self._next()
        if self._pending is None and (self._current is None or t > self._current.wall + VIDEO_HOLD):
            self.close()
            return None
        return self._current

    def close(self) -> None:
        """Release the file and decoded frames; the cursor shows nothing from now on."""
        self.finished = True
        self._current = self._pending = None
        if self._frames is not None:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
            self._frames = None


class AudioCursor:
    """One audio track, read along the output timeline and resampled onto it.

    Output sample k of a block maps to a wall instant, the track's clock map
    turns that into a media instant, and the track's samples are interpolated
    there (Catmull-Rom). A drifting publisher clock is thus corrected
    continuously (no accumulated offset, no clicks), and a lost frame leaves
    silence in its place rather than shifting everything after it.
    """

    def __init__(self, path: Path, clock: ClockMap, start_hint: float) -> None:
        self.path = path
        self.clock = clock
        self.start_hint = start_hint
        self._frames: Iterator[tuple[float, int, FloatArray]] | None = None
        self._rate = 48000
        # Decoded frames as (first sample index on the track's own sample clock, samples).
        self._queue: deque[tuple[int, FloatArray]] = deque()
        self._end = -1  # sample index just past the last queued frame
        self._run = 0  # frames in the current contiguous run
        self._exhausted = False
        self.finished = False

    def _pull(self) -> bool:
        """Decode one more frame into the queue; False at the end of the track."""
        if self._frames is None or self._exhausted:
            return False
        try:
            media, rate, samples = next(self._frames)
        except StopIteration:
            self._exhausted = True
            return False
        if rate != self._rate:
            if self._queue:
                # A rate change mid-track (never seen from Opus) restarts the index.
                self._queue.clear()
            self._rate = rate
        start = round(media * rate)
        if self._queue and abs(start - self._end) <= AUDIO_JOIN_TOLERANCE * rate:
            if self._run == 1:
                # Anchor a run on its second frame: the first may be what is left
                # after the decoder's pre-skip, its pts rounded to the millisecond
                # by Matroska, while later frames start on whole milliseconds.
                _, first = self._queue[-1]
                self._queue[-1] = (start - first.shape[1], first)
            else:
                start = self._end
            self._run += 1
        else:
            self._run = 1
        self._queue.append((start, samples))
        self._end = start + samples.shape[1]
        return True

    def add_to(self, mix: FloatArray, wall_start: float, out_rate: int) -> bool:
        """Add this track's samples for the block starting at ``wall_start`` to ``mix`` [2, n].

        Returns False once the track has nothing more to give.
        """
        if self.finished:
            return False
        n = mix.shape[1]
        wall_end = wall_start + n / out_rate
        if self._frames is None:
            if wall_end < self.start_hint - OPEN_AHEAD:
                return True
            self._frames = decode_audio(self.path)
            if not self._pull():
                self.close()
                return False
        rate = self._rate
        # Positions of the block's samples on the track's sample clock. The map
        # is linear over one block (sync points are seconds apart), so two
        # conversions per block are enough.
        m0 = self.clock.to_media(wall_start) * rate
        m1 = self.clock.to_media(wall_end) * rate
        positions = m0 + (m1 - m0) / n * np.arange(n, dtype=np.float64)
        first = math.floor(positions[0]) - 1
        last = math.floor(positions[-1]) + 2
        while self._end <= last and self._pull():
            pass
        while self._queue and self._queue[0][0] + self._queue[0][1].shape[1] < first:
            self._queue.popleft()
        if not self._queue:
            if self._exhausted:
                self.close()
                return False
            return True
        if self._queue[0][0] > last:
            return True  # the track has not started yet here
        window = np.zeros((2, last - first + 1), dtype=np.float32)
        for start, samples in self._queue:
            if start > last:
                break
            lo = max(start, first)
            hi = min(start + samples.shape[1], last + 1)
            if hi > lo:
                window[:, lo - first : hi - first] = samples[:, lo - start : hi - start]
        if window.any():  # tracks are mostly silent (others speak): skip the arithmetic
            mix += _catmull_rom(window, positions - first)
        return True

    def close(self) -> None:
        """Release the file and buffered samples."""
        self.finished = True
        self._queue.clear()
        if self._frames is not None:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
            self._frames = None


def _catmull_rom(window: FloatArray, q: npt.NDArray[np.float64]) -> FloatArray:
    """``window`` [2, m] sampled at increasing fractional indices ``q`` (1 <= q < m - 2)."""
    n = len(q)
    i = np.floor(q).astype(np.intp)
    f = (q - i).astype(np.float32)
    # Clock rates differ from nominal by ppm, so over a block the integer part
    # advances one per sample with at most a step or two: runs with a constant
    # offset are contiguous slices, much cheaper than gathering sample by sample.
    offset = i - np.arange(n)
    steps = np.flatnonzero(np.diff(offset)) + 1
    if len(steps) > 8:  # a rate far from nominal: gather
        return _cubic(window[:, i - 1], window[:, i], window[:, i + 1], window[:, i + 2], f)
    out = np.empty((window.shape[0], n), dtype=np.float32)
    bounds = [0, *steps.tolist(), n]
    for a, b in itertools.pairwise(bounds):
        o = int(offset[a])
        out[:, a:b] = _cubic(
            window[:, o + a - 1 : o + b - 1],
            window[:, o + a : o + b],
            window[:, o + a + 1 : o + b + 1],
            window[:, o + a + 2 : o + b + 2],
            f[a:b],
        )
    return out


def _cubic(
    y0: FloatArray, y1: FloatArray, y2: FloatArray, y3: FloatArray, t: FloatArray
) -> FloatArray:
    """Catmull-Rom between y1 and y2 at fraction t (Horner form, few temporaries)."""
    result: FloatArray = y1 + 0.5 * t * (
        (y2 - y0) + t * ((2 * y0 - 5 * y1 + 4 * y2 - y3) + t * (3 * (y1 - y2) + y3 - y0))
    )
    return result
