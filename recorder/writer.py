"""One track's file, written on its own thread so the forwarding loop never waits for the disk.

The SFU's event loop runs every meeting; a sink's ``on_packet`` must not block
it. Opening a file, muxing and the writes behind them can (a busy or slow
disk, a full page cache), so a :class:`TrackWriter` owns the file: the loop
hands it complete encoded frames with :meth:`TrackWriter.put`, which only
appends to a bounded queue, and a thread per track takes the queue every
:data:`BATCH_SECONDS` and muxes what it found.

Crash safety is the recorder's as before: the muxer closes a cluster every
second and flushes every packet it writes, so a frame is in the file (the
operating system's cache, which survives a ``kill -9``) at most a batch
interval after it arrived, and a killed server leaves a file readable up to
about a second before the kill.

When the disk cannot keep up the queue fills; a frame that does not fit is
dropped and counted (:attr:`TrackWriter.dropped`, logged at most once per
:data:`DROP_LOG_SECONDS`), never waited for. A :class:`DropCount` shared by
the writers of a process adds them up for ``/metrics``, and each track's
count is kept in its manifest entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from conference.private_files import private_file

logger = logging.getLogger(__name__)

QUEUE_FRAMES = 500  # ~16 s of 30 fps video or 10 s of Opus: a slow disk's hiccup, not a trend
QUEUE_BYTES = 32 * 1024 * 1024  # a few 4K keyframes must not take the server's memory
BATCH_SECONDS = 0.1  # the thread wakes this often: a frame reaches the file this late at most
READY_TIMEOUT_SECONDS = 10.0  # wait this long for the recording's first manifest, then go on
DROP_LOG_SECONDS = 10.0
CLUSTER_MS = "1000"  # the muxer closes a cluster every second: what a crash loses at most


class DropCount:
    """Frames dropped by every writer that shares it: a process's recordings, for ``/metrics``.

    Only the event loop adds to it (:meth:`TrackWriter.put`), so a plain int will do.
    """

    def __init__(self) -> None:
        self.frames = 0


@dataclass(frozen=True)
class TrackFormat:
    """What the file is: everything the thread needs to open it."""

    container: str  # "webm" or "matroska"
    codec: str  # PyAV's name for the stream's codec: "libvpx", "libx264", "libopus"
    clock_rate: int  # the stream's time base is 1/clock_rate: RTP timestamps kept as sent
    width: int = 0
    height: int = 0


class TrackWriter:
    """A thread writing one track's encoded frames to one file, fed by a bounded queue.

    The event loop calls :meth:`put` (never blocks) and :meth:`close` (never
    blocks); :meth:`wait` lets a coroutine wait for the finished file without
    holding the loop, and ``on_finished`` is called on the loop once it is.
    ``ready``, when given, is set once the recording's manifest is on disk:
    the file is not created before it, so a crash never leaves a track file
    no manifest knows of. ``drops``, when given, counts this writer's dropped
    frames too.
    """

    def __init__(
        self,
        path: Path,
        track_format: TrackFormat,
        *,
        ready: threading.Event | None = None,
        on_finished: Callable[[], None] | None = None,
        drops: DropCount | None = None,
        queue_frames: int = QUEUE_FRAMES,
        queue_bytes: int = QUEUE_BYTES,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        self.path = path
        self.format = track_format
        self.dropped = 0  # frames the queue had no room for
        self.written = 0  # frames in the file
        self.failed = False  # the file could not be written: the track stops
        self._ready = ready
        self._on_finished = on_finished
        self._drops = drops
        self._time_base = fractions.Fraction(1, track_format.clock_rate)
        self._queue_frames = queue_frames
        self._queue_bytes = queue_bytes
        self._batch_seconds = batch_seconds
        # One producer (the loop) appends and one consumer (the thread) pops:
        # deque's append and popleft are atomic, so no lock on the hot path.
        self._queue: deque[tuple[bytes, int, bool]] = deque()
        self._bytes_in = 0  # written by the loop only
        self._bytes_out = 0  # written by the thread only: no lost update between the two
        self._closing = threading.Event()
        self._finished = False
        self._last_drop_log = 0.0
        self._done: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
            self._done = self._loop.create_future()
        self._thread = threading.Thread(target=self._run, name=f"recorder {path.name}", daemon=True)
        self._thread.start()

    # -- the loop's side -------------------------------------------------------------------

    def put(self, data: bytes, pts: int, keyframe: bool) -> bool:
        """Queue one frame (``pts`` in 1/clock_rate); False if it was dropped."""
        if self.failed or self._closing.is_set():
            return False
        if (
            len(self._queue) >= self._queue_frames
            or self._bytes_in - self._bytes_out + len(data) > self._queue_bytes
        ):
            self.dropped += 1
            if self._drops is not None:
                self._drops.frames += 1
            now = time.monotonic()
            if now - self._last_drop_log >= DROP_LOG_SECONDS:
                self._last_drop_log = now
                logger.warning(
                    "recording %s: the disk falls behind, %d frame(s) dropped so far",
                    self.path.name,
                    self.dropped,
                )
            return False
        self._bytes_in += len(data)
        self._queue.append((data, pts, keyframe))
        return True

    def close(self) -> None:
        """Finish the file once the queued frames are written (trailer, cues); returns at once."""
        self._closing.set()

    @property
    def finished(self) -> bool:
        """Whether the file is done with (complete, or the writing failed)."""
        return self._finished

    async def wait(self) -> None:
        """Wait, without blocking the loop, until the file is finished."""
        if self._done is not None and self._loop is asyncio.get_running_loop():
            await asyncio.shield(self._done)
        else:
            await asyncio.to_thread(self._thread.join)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the file on this thread (for code outside an event loop)."""
        self._thread.join(timeout)

    # -- the thread's side -----------------------------------------------------------------

    def _run(self) -> None:
        container: Any = None
        stream: Any = None
        try:
            if self._ready is not None:
                self._ready.wait(READY_TIMEOUT_SECONDS)
            while True:
                closing = self._closing.wait(self._batch_seconds)
                if self._queue and container is None:
                    container, stream = self._open()
                while self._queue:
                    data, pts, keyframe = self._queue.popleft()
                    self._bytes_out += len(data)
                    self._mux(container, stream, data, pts, keyframe)
                if closing:
                    break
        except Exception:
            logger.exception("recording %s failed; closing the track", self.path.name)
            self.failed = True
            self._queue.clear()
        finally:
            if container is not None:
                try:
                    container.close()
                except Exception:
                    logger.exception("closing %s failed", self.path.name)
            self._finished = True
            self._signal_done()

    def _open(self) -> tuple[Any, Any]:
        spec = self.format
        private_file(self.path)  # made 0600 here; the muxer then truncates and keeps the mode
        container = av.open(
            str(self.path),
            "w",
            format=spec.container,
            options={"cluster_time_limit": CLUSTER_MS, "flush_packets": "1"},
        )
        stream: Any
        if spec.codec == "libopus":
            # Opened as an encoder for its OpusHead: WebM players want it in the header.
            stream = container.add_stream("libopus", rate=48000)
            stream.layout = "stereo"
        elif spec.codec == "libvpx":
            # VP8 needs no codec data in the header, so the stream is described
            # from a template and no encoder is opened: libvpx's would take about
            # 23 MB per 720p track and a few ms holding the GIL, only to mux.
            scratch = av.open(io.BytesIO(), "w", format=spec.container)
            template = scratch.add_stream("libvpx", rate=30)
            stream = container.add_stream_from_template(
                template, width=spec.width, height=spec.height
            )
            scratch.close()
        else:
            # libx264's header (avcC) comes from an encoder: Matroska refuses H.264 without it.
            stream = container.add_stream(spec.codec, rate=30)
            stream.width, stream.height = spec.width, spec.height
            stream.pix_fmt = "yuv420p"
        return container, stream

    def _mux(self, container: Any, stream: Any, data: bytes, pts: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = keyframe
        container.mux(packet)  # PyAV lets go of the GIL while FFmpeg writes
        self.written += 1

    def _signal_done(self) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            self._loop.call_soon_threadsafe(self._finished_on_loop)

    def _finished_on_loop(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        if self._on_finished is not None:
            self._on_finished()
