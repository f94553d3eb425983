"""Recording through the real server: files written without decoding, manifest, crash safety."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import time
from pathlib import Path

import av
import pytest

from recorder.manifest import read_manifest
from tests.support.api_client import ApiClient
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.recordings import recording_dirs
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import wait_until

PASSWORD = "mat-khau-kiem-thu"


@pytest.fixture(scope="module")
def clips():
    # 10 s of video: long enough that a few seconds of recording never loop it.
    return encode_vp8(frames=300, gop=60), encode_opus(10.0)


def site(server: ServerProcess, meeting: str, token: str, clips) -> SignalingClient:
    video, audio = clips
    return SignalingClient(
        server.base_url,
        meeting,
        token,
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )


def decoded_frames(path: Path, kind: str = "video") -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [float(frame.time) for frame in container.decode(stream) if frame.time is not None]


def packet_digests(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [
            hashlib.sha1(bytes(p)).hexdigest()
            for p in container.demux(container.streams.video[0])
            if p.size
        ]


async def test_recording_keeps_every_track_without_transcoding(server, clips):
    host, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    a = site(server, meeting, tokens["05536"], clips)
    b = site(server, meeting, tokens["05539"], clips)
    try:
        await a.connect()
        await b.connect()
        for client in (a, b):
            await client.wait_for(lambda m: m["type"] == "offer")
        await wait_until(lambda: a.pc is not None and a.pc.connectionState == "connected")
        started = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        assert started.status == 200 and started.body["active"] is True
        for client in (a, b):
            indicator = await client.wait_for(lambda m: m["type"] == "recording")
            assert indicator["active"] is True
        await asyncio.sleep(4)
        # A site that leaves and comes back gets a new file.
        await b.close()
        await asyncio.sleep(1)
        b = site(server, meeting, tokens["05539"], clips)
        await b.connect()
        welcome = await b.wait_for(lambda m: m["type"] == "welcome")
        assert welcome["recording"] is True  # a late joiner sees the indicator too
        await b.wait_for(lambda m: m["type"] == "offer")
        # Three seconds of media once it is connected (a loaded machine may take a
        # while to connect; the checks below want ≥ 50 audio frames per file).
        await wait_until(lambda: b.pc is not None and b.pc.connectionState == "connected")
        await asyncio.sleep(3)
        stopped = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
        assert stopped.body["active"] is False
        assert (await a.wait_for(lambda m: m["type"] == "recording" and not m["active"]))[
            "active"
        ] is False
    finally:
        await a.close()
        await b.close()

    [directory] = recording_dirs(server)
    manifest = read_manifest(directory)
    assert manifest.status.value == "complete" and manifest.meeting_id == meeting
    assert {u.code for u in manifest.units} == {"167", "05536", "05539"}
    files = {(t.site_id, t.kind): [] for t in manifest.tracks}
    for track in manifest.tracks:
        files[(track.site_id, track.kind)].append(track)
        assert track.closed and (directory / track.file).stat().st_size > 0
    assert len(files[("05536", "video")]) == 1 and len(files[("05536", "audio")]) == 1
    assert len(files[("05539", "video")]) == 2  # left and came back
    video, audio = clips
    for track in manifest.tracks:
        path = directory / track.file
        if track.kind == "video":
            times = decoded_frames(path)
            assert times and times[0] == 0.0
            assert abs(len(times) - track.frames) <= 1
            # Passthrough: every stored frame is one the publisher sent, bit for bit.
            assert set(packet_digests(path)) <= video.digests
            assert (track.width, track.height) == (320, 240)
        else:
            assert len(decoded_frames(path, "audio")) >= 50
        assert track.clock == "rtcp" and track.sync  # aligned through sender reports
        assert track.first_frame_at is not None and abs(track.first_frame_at - track.started_at) < 2
    kinds = [e.type for e in manifest.events]
    assert "recording-started" in kinds and "join" in kinds and "leave" in kinds
    # A site's audio and video line up on the server clock: the gap between their
    # first frames equals the gap between those frames' send times at the publisher
    # (both clips loop every 10 s from the same start, so their index tells it).
    a_tracks = {t.kind: t for t in manifest.tracks if t.site_id == "05536"}
    first_video = packet_digests(directory / a_tracks["video"].file)[0]
    video_index = [hashlib.sha1(p).hexdigest() for p in video.payloads].index(first_video)
    with av.open(str(directory / a_tracks["audio"].file)) as container:
        first_audio = next(hashlib.sha1(bytes(p)).hexdigest() for p in container.demux() if p.size)
    audio_index = [hashlib.sha1(p).hexdigest() for p in audio.payloads].index(first_audio)
    sent_gap = (video_index / 30 - audio_index * 0.02) % 10
    recorded_gap = (a_tracks["video"].first_frame_at - a_tracks["audio"].first_frame_at) % 10
    assert min(abs(sent_gap - recorded_gap), 10 - abs(sent_gap - recorded_gap)) < 0.06

    # The library lists it for the host, with its size and units.
    listing = (await host.call("GET", "/api/recordings")).body["recordings"]
    assert [r["id"] for r in listing] == [manifest.id]
    assert listing[0]["size"] > 10_000 and listing[0]["status"] == "complete"
    first_file = manifest.tracks[0].file
    async with host.session.get(
        f"{host.base_url}/api/recordings/{manifest.id}/files/{first_file}",
        headers={"Range": "bytes=0-99"},
    ) as response:
        assert response.status == 206 and response.content_type == "video/webm"
        assert len(await response.read()) == 100  # seekable in a browser player
    assert (
        await host.call("GET", f"/api/recordings/{manifest.id}/files/..%2Fmanifest.json")
    ).status == 404
    await host.close()


async def test_auto_record_runs_from_first_site_to_the_end(server, clips):
    host, meeting, tokens = await open_meeting(
        server, ["167", "05536"], minutes=0.2, auto_record=True
    )
    a = site(server, meeting, tokens["05536"], clips)
    try:
        assert recording_dirs(server) == []  # nobody in yet: nothing recorded
        await a.connect()
        # The first site's arrival starts it: its welcome already shows the indicator.
        assert (await a.wait_for(lambda m: m["type"] == "welcome"))["recording"] is True
        await a.wait_for(lambda m: m["type"] == "bye", timeout=40)  # the meeting ends
        assert [m["active"] for m in a.of_type("recording")] == [False]
    finally:
        await a.close()
        await host.close()
    [directory] = recording_dirs(server)
    manifest = read_manifest(directory)
    assert manifest.status.value == "complete" and manifest.started_by == "auto"
    assert manifest.stop_reason == "room-ended"


async def test_kill_9_leaves_readable_files_and_an_interrupted_recording(tmp_path, clips):
    server = start_server(tmp_path / "data")
    host, meeting, tokens = await open_meeting(server, ["167", "05536"])
    a = site(server, meeting, tokens["05536"], clips)
    try:
        await a.connect()
        await a.wait_for(lambda m: m["type"] == "offer")
        await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        await a.wait_for(lambda m: m["type"] == "recording")
        await asyncio.sleep(6)
        killed_at = time.time()
        server.stop(signal.SIGKILL)
    finally:
        await a.close()
        await host.close()
    [directory] = recording_dirs(server)
    assert read_manifest(directory).status.value == "recording"  # what the crash left
    video = next(t for t in read_manifest(directory).tracks if t.kind == "video")
    times = decoded_frames(directory / video.file)
    # Readable up to at most a few seconds before the kill.
    assert times and video.started_at + times[-1] > killed_at - 3.5
    restarted = start_server(tmp_path / "data", port=int(server.base_url.rsplit(":", 1)[1]))
    try:
        manifest = read_manifest(directory)
        assert manifest.status.value == "interrupted" and manifest.ended_at is not None
        assert manifest.ended_at > killed_at - 5
    finally:
        restarted.stop()


async def test_low_disk_stops_recording_cleanly_with_a_warning(tmp_path, clips):
    # A floor higher than any disk: the recording must stop at its first check.
    server = start_server(tmp_path / "data", env={"CONFERENCE_RECORDING_MIN_FREE_MB": str(10**9)})
    try:
        host, meeting, tokens = await open_meeting(server, ["167", "05536"])
        a = site(server, meeting, tokens["05536"], clips)
        await a.connect()
        await a.wait_for(lambda m: m["type"] == "offer")
        console = await host.session.ws_connect(
            server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
        await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        stopped = await a.wait_for(
            lambda m: m["type"] == "recording" and not m["active"], timeout=20
        )
        assert stopped["reason"] == "low-disk"
        warning = None
        for _ in range(50):
            message = json.loads((await console.receive(timeout=10)).data)
            if message["type"] == "warning":
                warning = message
                break
        assert warning is not None and warning["code"] == "recording-low-disk"
        await console.close()
        await a.close()
        [directory] = recording_dirs(server)
        manifest = read_manifest(directory)
        assert manifest.status.value == "stopped-low-disk"
        assert all(t.closed for t in manifest.tracks)
        await host.close()
    finally:
        server.stop()


async def test_library_permissions_and_deletion(server, clips):
    host, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    server.add_user("host.tp", "host", "164", password=PASSWORD)
    server.add_user("site.chochu", "site", "05536", password=PASSWORD)
    server.add_user("site.linhthong", "site", "05539", password=PASSWORD)
    server.add_user("admin", "admin", password=PASSWORD)
    a = site(server, meeting, tokens["05536"], clips)  # 05539 is invited but never comes
    try:
        await a.connect()
        await a.wait_for(lambda m: m["type"] == "offer")
        await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        await asyncio.sleep(3)
        await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
    finally:
        await a.close()
    recording = (await host.call("GET", "/api/recordings")).body["recordings"][0]["id"]

    async def as_user(username: str) -> ApiClient:
        client = ApiClient(server.base_url)
        assert (await client.login(username, PASSWORD)).status == 200
        return client

    took_part, absent, other_host, admin = (
        await as_user("site.chochu"),
        await as_user("site.linhthong"),
        await as_user("host.tp"),
        await as_user("admin"),
    )
    try:
        assert [
            r["id"] for r in (await took_part.call("GET", "/api/recordings")).body["recordings"]
        ] == [recording]
        assert (await took_part.call("GET", f"/api/recordings/{recording}")).status == 200
        for outsider in (absent, other_host):
            assert (await outsider.call("GET", "/api/recordings")).body["recordings"] == []
            assert (await outsider.call("GET", f"/api/recordings/{recording}")).status == 403
            assert (
                await outsider.call(
                    "POST", f"/api/recordings/{recording}/render", {"layout": "grid"}
                )
            ).status == 403
        # Deleting is for administrators only.
        assert (await host.call("DELETE", f"/api/recordings/{recording}")).status == 403
        assert (await took_part.call("DELETE", f"/api/recordings/{recording}")).status == 403
        assert (await admin.call("DELETE", f"/api/recordings/{recording}")).status == 204
        assert (await admin.call("GET", f"/api/recordings/{recording}")).status == 404
        assert recording_dirs(server) == []
    finally:
        for client in (took_part, absent, other_host, admin, host):
            await client.close()
