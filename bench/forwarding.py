"""Forwarding benchmark: one WHIP publisher, N WHEP subscribers, our SFU vs aiortc's MediaRelay.

Run by hand (it is not a test)::

    .venv/bin/python bench/forwarding.py [--n 1 10 20 40] [--seconds 20] [--no-baseline]

For every N it starts a fresh server as a subprocess (``conference serve``
through ``tests.support.server.start_server``; then ``bench/baseline_relay.py``, the
MediaRelay fan-out a plain aiortc user writes), one publisher process sending
a pre-encoded VP8 640x360@30 fps ~800 kbps clip plus Opus over WHIP, and N
WHEP subscribers spread over ceil(N/10) worker processes. Subscribers never
decode: they capture each reassembled encoded frame (SHA-1, RTP timestamp,
arrival of its last packet).

Per run it reports server CPU per forwarded RTP packet and per forwarded video
frame (``/proc/<pid>/stat`` utime+stime over the measurement window divided by
the deltas of ``conference_rtp_packets_forwarded_total`` and
``conference_video_frames_forwarded_total`` from ``/metrics``), the delivery
ratio, the byte-identical ratio, publish-to-receive latency p50/p95, the part
of it the server adds (compared with a direct publisher -> client connection
measured at the same time) and the time to first frame of a late joiner.

Progress goes to stderr; one JSON document goes to stdout at the end (and a
copy to ``bench/results/``). The encoded clip is cached in ``bench/.cache/``.
``--repeat K`` runs our server K times per N and reports the median run;
``--py-spy`` profiles it during each window. Method, caveats and the latest
results: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime
import hashlib
import json
import math
import multiprocessing
import os
import pickle
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH = ROOT / "bench"
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"

WIDTH, HEIGHT, FPS, BITRATE = 640, 360, 30, 800_000
GOP_SECONDS = 10  # browsers send keyframes on request only; 10 s between periodic ones
TICKS_PER_FRAME = 90000 // FPS
CLIP_VERSION = 2

TARGET_CPU_US_PER_PACKET = 30.0
TARGET_DELIVERY = 0.995
TARGET_IDENTICAL = 1.0
TARGET_ADDED_P95_MS = 10.0
TARGET_N = 20


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The clip: encoded once, cached on disk
# --------------------------------------------------------------------------------------


@dataclass
class Clip:
    """The pre-encoded media every publisher sends."""

    video: Any  # tests.support.media.EncodedClip, GOP of GOP_SECONDS
    video_key: Any  # the same pictures, every one a keyframe (sent after a PLI)
    audio: Any
    seconds: float

    def describe(self) -> dict[str, Any]:
        video, key = self.video, self.video_key
        sizes = [len(p) for p in video.payloads]
        return {
            "codec": "VP8",
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "frames": len(video.payloads),
            "seconds": round(len(video.payloads) / FPS, 2),
            "target_bitrate_bps": BITRATE,
            "measured_bitrate_bps": round(sum(sizes) * 8 * FPS / len(sizes)),
            "mean_frame_bytes": round(sum(sizes) / len(sizes)),
            "gop_frames": GOP_SECONDS * FPS,
            "periodic_keyframes": sum(video.keyframes),
            "keyframe_variant_mean_bytes": round(
                sum(len(p) for p in key.payloads) / len(key.payloads)
            ),
            "unique_frames": len(video.digests),
            "audio": {
                "codec": "opus",
                "frames": len(self.audio.payloads),
                "frame_ms": 20,
                "bitrate_bps": 32000,
            },
        }


def clip_path(seconds: float) -> Path:
    frames = int(seconds * FPS)
    return CACHE / f"clip-v{CLIP_VERSION}-{WIDTH}x{HEIGHT}-{FPS}fps-{BITRATE}-{frames}f.pickle"


def read_clip(path: Path) -> Clip:
    with path.open("rb") as handle:
        return Clip(**pickle.load(handle))


def load_clip(seconds: float) -> tuple[Clip, Path]:
    """Encode (or load from the cache) the clip; every frame is a different picture."""
    from tests.support.media import encode_opus, encode_vp8

    path = clip_path(seconds)
    if path.exists():
        return read_clip(path), path
    frames = int(seconds * FPS)
    log(f"encoding the clip once: {frames} frames of {WIDTH}x{HEIGHT} VP8, twice, plus Opus")
    started = time.monotonic()
    common = {"frames": frames, "width": WIDTH, "height": HEIGHT, "fps": FPS, "bitrate": BITRATE}
    video = encode_vp8(gop=GOP_SECONDS * FPS, **common)
    video_key = encode_vp8(gop=1, **common)
    audio = encode_opus(seconds)
    if len(video.payloads) != frames or len(video_key.payloads) != frames:
        raise RuntimeError("the encoder did not return one packet per picture")
    if len(video.digests) != frames:
        raise RuntimeError("two frames of the clip are byte-identical: frames must be unique")
    clip = Clip(video, video_key, audio, seconds)
    CACHE.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        # Plain EncodedClip objects (importable anywhere), not this script's classes.
        pickle.dump(
            {"video": video, "video_key": video_key, "audio": audio, "seconds": seconds},
            handle,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    temporary.replace(path)
    log(f"clip encoded in {time.monotonic() - started:.1f} s, cached in {path}")
    return clip, path


# --------------------------------------------------------------------------------------
# Worker processes: the publisher and the subscribers
# --------------------------------------------------------------------------------------


def _pin_rtp_timestamp_origin() -> None:
    """Make aiortc senders start RTP timestamps at 0 (SSRCs stay random).

    The baseline re-encodes, so its frames can only be matched to the
    publisher's by RTP timestamp: publisher timestamp = frame index * 3000.
    """
    import aiortc.rtcrtpsender

    real = aiortc.rtcrtpsender.random32

    def random32() -> int:
        if sys._getframe(1).f_code.co_name == "_run_rtp":
            return 0
        return real()

    aiortc.rtcrtpsender.random32 = random32


class _IdentityTimestamps:
    """Replaces a receiver's TimestampMapper: captured frames keep their raw RTP timestamp."""

    def map(self, timestamp: int) -> int:
        return timestamp


def _make_tracks(clip: Clip) -> tuple[Any, Any]:
    """The publisher's video track (keyframes on request) and a tee of it."""
    import av
    from aiortc.mediastreams import MediaStreamTrack

    from tests.support.media import VIDEO_TIME_BASE, PacketTrack

    class TeeTrack(MediaStreamTrack):
        """Sends what the publisher's video track sends, to a direct (serverless) peer."""

        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
            self.started = False
            self.log: list[tuple[int, float]] = []

        def feed(self, index: int, data: bytes) -> None:
            if self.started:  # nothing piles up before the direct peer connects
                self.queue.put_nowait((index, data))

        async def recv(self) -> av.Packet:
            self.started = True
            index, data = await self.queue.get()
            packet = av.Packet(data)
            packet.pts = index * TICKS_PER_FRAME
            packet.time_base = VIDEO_TIME_BASE
            self.log.append((index, time.time()))
            return packet

    class KeyframeOnRequestTrack(PacketTrack):
        """A PacketTrack that answers PLI: the next frame goes out as its keyframe variant."""

        def __init__(self, clip: Clip) -> None:
            super().__init__(clip.video)
            self.key_clip = clip.video_key
            self.want_keyframe = False
            self.keyframe_requests = 0
            self.keyframes_sent = 0
            self.request_times: list[float] = []
            self.log: list[tuple[int, int, bool, float]] = []  # index, clip index, key?, time
            self.tees: list[TeeTrack] = []

        def request_keyframe(self) -> None:
            self.keyframe_requests += 1
            self.request_times.append(time.time())
            self.want_keyframe = True

        async def recv(self) -> av.Packet:
            if self._start is None:
                self._start = time.monotonic()
            clip = self.clip
            due = self._start + self._index * clip.frame_duration
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            index = self._index
            clip_index = index % len(clip.payloads)
            use_key = self.want_keyframe and not clip.keyframes[clip_index]
            if self.want_keyframe:
                self.want_keyframe = False
                self.keyframes_sent += 1
            data = (self.key_clip if use_key else clip).payloads[clip_index]
            packet = av.Packet(data)
            packet.pts = index * clip.ticks_per_frame
            packet.time_base = VIDEO_TIME_BASE
            self._index += 1
            self.log.append((index, clip_index, use_key, time.time()))
            for tee in self.tees:
                tee.feed(index, data)
            return packet

    return KeyframeOnRequestTrack(clip), TeeTrack


class PublisherWorker:
    """One aiortc WHIP publisher (video with keyframes on request, Opus) and the direct peer."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.pc: Any = None
        self.direct_pc: Any = None
        self.video: Any = None
        self.tee: Any = None
        self.audio: Any = None

    async def cmd_publish(self, base_url: str, room: str, token: str) -> dict[str, Any]:
        from tests.support.media import PacketTrack
        from tests.support.peers import whip_publish

        self.video, tee_class = _make_tracks(self.clip)
        self.tee = tee_class()
        self.audio = PacketTrack(self.clip.audio)
        started = time.time()
        self.pc, response, body = await whip_publish(
            base_url, room, token, [self.video, self.audio]
        )
        if response.status != 201:
            raise RuntimeError(f"WHIP publish failed: {response.status} {body}")
        for sender in self.pc.getSenders():
            if sender.track is self.video:
                # aiortc ignores PLI for av.Packet tracks: make it reach our track.
                sender._send_keyframe = self.video.request_keyframe
        await _wait_connected(self.pc)
        return {"connect_ms": (time.time() - started) * 1000}

    async def cmd_direct_offer(self) -> str:
        from tests.support.peers import client_pc

        self.video.tees.append(self.tee)
        self.direct_pc = client_pc()
        self.direct_pc.addTransceiver(self.tee, direction="sendonly")
        offer = await self.direct_pc.createOffer()
        await self.direct_pc.setLocalDescription(offer)
        return str(self.direct_pc.localDescription.sdp)

    async def cmd_direct_answer(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.direct_pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        await _wait_connected(self.direct_pc)

    async def cmd_report(self) -> dict[str, Any]:
        return {
            "video": self.video.log,
            "direct": self.tee.log,
            "keyframe_requests": self.video.keyframe_requests,
            "keyframes_sent": self.video.keyframes_sent,
            "keyframe_request_times": self.video.request_times,
            "audio_frames": self.audio._index,
        }

    async def cmd_stop(self) -> None:
        for pc in (self.pc, self.direct_pc):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pc.close(), 5)


async def _wait_connected(pc: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise RuntimeError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.05)


@dataclass
class ClientStats:
    """What one receiving client saw."""

    name: str
    video_packets: int = 0
    audio_packets: int = 0
    last_arrival: dict[int, float] = field(default_factory=dict)  # RTP ts -> last packet
    video_timestamps: list[int] = field(default_factory=list)
    video: Any = None  # FrameCapture
    audio: Any = None  # FrameCapture
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)
    pc: Any = None
    post_started: float = 0.0
    answered: float = 0.0


def _instrument(receiver: Any, stats: ClientStats, kind: str) -> None:
    """Capture frames undecoded; note each packet's arrival and each frame's RTP timestamp."""
    from tests.support.peers import capture_frames

    capture = capture_frames(receiver)
    receiver._RTCRtpReceiver__timestamp_mapper = _IdentityTimestamps()
    if kind == "video":
        stats.video = capture
        original_put = capture.put

        def put(item: Any) -> None:
            if item is not None:
                stats.video_timestamps.append(item[1].timestamp)
                stats.first_frame.set()
            original_put(item)
            if item is not None and len(capture.frames) > 1:
                capture.frames[-1] = b""  # keep digests, not a whole run of bytes

        capture.put = put  # type: ignore[method-assign]
        arrivals = stats.last_arrival
        original = receiver._handle_rtp_packet

        async def handle_video(packet: Any, arrival_time_ms: int) -> None:
            arrivals[packet.timestamp] = time.time()
            stats.video_packets += 1
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle_video
    else:
        stats.audio = capture
        original_audio = receiver._handle_rtp_packet

        async def handle_audio(packet: Any, arrival_time_ms: int) -> None:
            stats.audio_packets += 1
            await original_audio(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle_audio


class SubscriberWorker:
    """Several WHEP clients (and maybe the direct-path receiver) in one process."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.audio_digests = clip.audio.digests
        self.clients: dict[str, ClientStats] = {}
        self.session: Any = None

    async def _whep(self, base_url: str, room: str, token: str, name: str) -> ClientStats:
        import aiohttp
        from aiortc import RTCSessionDescription

        from tests.support.peers import client_pc

        if self.session is None:
            self.session = aiohttp.ClientSession()
        stats = ClientStats(name)
        pc = stats.pc = client_pc()
        video = pc.addTransceiver("video", direction="recvonly")
        audio = pc.addTransceiver("audio", direction="recvonly")
        _instrument(video.receiver, stats, "video")
        _instrument(audio.receiver, stats, "audio")
        self.clients[name] = stats
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        stats.post_started = time.time()
        async with self.session.post(
            f"{base_url}/whep/{room}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            body = await response.text()
        if response.status != 201:
            raise RuntimeError(f"WHEP {name}: {response.status} {body[:200]}")
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
        stats.answered = time.time()
        return stats

    async def cmd_subscribe(self, base_url: str, room: str, tokens: list[tuple[str, str]]) -> list:
        results = await asyncio.gather(
            *(self._whep(base_url, room, token, name) for name, token in tokens),
            return_exceptions=True,
        )
        return [repr(r) for r in results if isinstance(r, BaseException)]

    async def cmd_direct_answer(self, offer: str) -> str:
        from aiortc import RTCSessionDescription

        from tests.support.peers import client_pc

        stats = ClientStats("direct")
        pc = stats.pc = client_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for transceiver in pc.getTransceivers():
            _instrument(transceiver.receiver, stats, transceiver.kind)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        self.clients["direct"] = stats
        return str(pc.localDescription.sdp)

    async def cmd_status(self) -> dict[str, int]:
        return {name: len(c.video_timestamps) for name, c in self.clients.items()}

    async def cmd_late_join(
        self, base_url: str, room: str, token: str, name: str, timeout: float
    ) -> dict:
        stats = await self._whep(base_url, room, token, name)
        try:
            await asyncio.wait_for(stats.first_frame.wait(), timeout)
        except TimeoutError:
            return {"post_started": stats.post_started, "first_frame": None}
        finally:
            # Measured: leave, so the room is back to N subscribers.
            self.clients.pop(name, None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stats.pc.close(), 5)
        ts = stats.video_timestamps[0]
        first = stats.video.frames[0]
        return {
            "post_started": stats.post_started,
            "answered": stats.answered,
            "first_frame": stats.last_arrival.get(ts, stats.video.arrivals[0]),
            "first_frame_captured": stats.video.arrivals[0],
            "first_frame_is_keyframe": bool(first) and not first[0] & 0x01,
            "first_frame_digest": stats.video.digests[0],
        }

    async def cmd_report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, c in self.clients.items():
            video = c.video
            frames = []
            if video is not None:
                for ts, digest, captured in zip(
                    c.video_timestamps, video.digests, video.arrivals, strict=False
                ):
                    frames.append((ts, digest, captured, c.last_arrival.get(ts, captured)))
            audio_digests = c.audio.digests if c.audio is not None else []
            out[name] = {
                "frames": frames,
                "video_packets": c.video_packets,
                "audio_packets": c.audio_packets,
                "audio_frames": len(audio_digests),
                "audio_identical": sum(1 for d in audio_digests if d in self.audio_digests),
                "state": c.pc.connectionState if c.pc is not None else None,
            }
        return out

    async def cmd_stop(self) -> None:
        await asyncio.gather(
            *(asyncio.wait_for(c.pc.close(), 5) for c in self.clients.values() if c.pc),
            return_exceptions=True,
        )
        if self.session is not None:
            await self.session.close()


def worker_main(role: str, conn: Any, clip_file: str) -> None:
    """Entry point of a worker process: answer the orchestrator's commands."""
    parent = os.getppid()

    def orphan_watch() -> None:  # never outlive the orchestrator
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=orphan_watch, daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the orchestrator's to handle
    _pin_rtp_timestamp_origin()
    clip = read_clip(Path(clip_file))
    asyncio.run(_serve_commands(role, conn, clip))


async def _serve_commands(role: str, conn: Any, clip: Clip) -> None:
    handler: Any = PublisherWorker(clip) if role == "publisher" else SubscriberWorker(clip)
    loop = asyncio.get_running_loop()
    conn.send(("ok", "ready"))
    while True:
        try:
            command, args = await loop.run_in_executor(None, conn.recv)
        except (EOFError, OSError):
            return
        try:
            result = await getattr(handler, f"cmd_{command}")(*args)
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))
        if command == "stop":
            return


class Worker:
    """The orchestrator's handle on a worker process."""

    def __init__(self, role: str, clip_file: Path, context: Any) -> None:
        self.role = role
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(role, child, str(clip_file)), name=role, daemon=True
        )
        self.process.start()
        child.close()
        CHILDREN.append(self)
        self._ready = False

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready:
            self.result(timeout)
            self._ready = True

    def send(self, command: str, *args: Any) -> None:
        self.conn.send((command, args))

    def result(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.role}: no answer in {timeout:.0f} s")
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"{self.role} failed:\n{value}")
        return value

    def call(self, command: str, *args: Any, timeout: float = 60.0) -> Any:
        self.wait_ready()
        self.send(command, *args)
        return self.result(timeout)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(Exception):
                self.wait_ready(5)
                self.call("stop", timeout=10)
            self.process.join(5)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(3)
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)


# --------------------------------------------------------------------------------------
# Servers under test
# --------------------------------------------------------------------------------------

CHILDREN: list[Any] = []  # everything to kill on the way out


class ServerUnderTest:
    """Our SFU (``conference serve``) or the MediaRelay baseline, as a subprocess."""

    def __init__(self, kind: str, work_dir: Path) -> None:
        self.kind = kind
        self.work_dir = work_dir
        self.sfu: Any = None
        self.process: subprocess.Popen[bytes]
        if kind == "sfu":
            from tests.support.server import start_server

            self.sfu = start_server(work_dir / "data")
            self.process = self.sfu.process
            self.base_url = self.sfu.base_url
            self.log_path = self.sfu.log_path
            CHILDREN.append(self)
            self.room = self.sfu.create_room("Benchmark chuyển tiếp")
        else:
            from tests.support.server import free_port

            port = free_port()
            self.log_path = work_dir / "baseline.log"
            work_dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log_file:
                self.process = subprocess.Popen(
                    [sys.executable, str(BENCH / "baseline_relay.py"), "--port", str(port)],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            CHILDREN.append(self)
            self.base_url = f"http://127.0.0.1:{port}"
            self.room = "benchmark"
            deadline = time.monotonic() + 30
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"baseline exited early:\n{self.log_path.read_text()}")
                try:
                    urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("baseline did not start") from None
                    time.sleep(0.2)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def token(self, name: str, publisher: bool = False) -> str:
        if self.sfu is None:
            return "ignored"
        from conference.tokens import Role

        site = re.sub(r"[^a-z0-9-]", "-", name.lower())
        if publisher:
            return str(self.sfu.token(self.room, name, role=Role.PARTICIPANT, site_id=site))
        return str(self.sfu.token(self.room, name, role=Role.VIEWER, site_id=site))

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"{self.base_url}/metrics", timeout=5).read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
        return values

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)

    def log_problems(self) -> dict[str, Any]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        lines = text.splitlines()
        bad = [
            line
            for line in lines
            if re.search(r"\b(ERROR|CRITICAL|WARNING|Traceback|Exception)\b", line)
        ]
        return {
            "log": str(self.log_path),
            "lines": len(lines),
            "problem_lines": len(bad),
            "examples": sorted(
                Counter(_normalise(line) for line in bad).items(), key=lambda x: -x[1]
            )[:8],
        }


def _normalise(line: str) -> str:
    line = re.sub(r"^\S+ \S+ ", "", line)  # timestamps
    line = re.sub(r"0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+", "#", line)
    return line[:200]


# --------------------------------------------------------------------------------------
# /proc sampling
# --------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) in seconds of every thread of ``pid`` (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid``."""
    return sum(process_cpu_times(pid))


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


@dataclass
class Sample:
    wall: float
    server_cpu: float
    server_user: float
    workers_cpu: dict[str, float]
    metrics: dict[str, float]
    busy: tuple[float, float]


def take_sample(server: ServerUnderTest, workers: list[Worker]) -> Sample:
    return Sample(
        wall=time.time(),
        server_cpu=process_cpu_seconds(server.pid),
        server_user=process_cpu_times(server.pid)[0],
        workers_cpu={w.role: process_cpu_seconds(w.pid) for w in workers},
        metrics=server.metrics(),
        busy=machine_busy(),
    )


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------

PACKETS = "conference_rtp_packets_forwarded_total"
FRAMES = "conference_video_frames_forwarded_total"


@dataclass
class RunConfig:
    seconds: float
    warmup: float
    tail: float
    per_worker: int
    ready_timeout: float
    py_spy: bool
    py_spy_rate: int
    late_joiners: int


def code_version() -> dict[str, Any]:
    """The commit under test and any uncommitted change to the server's code."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    paths = ("conference", "web")
    dirty = git("status", "--porcelain", "--", *paths)
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        # Commits that only touch tests or docs leave these trees alone.
        "server_tree": [t[:10] for t in git("rev-parse", *(f"HEAD:{p}" for p in paths)).split()],
        "uncommitted": [line[3:] for line in dirty.splitlines()],
    }


def run_one(
    kind: str, n: int, config: RunConfig, clip: Clip, clip_file: Path, context: Any
) -> dict:
    label = "sfu" if kind == "sfu" else "baseline-mediarelay"
    work_dir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-{n}-"))
    workers_count = max(1, math.ceil(n / config.per_worker))
    log(f"--- {label}, N={n}: starting server and {workers_count + 1} client processes")
    publisher = Worker("publisher", clip_file, context)
    subscribers = [Worker(f"subscribers-{i}", clip_file, context) for i in range(workers_count)]
    workers = [publisher, *subscribers]
    server: ServerUnderTest | None = None
    profile: dict[str, Any] | None = None
    code = code_version()  # the server imports the code as it is now
    try:
        server = ServerUnderTest(kind, work_dir)
        for worker in workers:
            worker.wait_ready()

        info = publisher.call(
            "publish", server.base_url, server.room, server.token("Publisher", True)
        )
        log(f"publisher connected in {info['connect_ms']:.0f} ms")
        offer = publisher.call("direct_offer")
        answer = subscribers[0].call("direct_answer", offer)
        publisher.call("direct_answer", answer)
        log("direct (serverless) reference path connected")

        names = [f"viewer-{i:03d}" for i in range(n)]
        assignment: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for i, name in enumerate(names):
            assignment[i % workers_count].append((name, server.token(name)))
        for index, worker in enumerate(subscribers):
            worker.send("subscribe", server.base_url, server.room, assignment[index])
        errors = []
        for worker in subscribers:
            errors += worker.result(120)
        if errors:
            log(f"{len(errors)} subscribers failed to connect: {errors[:3]}")

        started = time.monotonic()
        while True:
            counts: dict[str, int] = {}
            for worker in subscribers:
                counts.update(worker.call("status"))
            waiting = [name for name in names if counts.get(name, 0) == 0]
            if not waiting:
                break
            if time.monotonic() - started > config.ready_timeout:
                log(f"{len(waiting)} of {n} subscribers still without video, going on")
                break
            time.sleep(0.25)
        log(f"{n - len(waiting)} subscribers receive video; warming up {config.warmup:.0f} s")
        time.sleep(config.warmup)

        spy = None
        if config.py_spy and kind == "sfu":
            spy, spy_file = _start_py_spy(server.pid, config.seconds, work_dir, config.py_spy_rate)
        first = take_sample(server, workers)
        log(f"measuring {config.seconds:.0f} s")
        time.sleep(config.seconds)
        last = take_sample(server, workers)
        if spy is not None:
            profile = _finish_py_spy(spy, spy_file)

        late = []
        for attempt in range(config.late_joiners):
            name = f"late-joiner-{attempt + 1}"
            late.append(
                subscribers[attempt % len(subscribers)].call(
                    "late_join",
                    server.base_url,
                    server.room,
                    server.token(name),
                    name,
                    20.0,
                    timeout=60,
                )
            )
            time.sleep(1.5)  # more than the SFU's keyframe-request throttle interval
        log(f"late joiners: {[_late_ms(x) for x in late]} ms to first frame")
        pub_report = publisher.call("report", timeout=60)
        sub_reports: dict[str, Any] = {}
        for worker in subscribers:
            sub_reports.update(worker.call("report", timeout=60))
    finally:
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
    result = analyse(label, n, clip, config, first, last, pub_report, sub_reports, late, names)
    result["server_log"] = server.log_problems()
    result["code"] = code
    after = code_version()
    if (after["server_tree"], after["uncommitted"]) != (code["server_tree"], code["uncommitted"]):
        # The other people on this repository did not wait for us: say so.
        result["code"]["changed_during_run"] = True
        log("warning: the server's code changed during this run")
    if profile is not None:
        result["profile"] = profile
    if not result["server_log"].get("problem_lines"):
        shutil.rmtree(work_dir, ignore_errors=True)  # keep the log when it says something
    return result


# --------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "samples": 0}
    import numpy as np

    array = np.array(values) * 1000.0
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "samples": len(values),
    }


class SentFrames:
    """What a publisher track sent: frame index -> time, and how to recognise a frame."""

    def __init__(self, clip: Clip, entries: list[tuple[int, int, bool, float]]) -> None:
        self.time: dict[int, float] = {}
        self.by_clip_index: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.digests: set[str] = set()
        video, key = clip.video, clip.video_key
        self._digest_to_clip: dict[str, int] = {}
        for clip_index, payload in enumerate(video.payloads):
            self._digest_to_clip[hashlib.sha1(payload).hexdigest()] = clip_index
        for clip_index, payload in enumerate(key.payloads):
            self._digest_to_clip.setdefault(hashlib.sha1(payload).hexdigest(), clip_index)
        self.on_request: dict[int, bool] = {}
        self.periodic: dict[int, bool] = {}
        payload_digest = {}
        for index, clip_index, use_key, sent_at in entries:
            self.time[index] = sent_at
            self.on_request[index] = use_key
            self.periodic[index] = video.keyframes[clip_index]
            self.by_clip_index[clip_index].append((sent_at, index))
            slot = (clip_index, use_key)
            if slot not in payload_digest:
                payload_digest[slot] = hashlib.sha1(
                    (key if use_key else video).payloads[clip_index]
                ).hexdigest()
            self.digests.add(payload_digest[slot])
        for entries_of_frame in self.by_clip_index.values():
            entries_of_frame.sort()

    def by_digest(self, digest: str, arrival: float) -> int | None:
        """The sent frame with these bytes: the last one sent before ``arrival``
        (the clip loops in long runs)."""
        clip_index = self._digest_to_clip.get(digest)
        if clip_index is None:
            return None
        candidates = self.by_clip_index.get(clip_index)
        if not candidates:
            return None
        position = bisect.bisect_right(candidates, (arrival + 0.001, 1 << 62)) - 1
        return candidates[position][1] if position >= 0 else None

    def by_timestamp(self, rtp_timestamp: int) -> int | None:
        """The sent frame with this RTP timestamp (publisher and baseline start at 0).

        aiortc's decode/encode round trip of ``pts`` can lose a tick: round.
        """
        index = round(rtp_timestamp / TICKS_PER_FRAME)
        if abs(rtp_timestamp - index * TICKS_PER_FRAME) > 3:
            return None
        return index if index in self.time else None


def _receive_stats(
    sent: SentFrames, window: set[int], frames: list, match: str
) -> tuple[set[int], list[float], list[float]]:
    received: set[int] = set()
    latency: list[float] = []
    latency_captured: list[float] = []
    for rtp_timestamp, digest, captured, last_packet in frames:
        index = (
            sent.by_digest(digest, last_packet)
            if match == "digest"
            else sent.by_timestamp(rtp_timestamp)
        )
        if index is None or index in received:
            continue
        received.add(index)
        if index in window:
            latency.append(last_packet - sent.time[index])
            latency_captured.append(captured - sent.time[index])
    return received & window, latency, latency_captured


def _late_ms(late: dict[str, Any]) -> float | None:
    if not late.get("first_frame"):
        return None
    return round((late["first_frame"] - late["post_started"]) * 1000, 1)


def _frame_source(sent: SentFrames, late: dict[str, Any]) -> str | None:
    digest, arrival = late.get("first_frame_digest"), late.get("first_frame")
    if not digest or not arrival:
        return None
    index = sent.by_digest(digest, arrival)
    if index is None:
        return "re-encoded"
    if sent.on_request.get(index):
        return f"frame {index}: keyframe sent after a PLI"
    return f"frame {index}: periodic keyframe" if sent.periodic.get(index) else f"frame {index}"


def _late_detail(late: dict[str, Any], sent: SentFrames, request_times: list[float]) -> dict:
    start = late["post_started"]

    def since(key: str) -> float | None:
        return round((late[key] - start) * 1000, 1) if late.get(key) else None

    return {
        "first_frame_ms": since("first_frame"),
        "answer_ms": since("answered"),
        "first_frame_captured_ms": since("first_frame_captured"),
        "first_frame_is_keyframe": late.get("first_frame_is_keyframe"),
        "first_frame_byte_identical": (late.get("first_frame_digest") in sent.digests)
        if late.get("first_frame_digest")
        else None,
        # A keyframe of the clip's own GOP, or one the publisher sent after a PLI?
        "first_frame_source": _frame_source(sent, late),
        # PLIs the publisher got between the POST and the first frame (ms after the POST).
        "publisher_keyframe_requests_ms": [
            round((t - start) * 1000, 1)
            for t in request_times
            if start - 0.1 <= t <= (late.get("first_frame") or start + 20)
        ],
    }


def analyse(
    label: str,
    n: int,
    clip: Clip,
    config: RunConfig,
    first: Sample,
    last: Sample,
    pub_report: dict,
    sub_reports: dict,
    late: list[dict[str, Any]],
    names: list[str],
) -> dict[str, Any]:
    wall = last.wall - first.wall
    cpu = last.server_cpu - first.server_cpu
    packets = last.metrics.get(PACKETS, 0) - first.metrics.get(PACKETS, 0)
    frames = last.metrics.get(FRAMES, 0) - first.metrics.get(FRAMES, 0)
    busy = (last.busy[0] - first.busy[0]) / max(1, last.busy[1] - first.busy[1])

    clients = {
        role: round((last.workers_cpu[role] - first.workers_cpu[role]) / wall * 100, 1)
        for role in first.workers_cpu
    }
    sent = SentFrames(clip, pub_report["video"])
    window = {
        index
        for index, sent_at in sent.time.items()
        if first.wall <= sent_at <= last.wall - config.tail
    }
    match = "digest" if label == "sfu" else "timestamp"
    delivered = 0
    latency: list[float] = []
    latency_captured: list[float] = []
    identical = total_in_window = 0
    video_packets = audio_packets = audio_frames = audio_identical = 0
    per_subscriber_delivery = []
    for name in names:
        report = sub_reports.get(name)
        if report is None:
            per_subscriber_delivery.append(0.0)
            continue
        got, lat, lat_captured = _receive_stats(sent, window, report["frames"], match)
        delivered += len(got)
        per_subscriber_delivery.append(len(got) / max(1, len(window)))
        latency += lat
        latency_captured += lat_captured
        for _ts, digest, captured, _last in report["frames"]:
            if first.wall <= captured <= last.wall:
                total_in_window += 1
                identical += digest in sent.digests
        video_packets += report["video_packets"]
        audio_packets += report["audio_packets"]
        audio_frames += report["audio_frames"]
        audio_identical += report["audio_identical"]

    direct_sent = SentFrames(
        clip,
        [
            (index, index % len(clip.video.payloads), False, sent_at)
            for index, sent_at in pub_report["direct"]
        ],
    )
    # The tee forwards exactly what the main track sent, keyframe variants included.
    direct_sent.digests = sent.digests
    direct_sent._digest_to_clip = sent._digest_to_clip
    direct_window = {
        i for i, t in direct_sent.time.items() if first.wall <= t <= last.wall - config.tail
    }
    direct_report = sub_reports.get("direct", {"frames": []})
    direct_got, direct_latency, direct_latency_captured = _receive_stats(
        direct_sent, direct_window, direct_report["frames"], "digest"
    )
    ours = _percentiles(latency)
    direct = _percentiles(direct_latency)
    added: dict[str, float | None] = {}
    for key in ("p50", "p95"):
        a, b = ours[key], direct[key]
        added[key] = round(a - b, 2) if a is not None and b is not None else None
    late_values = [_late_ms(x) for x in late]
    measured = sorted(v for v in late_values if v is not None)
    late_ms = measured[len(measured) // 2] if measured else None
    request_times = pub_report.get("keyframe_request_times", [])
    expected = len(window) * n
    return {
        "n": n,
        "server": label,
        "seconds": round(wall, 2),
        "cpu_us_per_packet": round(cpu * 1e6 / packets, 2) if packets else None,
        "cpu_us_per_frame": round(cpu * 1e6 / frames, 1) if frames else None,
        "packets_forwarded": int(packets),
        "frames_forwarded": int(frames),
        "server_cpu_seconds": round(cpu, 3),
        "server_cpu_percent": round(cpu / wall * 100, 1),
        "server_cpu_system_share": round(1 - (last.server_user - first.server_user) / cpu, 3)
        if cpu
        else None,
        "delivery_ratio": round(delivered / expected, 5) if expected else None,
        "delivery_min_subscriber": round(min(per_subscriber_delivery), 5)
        if per_subscriber_delivery
        else None,
        "frames_expected": expected,
        "frames_delivered": delivered,
        "byte_identical_ratio": round(identical / total_in_window, 5) if total_in_window else None,
        "frames_received_in_window": total_in_window,
        "latency_ms": {k: ours[k] for k in ("p50", "p95")},
        "latency_samples": ours["samples"],
        "latency_added_ms": added,
        "latency_incl_jitter_buffer_ms": {
            k: _percentiles(latency_captured)[k] for k in ("p50", "p95")
        },
        "direct_latency_ms": {
            "p50": direct["p50"],
            "p95": direct["p95"],
            "samples": direct["samples"],
            "delivery_ratio": round(len(direct_got) / len(direct_window), 5)
            if direct_window
            else None,
            "incl_jitter_buffer": {
                k: _percentiles(direct_latency_captured)[k] for k in ("p50", "p95")
            },
        },
        "late_join_first_frame_ms": late_ms,
        "late_join": [_late_detail(x, sent, request_times) for x in late],
        "subscriber_rx": {
            "video_packets_per_subscriber": round(video_packets / max(1, n)),
            "audio_packets_per_subscriber": round(audio_packets / max(1, n)),
            "audio_frames_per_subscriber": round(audio_frames / max(1, n)),
            "audio_byte_identical_ratio": round(audio_identical / audio_frames, 5)
            if audio_frames
            else None,
        },
        "publisher": {
            "frames_sent": len(sent.time),
            "frames_in_window": len(window),
            "keyframe_requests": pub_report["keyframe_requests"],
            "keyframes_sent_on_request": pub_report["keyframes_sent"],
        },
        # Percent of one core, like server_cpu_percent (this machine has os.cpu_count()).
        "server_counters_in_window": {
            name.removeprefix("conference_"): int(value - first.metrics.get(name, 0))
            for name, value in last.metrics.items()
            if name.startswith("conference_") and name.endswith("_total")
        },
        "machine_busy_percent": round(busy * 100 * (os.cpu_count() or 1), 1),
        "clients_cpu_percent": clients,
        "other_processes_cpu_percent": round(
            busy * 100 * (os.cpu_count() or 1) - cpu / wall * 100 - sum(clients.values()), 1
        ),
    }


# --------------------------------------------------------------------------------------
# py-spy (optional): where the server's time goes during the measurement window
# --------------------------------------------------------------------------------------


def _start_py_spy(pid: int, seconds: float, work_dir: Path, rate: int) -> tuple[Any, Path]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = work_dir / "py-spy.txt"
    spy = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--threads",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    CHILDREN.append(_Popen(spy))
    return spy, out


class _Popen:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _finish_py_spy(spy: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    try:
        _, err = spy.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        return {"error": "py-spy did not finish"}
    if not out.exists():
        return {"error": (err or b"").decode(errors="replace")[-500:]}
    profile = summarise_collapsed(out.read_text())
    keep = RESULTS / f"py-spy-{datetime.datetime.now():%Y%m%d-%H%M%S}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, keep)
    profile["raw"] = str(keep.relative_to(ROOT))
    return profile


# Leaf frames that are a thread waiting, which py-spy does not always recognise as idle.
IDLE_LEAVES = {
    "_worker (thread.py)",
    "EpollSelector.select (selectors.py)",
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
}


def summarise_collapsed(text: str, top: int = 25) -> dict[str, Any]:
    """Self and inclusive share of each function from py-spy's collapsed stacks.

    Shares are of the samples where the server was working: samples whose leaf
    is a thread waiting (an idle executor thread, the event loop in epoll) are
    left out and counted in ``idle_samples``.
    """
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [
            f
            for f in stack.split(";")
            if not f.startswith("thread ") and not f.startswith("process ")
        ]
        if not frames:
            continue
        total += count
        # "Slot.on_packet (conference/sfu.py:416)" -> "Slot.on_packet (sfu.py)"
        names = [re.sub(r" \((?:.*/)?([^/:]*)(?::\d+)?\)$", r" (\1)", f) for f in frames]
        if names[-1] in IDLE_LEAVES:
            idle += count
            total -= count
            continue
        self_time[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    total = max(total, 1)
    return {
        "samples": total,
        "idle_samples": idle,
        "self": [(name, round(c / total * 100, 1)) for name, c in self_time.most_common(top)],
        "inclusive": [
            (name, round(c / total * 100, 1)) for name, c in inclusive.most_common(top * 2)
        ],
    }


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    import aiortc
    import av

    model = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = None
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        memory = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "av": av.__version__,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def measure(
    kind: str,
    n: int,
    config: RunConfig,
    clip: Clip,
    clip_file: Path,
    context: Any,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One run, run again (``--retries``) if other processes were busy meanwhile."""
    for attempt in range(args.retries + 1):
        background = wait_for_quiet(args.quiet_wait)
        result = run_one(kind, n, config, clip, clip_file, context)
        result["background_cpu_percent_before"] = background
        result["contended"] = result["other_processes_cpu_percent"] > CONTENDED_PERCENT
        if not result["contended"]:
            break
        if attempt < args.retries:
            log(
                f"other processes used {result['other_processes_cpu_percent']} % "
                "of a core during the window: running it again"
            )
    return result


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median CPU per packet; the others are summarised in it."""
    if len(results) == 1:
        return results[0]
    ordered = sorted(results, key=lambda r: r["cpu_us_per_packet"] or 0.0)
    chosen = dict(ordered[len(ordered) // 2])
    chosen["repeats"] = [
        {
            "cpu_us_per_packet": r["cpu_us_per_packet"],
            "cpu_us_per_frame": r["cpu_us_per_frame"],
            "server_cpu_percent": r["server_cpu_percent"],
            "delivery_ratio": r["delivery_ratio"],
            "byte_identical_ratio": r["byte_identical_ratio"],
            "latency_ms": r["latency_ms"],
            "latency_added_ms": r["latency_added_ms"],
            "late_join_first_frame_ms": r["late_join_first_frame_ms"],
            "other_processes_cpu_percent": r["other_processes_cpu_percent"],
        }
        for r in results
    ]
    return chosen


CONTENDED_PERCENT = 25.0  # of one core, used by processes that are not ours


def background_cpu_percent(seconds: float = 1.0) -> float:
    """How busy the machine is (percent of one core) with none of our processes running."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return round((busy1 - busy0) / max(1, total1 - total0) * 100 * (os.cpu_count() or 1), 1)


def wait_for_quiet(limit: float) -> float:
    """Wait (up to ``limit`` s) until others use less than CONTENDED_PERCENT of a core."""
    deadline = time.monotonic() + limit
    load = background_cpu_percent()
    while load > CONTENDED_PERCENT and time.monotonic() < deadline:
        log(f"other processes use {load} % of a core; waiting for a quieter machine")
        time.sleep(4)
        load = background_cpu_percent()
    return load


def _cleanup() -> None:
    for child in list(CHILDREN):
        with contextlib.suppress(Exception):
            child.kill()
    CHILDREN.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, nargs="+", default=[1, 10, 20, 40], help="subscriber counts"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window per run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the MediaRelay baseline")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds after all subscribers receive"
    )
    parser.add_argument("--per-worker", type=int, default=10, help="subscribers per client process")
    parser.add_argument(
        "--late-joiners", type=int, default=3, help="late joiners per run (median reported)"
    )
    parser.add_argument(
        "--clip-seconds", type=float, default=40.0, help="length of the encoded clip"
    )
    parser.add_argument(
        "--py-spy", action="store_true", help="profile our server with py-spy during each window"
    )
    parser.add_argument(
        "--py-spy-rate",
        type=int,
        default=250,
        help="py-spy samples per second (py-spy pauses the server for each: profiled runs' "
        "latency is not representative)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run our server this many times per N and report the median (CPU per packet)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each run, wait up to this long for other processes to go quiet",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="run again when other processes were busy during the window",
    )
    parser.add_argument(
        "--output", type=Path, help="also write the JSON here (default bench/results/)"
    )
    args = parser.parse_args(argv)

    def on_sigterm(*_: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    config = RunConfig(
        seconds=args.seconds,
        warmup=args.warmup,
        tail=1.0,
        per_worker=args.per_worker,
        ready_timeout=45.0,
        py_spy=args.py_spy,
        py_spy_rate=args.py_spy_rate,
        late_joiners=args.late_joiners,
    )
    context = multiprocessing.get_context("spawn")
    code_at_start = code_version()
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    try:
        clip, clip_file = load_clip(args.clip_seconds)
        for n in args.n:
            kinds = ["sfu"] if args.no_baseline else ["sfu", "baseline"]
            for kind in kinds:
                repeats = args.repeat if kind == "sfu" else 1
                try:
                    results = [
                        measure(kind, n, config, clip, clip_file, context, args)
                        for _ in range(repeats)
                    ]
                except Exception:
                    # One broken run (a server that would not start...) should not
                    # cost the others: record it and go on.
                    log(f"{kind} N={n} failed:\n{traceback.format_exc()}")
                    _cleanup()
                    runs.append(
                        {
                            "n": n,
                            "server": "sfu" if kind == "sfu" else "baseline-mediarelay",
                            "error": traceback.format_exc(limit=3),
                        }
                    )
                    continue
                result = median_run(results)
                runs.append(result)
                log(
                    f"{result['server']} N={n}: {result['cpu_us_per_packet']} us/packet, "
                    f"{result['cpu_us_per_frame']} us/frame, "
                    f"CPU {result['server_cpu_percent']} %, "
                    f"delivery {result['delivery_ratio']}, "
                    f"identical {result['byte_identical_ratio']}, "
                    f"latency {result['latency_ms']}, added {result['latency_added_ms']}, "
                    f"late join {result['late_join_first_frame_ms']} ms"
                    + (f" (median of {len(results)})" if len(results) > 1 else "")
                )
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        _cleanup()
        return 130
    finally:
        _cleanup()

    document = {
        "machine": machine_info(),
        "code": code_at_start,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "duration_seconds": round(time.monotonic() - started, 1),
        "clip": clip.describe(),
        "method": {
            "cpu": "utime+stime of the server process (all threads) from /proc/<pid>/stat "
            "over the window",
            "packets_frames": f"deltas of {PACKETS} and {FRAMES} from /metrics "
            "over the same window",
            "warmup_seconds": config.warmup,
            "window_tail_excluded_seconds": config.tail,
            "latency": "publisher hand-over to aiortc -> arrival of the frame's last RTP "
            "packet at the subscriber (before the jitter buffer's one-frame hold; "
            "*_incl_jitter_buffer adds it)",
            "latency_added": "ours minus a direct publisher->client peer connection "
            "running at the same time",
            "frame_matching": {
                "sfu": "SHA-1 of the frame bytes",
                "baseline-mediarelay": "RTP timestamp (re-encoded)",
            },
            "subscribers_per_process": config.per_worker,
        },
        "runs": runs,
        "direct_latency_ms": _direct_summary(runs),
        "ratios": _ratios(runs),
        "targets": _targets(runs),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    output = args.output or RESULTS / f"forwarding-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; JSON also in {output}")
    print(text)
    return 0


def _direct_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_run = {
        f"{r['server']} n={r['n']}": {k: r["direct_latency_ms"][k] for k in ("p50", "p95")}
        for r in runs
        if "error" not in r
    }
    p50s = [v["p50"] for v in by_run.values() if v["p50"] is not None]
    p95s = [v["p95"] for v in by_run.values() if v["p95"] is not None]
    return {
        "p50": round(sorted(p50s)[len(p50s) // 2], 2) if p50s else None,
        "p95": round(sorted(p95s)[len(p95s) // 2], 2) if p95s else None,
        "note": "median over runs; each run measured its own direct path at the same time",
        "by_run": by_run,
    }


def _ratio(base: dict[str, Any], ours: dict[str, Any], key: str) -> float | None:
    a, b = base.get(key), ours.get(key)
    return round(a / b, 2) if a and b else None


def _ratios(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in runs:
        if run["server"] != "sfu" or "error" in run:
            continue
        base = next(
            (r for r in runs if r["server"] != "sfu" and r["n"] == run["n"] and "error" not in r),
            None,
        )
        if base is None:
            continue

        out[f"n={run['n']}"] = {
            "cpu_per_packet_baseline_over_sfu": _ratio(base, run, "cpu_us_per_packet"),
            "cpu_per_frame_baseline_over_sfu": _ratio(base, run, "cpu_us_per_frame"),
            "server_cpu_percent_baseline_over_sfu": _ratio(base, run, "server_cpu_percent"),
        }
    return out


def _targets(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in runs:
        if run["server"] != "sfu" or "error" in run:
            continue
        added = run["latency_added_ms"]["p95"]
        out[f"n={run['n']}"] = {
            "applies": run["n"] == TARGET_N,
            f"cpu_us_per_packet<={TARGET_CPU_US_PER_PACKET:g}": run["cpu_us_per_packet"] is not None
            and run["cpu_us_per_packet"] <= TARGET_CPU_US_PER_PACKET,
            f"delivery_ratio>={TARGET_DELIVERY}": run["delivery_ratio"] is not None
            and run["delivery_ratio"] >= TARGET_DELIVERY,
            "byte_identical_ratio==1": run["byte_identical_ratio"] == TARGET_IDENTICAL,
            f"latency_added_p95_ms<={TARGET_ADDED_P95_MS:g}": added is not None
            and added <= TARGET_ADDED_P95_MS,
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
