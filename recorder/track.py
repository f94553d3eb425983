"""One published track written to a Matroska/WebM file as it arrives, without decoding.

A :class:`TrackRecorder` is a sink of the SFU like any subscriber: it gets the
source's packets and reassembles frames (:mod:`recorder.frames`) on the event
loop, in arrival order, and stamps them with fixed clock-rate timestamps
(1/90000 for video, 1/48000 for Opus), so timestamps are exactly the
publisher's. It never touches the file: a :class:`~recorder.writer.TrackWriter`
thread opens it, muxes and flushes, so a slow disk cannot stall forwarding.
Clusters are closed every second and every packet is flushed to the file, so
a server killed mid-recording leaves a file readable up to about a second
before.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from conference.media.codecs import OPUS, VP8
from conference.sfu import MediaPacket, Source
from recorder.frames import Frame, VideoFrameAssembler, vp8_dimensions
from recorder.manifest import TrackEntry
from recorder.writer import DropCount, TrackFormat, TrackWriter

logger = logging.getLogger(__name__)

SYNC_POINT_SECONDS = 5.0  # keep one sync point per this much media time


class _WallClock:
    """Monotonic arrival times -> server wall clock, following steps of the wall clock.

    Packets carry monotonic arrival times; the manifest's times are wall clock
    (``time.time()``). A constant taken once at import goes wrong when the wall
    clock is stepped later (NTP at boot, a virtual machine resumed): a server
    up for days would place every later recording's tracks off by the step,
    out of their own recording's span. The difference is re-read once a second.
    """

    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()
        self._read_at = time.monotonic()

    def wall(self, monotonic: float) -> float:
        now = time.monotonic()
        if now - self._read_at >= 1.0:
            self._offset = time.time() - now
            self._read_at = now
        return self._offset + monotonic


_WALL_CLOCK = _WallClock()


class ClockOffset:
    """Publisher clock -> server clock, shared by a site's tracks.

    The smallest (arrival - sender time) seen is the clock difference plus
    the network's smallest delay; one estimate per site keeps its audio and
    video on the same clock, which is what lip sync needs.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def sample(self, arrival: float, sender_time: float) -> None:
        value = arrival - sender_time
        if self.offset is None or value < self.offset:
            self.offset = value


class TrackRecorder:
    """A :class:`~conference.sfu.Sink` that writes one source to one file."""

    def __init__(
        self,
        source: Source,
        path: Path,
        entry: TrackEntry,
        offset: ClockOffset,
        on_change: Any = None,
        ready: threading.Event | None = None,
        drops: DropCount | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.entry = entry
        self.offset = offset
        self.closed = False
        self.failed = False
        self._on_change = on_change
        self._kind = source.kind
        self._codec = source.codec or (VP8 if source.kind == "video" else OPUS)
        self._clock = entry.clock_rate
        self._assembler = VideoFrameAssembler(self._codec) if self._kind == "video" else None
        self._ready = ready  # set when the recording's manifest is on disk
        self._drops = drops  # the process's count of dropped frames, for /metrics
        self._writer: TrackWriter | None = None  # made at the first frame a file can start with
        self._resync = False  # a video frame was dropped: skip to the next keyframe
        self._first_ts: int | None = None
        self._ts_cycles = 0
        self._last_raw_ts: int | None = None
        self._last_pts = -1
        self._sender_points: list[tuple[float, float]] = []  # (media seconds, sender time)
        self._last_keyframe_ask = 0.0
        # Counted here and copied into the (pydantic) entry when saved: cheaper per frame.
        self._frames = 0
        self._bytes = 0
        self._last_frame_at: float | None = None

    # -- Sink -------------------------------------------------------------------------

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        if self.closed or source is not self.source:
            return
        if self._writer is not None and self._writer.failed:
            self.failed = True  # the writer logged why
            self.close()
            return
        try:
            if self._assembler is not None:
                frames = self._assembler.add(
                    packet.sequence_number, packet.timestamp, packet.marker, packet.payload
                )
                if self._assembler.needs_keyframe:
                    self._ask_keyframe()
            else:
                frames = [Frame(packet.timestamp, packet.payload, True)] if packet.payload else []
            arrival = _WALL_CLOCK.wall(packet.arrival)
            for frame in frames:
                self._write(frame, arrival)
        except Exception:
            # A broken recorder must never break forwarding: stop this track.
            logger.exception("recording %s failed; closing the track", self.path.name)
            self.failed = True
            self.close()

    def on_source_ended(self, source: Source) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------

    def _ask_keyframe(self) -> None:
        now = time.monotonic()
        if now - self._last_keyframe_ask > 1.0:
            self._last_keyframe_ask = now
            self.source.request_keyframe()

    def _start_writer(self, frame: Frame) -> bool:
        width = height = 0
        if self._kind == "video":
            size = vp8_dimensions(frame.data) if self._codec == VP8 else None
            if size is None and self._codec == VP8:
                return False  # wait for a keyframe we can read the size from
            width, height = size or (1280, 720)
            self.entry.width, self.entry.height = width, height
            codec = "libvpx" if self._codec == VP8 else "libx264"
        else:
            codec = "libopus"
        track_format = TrackFormat(
            container="webm" if self._codec in (VP8, OPUS) else "matroska",
            codec=codec,
            clock_rate=self._clock,
            width=width,
            height=height,
        )
        self._writer = TrackWriter(
            self.path,
            track_format,
            ready=self._ready,
            on_finished=self._file_finished,
            drops=self._drops,
        )
        return True

    def _write(self, frame: Frame, arrival: float) -> None:
        if self._writer is None and not self._start_writer(frame):
            return
        assert self._writer is not None
        pts = self._media_ticks(frame.timestamp)
        if pts <= self._last_pts:
            return  # out of order or duplicate: the muxer needs increasing timestamps
        if self._resync and not frame.keyframe:
            return  # what follows a dropped frame cannot be decoded without it
        if not self._writer.put(frame.data, pts, frame.keyframe):
            if self._kind == "video":
                self._resync = True
                self._ask_keyframe()
            return
        self._resync = False
        self._last_pts = pts
        entry = self.entry
        media_seconds = pts / self._clock
        sender_time = self._sender_time(frame.timestamp)
        if sender_time is not None:
            self.offset.sample(arrival, sender_time)
            if (
                not self._sender_points
                or media_seconds - self._sender_points[-1][0] >= SYNC_POINT_SECONDS
            ):
                self._sender_points.append((media_seconds, sender_time))
        if self._frames == 0:
            entry.first_frame_at = arrival  # refined from RTCP once a sender report came
            if self._on_change is not None:
                self._on_change(self)
        self._frames += 1
        self._bytes += len(frame.data)
        self._last_frame_at = self._wall(media_seconds, arrival)

    def _media_ticks(self, timestamp: int) -> int:
        """RTP timestamp -> ticks since the first frame, across 32-bit wraparound."""
        if self._first_ts is None:
            self._first_ts = timestamp
            self._last_raw_ts = timestamp
        elif self._last_raw_ts is not None:
            if timestamp < self._last_raw_ts and self._last_raw_ts - timestamp > 0x80000000:
                self._ts_cycles += 1 << 32
            self._last_raw_ts = timestamp
        return timestamp + self._ts_cycles - self._first_ts

    def _sender_time(self, timestamp: int) -> float | None:
        """The publisher's wall clock at this RTP timestamp, from its latest sender report."""
        report = self.source.sender_report
        if report is None:
            return None
        ntp_seconds, rtp_at = report
        delta = (timestamp - rtp_at) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        return ntp_seconds + delta / self._clock

    def _wall(self, media_seconds: float, fallback: float) -> float:
        if self.offset.offset is None or not self._sender_points:
            return fallback
        first_media, first_sender = self._sender_points[0]
        return first_sender + (media_seconds - first_media) + self.offset.offset

    def sync_entry(self) -> None:
        """Bring the manifest entry up to date (called before saving)."""
        entry = self.entry
        if self._frames:
            entry.frames, entry.bytes, entry.last_frame_at = (
                self._frames,
                self._bytes,
                self._last_frame_at,
            )
        entry.dropped_frames = self.dropped_frames
        if self.offset.offset is None or not self._sender_points:
            return
        entry.clock = "rtcp"
        entry.sync = [
            (round(m, 4), round(s + self.offset.offset, 4)) for m, s in self._sender_points
        ]
        first_media, first_wall = entry.sync[0]
        entry.first_frame_at = round(first_wall - first_media, 4)

    @property
    def dropped_frames(self) -> int:
        """Frames the writer's queue had no room for (the disk fell behind)."""
        return self._writer.dropped if self._writer is not None else 0

    def close(self) -> None:
        """Stop taking packets and have the file finished (trailer, cues); safe to call twice.

        Returns at once: the writer thread finishes the file, then the entry is
        marked closed; :meth:`finished` waits for that.
        """
        if self.closed:
            return
        self.closed = True
        self.source.remove_sink(self)
        self.sync_entry()
        if self._writer is not None:
            self._writer.close()
        else:
            self._file_finished()  # no frame came: there is no file to finish

    async def finished(self) -> None:
        """Wait, without blocking the loop, until the file is complete."""
        if self._writer is not None:
            await self._writer.wait()

    def _file_finished(self) -> None:
        self.entry.closed = True
        if self._on_change is not None:
            self._on_change(self)
