"""WHIP/WHEP helpers shared by the interop tests: offers, decoding WHEP viewers,
outside clients in subprocesses, and a /metrics reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import urllib.request
from typing import Any

import aiohttp
import av
from aiortc import RTCPeerConnection, RTCSessionDescription

from conference.tokens import Role
from tests.support.peers import FrameCapture, capture_frames, client_pc
from tests.support.server import ROOT, ServerProcess

WANTED_FRAMES = 30  # one second of video at 30 frames per second


def with_setup(sdp: str, setup: str) -> str:
    """The offer with every ``a=setup`` set to ``setup``."""
    return re.sub(r"a=setup:\w+", f"a=setup:{setup}", sdp)


def setups(sdp: str) -> set[str]:
    return set(re.findall(r"a=setup:(\w+)", sdp))


async def post_sdp(
    server: ServerProcess, kind: str, room: str, token: str, sdp: str
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}/{kind}/{room}",
            data=sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response,
    ):
        return response.status, await response.text()


async def negotiate(
    server: ServerProcess, kind: str, room: str, token: str, pc: RTCPeerConnection, setup: str
) -> str:
    """Offer (with ``a=setup:SETUP``), apply the answer; returns the answer."""
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    sdp = pc.localDescription.sdp
    if setup != "actpass":
        sdp = with_setup(sdp, setup)
    status, answer = await post_sdp(server, kind, room, token, sdp)
    assert status == 201, answer
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return answer


# -- watching: a WHEP viewer that decodes --------------------------------------------------


class Decoded:
    """Decodes the frames a capture collected, as they come."""

    def __init__(self, capture: FrameCapture, codec: str) -> None:
        self.capture = capture
        self.context = av.CodecContext.create(codec, "r")
        self.done = 0
        self.pictures = 0
        self.size: tuple[int, int] | None = None

    def count(self) -> int:
        frames = self.capture.frames
        while self.done < len(frames):
            data = frames[self.done]
            self.done += 1
            try:
                pictures = self.context.decode(av.Packet(data))
            except av.error.FFmpegError:
                continue
            for picture in pictures:
                self.pictures += 1
                self.size = (picture.width, picture.height)
        return self.pictures


async def whep_viewer(
    server: ServerProcess,
    room: str,
    codec: str,
    pc: RTCPeerConnection | None = None,
    setup: str = "actpass",
    audio: bool = False,
) -> tuple[RTCPeerConnection, Decoded, FrameCapture | None, str]:
    """A WHEP viewer of the room's main slot; returns pc, its decoder, audio frames, answer."""
    pc = pc or client_pc()
    video = pc.addTransceiver("video", direction="recvonly")
    decoded = Decoded(capture_frames(video.receiver), codec)
    sounds = None
    if audio:
        sounds = capture_frames(pc.addTransceiver("audio", direction="recvonly").receiver)
    token = server.token(room, "Màn hình kiểm thử", role=Role.VIEWER)
    answer = await negotiate(server, "whep", room, token, pc, setup)
    return pc, decoded, sounds, answer


# -- outside clients in subprocesses ------------------------------------------------------


class OutsideClient:
    """A publisher in a subprocess that prints JSON events, one a line."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.events: list[dict[str, Any]] = []
        self.output: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == name), None)

    def transcript(self) -> str:
        return "\n".join(line[:2000] for line in self.output[-40:])

    async def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


def metric(server: ServerProcess, name: str) -> float:
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
