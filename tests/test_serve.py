"""``conference serve``: first start, TLS, health, metrics and SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import aiohttp

from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.server import free_port, server_env, start_server


def test_first_start_creates_demo_room_with_three_links(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "conference", "serve", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=server_env(),
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        while not any(line.startswith("Serving on") for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        links = [line for line in lines if f"http://127.0.0.1:{port}/join/" in line]
        assert len(links) == 3
        url = re.search(r"(http://\S+)", links[1]).group(1)  # type: ignore[union-attr]
        page = urllib.request.urlopen(url, timeout=5)
        assert page.status == 200
        assert "UBND huyện Định Hóa" in page.read().decode()
        assert (data / "conference.sqlite3").exists()
        # Links made later by `conference token` point at where the server listens.
        room = url.split("/join/")[1].split("?")[0]
        issued = subprocess.run(
            [
                sys.executable,
                "-m",
                "conference",
                "token",
                room,
                "--name",
                "Xã",
                "--data-dir",
                str(data),
            ],
            capture_output=True,
            text=True,
            env=server_env(),
            check=True,
        )
        assert issued.stdout.splitlines()[1].startswith(
            f"http://127.0.0.1:{port}/join/{room}?token="
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def test_self_signed_tls_is_made_once_and_reused(tmp_path):
    data = tmp_path / "data"
    server = start_server(data, "--self-signed")
    try:
        context = ssl._create_unverified_context()
        with urllib.request.urlopen(f"{server.base_url}/healthz", context=context, timeout=5) as r:
            assert r.status == 200
        first = (data / "tls" / "self-signed.crt").read_bytes()
    finally:
        server.stop()
    server = start_server(data, "--self-signed")
    server.stop()
    assert (data / "tls" / "self-signed.crt").read_bytes() == first


async def test_metrics_count_forwarding(server, room):
    clips = encode_vp8(frames=30), encode_opus(1.0)
    a = SignalingClient(
        server.base_url,
        room,
        server.token(room, "A"),
        publish={"video": PacketTrack(clips[0]), "audio": PacketTrack(clips[1])},
    )
    b = SignalingClient(server.base_url, room, server.token(room, "B"), publish={})
    try:
        await a.connect()
        await b.connect()
        await b.wait_for(lambda m: m["type"] == "offer")
        for _ in range(100):
            if len(b.captures["main"].frames) >= 20:
                break
            await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/metrics") as r:
            text = await r.text()
        values = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        assert values['conference_peers{client="browser"}'] == 2
        assert values["conference_tracks"] == 2
        assert values["conference_rtp_packets_forwarded_total"] >= 40
        assert values["conference_video_frames_forwarded_total"] >= 20
        assert values["conference_keyframe_requests_sent_total"] >= 1
        assert values["conference_rtp_bytes_forwarded_total"] > 10_000
    finally:
        await a.close()
        await b.close()


async def test_sigterm_closes_peers_and_exits(server, room):
    clips = encode_vp8(frames=30), encode_opus(1.0)
    site = SignalingClient(
        server.base_url,
        room,
        server.token(room, "A"),
        publish={"video": PacketTrack(clips[0]), "audio": PacketTrack(clips[1])},
    )
    try:
        await site.connect()
        await site.wait_for(lambda m: m["type"] == "offer")
        for _ in range(100):
            if site.pc is not None and site.pc.connectionState == "connected":
                break
            await asyncio.sleep(0.1)
        assert site.pc is not None and site.pc.connectionState == "connected"
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        bye = await site.wait_for(lambda m: m["type"] == "bye", timeout=10)
        assert bye["reason"] == "shutdown"
        code = await asyncio.get_running_loop().run_in_executor(None, server.process.wait, 30)
        elapsed = time.monotonic() - started
        assert code == 0, server.log()
        # Not a timing assertion on the machine's speed: the server's own budget
        # is 4 s and a hang would take far longer than 30 s.
        print(f"exited {elapsed:.2f}s after SIGTERM")
    finally:
        await site.close()
