"""A checkpoint camera in a live meeting, end to end, with the real reader.

A synthetic checkpoint clip (known plates) is registered as a file feed; the
host brings it into the meeting from the console. A site receives the
annotated video (VP8, decodable), the host spotlights it, a watch-listed
plate raises an alert on the console and in the recording manifest, and the
pass is found by a partial-plate search with its crop. An H.264 camera marked
passthrough is forwarded into an H.264 meeting without being re-encoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from recorder.manifest import read_manifest
from tests.support import synth
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, meeting_body
from tests.support.console import Console
from tests.support.feeds import register_file_feed
from tests.support.media import h264_nal_units
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until


@pytest.fixture(scope="module")
def checkpoint_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("clip") / "checkpoint.mp4"
    truth = synth.generate(path, 14, seed=11, vehicles_per_minute=30)
    assert len(truth) >= 4
    return path, truth


@pytest.fixture
def anpr_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_server(tmp_path / "data")
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    yield server
    server.stop()


async def open_meeting(server: ServerProcess, host: ApiClient) -> tuple[str, dict[str, str]]:
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    return meeting, {link["site"]["id"]: link["url"].split("token=")[1] for link in links}


async def register_feed(server: ServerProcess, host: ApiClient, clip: Path, **extra: object) -> str:
    """``clip`` as a file feed of the host's district (an administrator registers files)."""
    feed_id = str((await register_file_feed(server, clip, **{"unit_code": "167", **extra}))["id"])

    async def online() -> bool:
        status = (await host.call("GET", f"/api/feeds/{feed_id}")).body["status"]
        return status["state"] == "online" or None

    await eventually(online, timeout=60)
    return feed_id


def decode_vp8(frames: list[bytes]) -> list[tuple[int, int]]:
    """Sizes of the frames a VP8 decoder makes of ``frames`` (from the first keyframe)."""
    codec = av.CodecContext.create("libvpx", "r")
    sizes = []
    for data in frames:
        try:
            for frame in codec.decode(av.Packet(data)):
                sizes.append((frame.width, frame.height))
        except av.error.InvalidDataError:
            continue  # frames before the first keyframe
    return sizes


async def test_camera_in_a_meeting_is_watched_spotlit_alerted_recorded_and_searchable(
    anpr_server: ServerProcess, checkpoint_clip: tuple[Path, list]
) -> None:
    path, truth = checkpoint_clip
    watched = min(truth, key=lambda v: v.exit_frame).plate  # the first vehicle to leave
    host = ApiClient(anpr_server.base_url)
    await host.login("host.dinhhoa", PASSWORD)
    feed_id = await register_feed(anpr_server, host, path)
    entry = {"pattern": watched.display, "reason": "Khai báo sai nơi đi"}
    assert (await host.call("POST", "/api/anpr/watchlist", entry)).status == 201

    meeting, tokens = await open_meeting(anpr_server, host)
    ws_url = anpr_server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(ws_url))
    viewer = SignalingClient(anpr_server.base_url, meeting, tokens["05536"])
    camera = f"feed-{feed_id}"
    try:
        await viewer.connect()
        await viewer.wait_for(lambda m: m["type"] == "offer")
        assert (await console.command("record-start"))["type"] == "result"
        added = await console.command("add-feed", feed_id)
        assert added["type"] == "result", added
        await wait_until(lambda: camera in console.sites, timeout=20)
        assert console.sites[camera]["status"] == "connected"
        assert console.sites[camera]["name"].startswith("Chốt Km 52")

        # Spotlit like any site: the viewer's main slot carries it, frames decode at 720p.
        assert (await console.command("spotlight", camera))["type"] == "result"
        await wait_until(lambda: viewer.current_slots().get("main") == camera, timeout=20)
        main = viewer.captures["main"]
        await wait_until(lambda: len(main.frames) >= 75, timeout=60)
        sizes = decode_vp8(list(main.frames))
        assert len(sizes) >= 50 and set(sizes) == {(1280, 720)}

        # The watch-listed plate raises an alert for the host, once per pass.
        def alerts() -> list[dict]:
            return [m for m in console.messages if m["type"] == "alert"]

        await wait_until(lambda: alerts(), timeout=150)
        alert = alerts()[0]
        assert alert["plate"] == watched.normalized and alert["site"] == camera
        assert alert["alerts"][0]["kind"] == "watch" and "Khai báo sai" in alert["text"]
        assert alert["crop"].endswith("/plate.jpg")
        # Nothing else in the clip is on a list: no other plate ever alerts.
        assert {a["plate"] for a in alerts()} == {watched.normalized}

        # The pass is stored: a partial plate finds it, with its crop and thumbnail.
        partial = watched.normalized[3:7]
        found = await host.call("GET", f"/api/anpr/events?plate={partial}")
        assert found.status == 200
        [event] = [e for e in found.body["events"] if e["id"] == alert["event"]]
        assert event["plate"] == watched.normalized and event["feed_id"] == feed_id
        # The plate's colour, where the camera saw it, is never a wrong one.
        assert event["colour"] in (watched.colour, None) and alert["colour"] == event["colour"]
        for kind in ("plate", "frame"):
            async with host.session.get(
                f"{anpr_server.base_url}/api/anpr/events/{event['id']}/{kind}.jpg"
            ) as response:
                assert response.status == 200 and response.content_type == "image/jpeg"
                data = await response.read()
            assert av.open(__import__("io").BytesIO(data)).streams.video[0].width > 0

        assert (await console.command("record-stop"))["type"] == "result"
        assert (await console.command("remove-feed", feed_id))["type"] == "result"
        await wait_until(lambda: console.sites.get(camera, {}).get("status") != "connected")
    finally:
        await viewer.close()
        await console.close()
        await host.close()

    [directory] = sorted(p for p in (anpr_server.data_dir / "recordings").iterdir() if p.is_dir())
    manifest = read_manifest(directory)
    plate_alerts = [e for e in manifest.events if e.type == "plate-alert"]
    assert plate_alerts and plate_alerts[0].data["plate"] == watched.normalized
    assert plate_alerts[0].site_id == camera
    recorded = [t for t in manifest.tracks if t.site_id == camera and t.kind == "video"]
    assert recorded and (directory / recorded[0].file).stat().st_size > 0


def write_h264_clip(path: Path, frames: int = 150, b_frames: int = 0) -> list[bytes]:
    """An H.264 camera's stream in MP4 (constrained baseline unless ``b_frames``); its NAL units."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.profile = "main" if b_frames else "baseline"
        stream.codec_context.options = {"bf": str(b_frames), "g": "25", "preset": "ultrafast"}
        yy, xx = np.mgrid[0:360, 0:640]
        for index in range(frames):
            image = np.zeros((360, 640, 3), np.uint8)
            image[..., 0] = (xx + index * 5) % 256
            image[..., 1] = (yy * 2 + index) % 256
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    units: list[bytes] = []
    with av.open(str(path)) as container:
        bsf = av.BitStreamFilterContext("h264_mp4toannexb", container.streams.video[0])
        for packet in container.demux(container.streams.video[0]):
            for out in bsf.filter(packet if packet.size else None):
                units.extend(h264_nal_units(bytes(out)))
    return units


async def test_h264_camera_is_forwarded_without_transcoding(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", env={"CONFERENCE_DEFAULT_CODEC": "h264"})
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    host = ApiClient(server.base_url)
    console: Console | None = None
    viewer: SignalingClient | None = None
    try:
        clip = tmp_path / "camera.mp4"
        sent = set(write_h264_clip(clip))
        await host.login("host.dinhhoa", PASSWORD)
        feed_id = await register_feed(server, host, clip, passthrough=True)
        meeting, tokens = await open_meeting(server, host)
        ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        console = Console(await host.session.ws_connect(ws_url))
        viewer = SignalingClient(server.base_url, meeting, tokens["05536"])
        await viewer.connect()
        await viewer.wait_for(lambda m: m["type"] == "offer")
        assert (await console.command("add-feed", feed_id))["type"] == "result"
        assert (await console.command("spotlight", f"feed-{feed_id}"))["type"] == "result"
        await wait_until(lambda: viewer.current_slots().get("main") == f"feed-{feed_id}", 20)
        main = viewer.captures["main"]
        await wait_until(lambda: len(main.frames) >= 40, timeout=60)
        received = [unit for frame in list(main.frames) for unit in h264_nal_units(frame)]
        slices = [u for u in received if u[0] & 0x1F in (1, 5)]
        assert len(slices) >= 40
        # Every picture the viewer got is one the camera sent, bit for bit.
        assert all(unit in sent for unit in slices)
        status = (await host.call("GET", f"/api/feeds/{feed_id}")).body["status"]
        assert status["passthrough"] is True
    finally:
        if viewer is not None:
            await viewer.close()
        if console is not None:
            await console.close()
        await host.close()
        server.stop()
    await asyncio.sleep(0)


async def test_an_h264_camera_with_b_frames_is_re_encoded_and_says_why(
    tmp_path: Path,
) -> None:
    """Browsers cannot play reordered frames in a call: such a camera is not passed through."""
    server = start_server(tmp_path / "data", env={"CONFERENCE_DEFAULT_CODEC": "h264"})
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    host = ApiClient(server.base_url)
    try:
        clip = tmp_path / "camera.mp4"
        write_h264_clip(clip, frames=100, b_frames=2)
        await host.login("host.dinhhoa", PASSWORD)
        feed_id = await register_feed(server, host, clip, passthrough=True)

        async def online() -> dict | None:
            status = (await host.call("GET", f"/api/feeds/{feed_id}")).body["status"]
            return status if status["state"] == "online" else None

        status = await eventually(online)
        assert status["codec"] == "h264" and status["passthrough"] is False
        assert status["note"] == "passthrough-b-frames"
    finally:
        await host.close()
        server.stop()
