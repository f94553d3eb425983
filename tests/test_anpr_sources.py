"""Camera sources that misbehave: an MJPEG camera over HTTP that drops, a corrupt file.

Each runs next to a healthy feed, which must not notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp import web

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.feeds import LOCAL_CAMERAS, register_feed, register_file_feed
from tests.support.media import plain_clip
from tests.support.server import ServerProcess, free_port, start_server
from tests.support.waiting import eventually

BOUNDARY = "khunghinh"


@pytest.fixture(scope="module")
def feeds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(Path(tmp_path_factory.mktemp("sources")) / "data", env=LOCAL_CAMERAS)
    server.add_user("operator.dinhhoa", "operator", "167", password=PASSWORD)
    yield server
    server.stop()


@pytest.fixture
async def operator(feeds_server: ServerProcess) -> AsyncIterator[ApiClient]:
    client = ApiClient(feeds_server.base_url)
    assert (await client.login("operator.dinhhoa", PASSWORD)).status == 200
    yield client
    await client.close()


class MjpegCamera:
    """An IP camera's MJPEG stream over HTTP that sends ``frames`` JPEGs per connection."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.connections = 0
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/video.mjpg", self.stream)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
        )
        await response.prepare(request)
        for index in range(self.frames):
            image = np.full((240, 320, 3), 40, np.uint8)
            cv2.putText(image, str(index), (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 2, (255,) * 3, 3)
            jpeg = cv2.imencode(".jpg", image)[1].tobytes()
            await response.write(
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                + jpeg
                + b"\r\n"
            )
            await asyncio.sleep(0.04)
        return response  # the camera drops the connection


async def add_feed(client: ApiClient, name: str, url: str) -> str:
    feed = await register_feed(
        client, url, name=name, checkpoint=f"Chốt {name}", location="", unit_code="167"
    )
    return str(feed["id"])


async def add_file_feed(server: ServerProcess, name: str, clip: Path) -> str:
    """A file feed (an administrator registers it) in the operator's district."""
    feed = await register_file_feed(
        server, clip, name=name, checkpoint=f"Chốt {name}", location="", unit_code="167"
    )
    return str(feed["id"])


async def status_of(client: ApiClient, feed_id: str) -> dict:
    reply = await client.call("GET", f"/api/feeds/{feed_id}")
    assert reply.status == 200
    return dict(reply.body["status"])


async def test_a_dropping_mjpeg_camera_reconnects_and_a_corrupt_file_fails_alone(
    operator: ApiClient, feeds_server: ServerProcess, tmp_path: Path
) -> None:
    camera = MjpegCamera(frames=60)
    await camera.start()
    healthy_clip = tmp_path / "healthy.mp4"
    plain_clip(healthy_clip)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    try:
        healthy = await add_file_feed(feeds_server, "Làn ra", healthy_clip)
        mjpeg = await add_feed(operator, "Làn vào", camera.url)
        broken = await add_file_feed(feeds_server, "Làn hỏng", corrupt)

        # The MJPEG camera is read, drops, is retried, and is read again.
        async def read_frames() -> dict | None:
            status = await status_of(operator, mjpeg)
            return status if status["state"] == "online" and status["frames"] > 0 else None

        first = await eventually(read_frames, timeout=60)
        assert first["codec"] == "mjpeg" and (first["width"], first["height"]) == (320, 240)

        async def dropped() -> dict | None:
            status = await status_of(operator, mjpeg)
            return status if status["state"] == "offline" else None

        offline = await eventually(dropped, timeout=60)
        assert "ended" in offline["error"] or "stopped" in offline["error"]
        await eventually(lambda: _reconnected(camera), timeout=60)
        later = await eventually(read_frames, timeout=60)
        assert later["frames"] > first["frames"]

        # The corrupt file is marked offline with a reason that says so, and retried.
        async def refused() -> dict | None:
            status = await status_of(operator, broken)
            return status if status["state"] in ("offline", "failed") and status["error"] else None

        failed = await eventually(refused, timeout=60)
        assert failed["error"] == "cannot decode the file as video", failed

        # The healthy feed ran on, unaffected.
        before = (await status_of(operator, healthy))["frames"]

        async def still_running() -> bool:
            status = await status_of(operator, healthy)
            return status["state"] == "online" and status["frames"] > before

        await eventually(still_running, timeout=30)
        assert (await status_of(operator, healthy))["restarts"] == 0
    finally:
        await camera.stop()


async def _reconnected(camera: MjpegCamera) -> bool:
    return camera.connections >= 2
