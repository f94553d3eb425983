"""Recording cost on the server: CPU per recorded track, against forwarding.

One server, one meeting, K WHIP publishers (pre-encoded VP8 640x360 at
30 fps ~800 kbps plus Opus) and one WHEP viewer per publisher's main slot.
The same run measures, over equal windows:

* baseline: the server forwarding, not recording;
* recording: the same, with every track recorded.

The difference is what recording costs: reported per recorded track (ms of
CPU per second), per recorded RTP packet (µs) and as a fraction of the cost
of forwarding one packet to one subscriber measured in the same run.
Composite render speed is ``bench/recording_render.py``'s part; with
``--render`` this script runs it and includes its JSON.

    .venv/bin/python bench/recording.py [--publishers 4] [--seconds 20] [--render]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.api_client import ApiClient, meeting_body  # noqa: E402
from tests.support.media import PacketTrack, encode_opus, encode_vp8  # noqa: E402
from tests.support.peers import client_pc, whip_publish  # noqa: E402
from tests.support.server import start_server  # noqa: E402

PASSWORD = "mat-khau-bench-ghi-hinh"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(base_url: str) -> dict[str, float]:
    text = urllib.request.urlopen(base_url + "/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def whep_view(base_url: str, room: str, token: str) -> Any:
    """A WHEP viewer with a main video slot and three audio slots."""
    import aiohttp
    from aiortc import RTCSessionDescription

    pc = client_pc()
    pc.addTransceiver("video", direction="recvonly")
    for _ in range(3):
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/whep/{room}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        answer = await response.text()
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc


async def window(server: Any, seconds: float) -> dict[str, float]:
    pid = server.process.pid
    before_cpu, before = cpu_seconds(pid), metrics(server.base_url)
    await asyncio.sleep(seconds)
    after_cpu, after = cpu_seconds(pid), metrics(server.base_url)
    return {
        "cpu": after_cpu - before_cpu,
        "packets_in": after["conference_rtp_packets_received_total"]
        - before["conference_rtp_packets_received_total"],
        "packets_out": after["conference_rtp_packets_forwarded_total"]
        - before["conference_rtp_packets_forwarded_total"],
        "seconds": seconds,
    }


async def run(publishers: int, seconds: float) -> dict[str, Any]:
    log("encoding the clip")
    video = encode_vp8(
        frames=int(30 * (2 * seconds + 20)), width=640, height=360, bitrate=800_000, gop=300
    )
    audio = encode_opus(2 * seconds + 20)
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        server = start_server(Path(tmp) / "data", env={"CONFERENCE_LOG_LEVEL": "WARNING"})
        peers = []
        try:
            server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
            host = ApiClient(server.base_url)
            await host.login("host.dinhhoa", PASSWORD)
            communes = [
                u["code"] for u in (await host.call("GET", "/api/units?parent=167")).body["units"]
            ]
            created = await host.call(
                "POST",
                "/api/meetings",
                meeting_body("167", ["167", *communes], start_in=0, minutes=60),
            )
            meeting = created.body["meeting"]["id"]
            links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
            tokens = [link["url"].split("token=")[1] for link in links]
            for index in range(publishers):
                pc, response, body = await whip_publish(
                    server.base_url,
                    meeting,
                    tokens[1 + index],
                    [PacketTrack(video), PacketTrack(audio)],
                )
                assert response.status == 201, body
                peers.append(pc)
            # Viewers, so the baseline forwards as a live meeting does.
            for index in range(publishers):
                peers.append(
                    await whep_view(server.base_url, meeting, tokens[1 + publishers + index])
                )
            await asyncio.sleep(4)
            log(f"baseline: {publishers} publishers, not recording, {seconds:.0f} s")
            baseline = await window(server, seconds)
            started = await host.call(
                "POST", f"/api/meetings/{meeting}/recording", {"action": "start"}
            )
            assert started.status == 200, started.body
            await asyncio.sleep(3)
            log(f"recording {2 * publishers} tracks, {seconds:.0f} s")
            recording = await window(server, seconds)
            await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
            await host.close()
            recordings = list((Path(tmp) / "data" / "recordings").iterdir())
            size = sum(f.stat().st_size for f in recordings[0].iterdir()) if recordings else 0
        finally:
            for pc in peers:
                await pc.close()
            server.stop()
    tracks = 2 * publishers
    extra_cpu_per_s = (recording["cpu"] - baseline["cpu"]) / seconds
    packets_per_s = recording["packets_in"] / seconds
    return {
        "publishers": publishers,
        "tracks_recorded": tracks,
        "window_seconds": seconds,
        "baseline_cpu_percent": round(100 * baseline["cpu"] / seconds, 2),
        "recording_cpu_percent": round(100 * recording["cpu"] / seconds, 2),
        "recording_cpu_ms_per_second_per_track": round(1000 * extra_cpu_per_s / tracks, 2),
        "recording_cpu_us_per_packet": round(1e6 * extra_cpu_per_s / packets_per_s, 1)
        if packets_per_s
        else None,
        "forwarding_cpu_us_per_forwarded_packet_baseline": round(
            1e6 * baseline["cpu"] / max(baseline["packets_out"], 1), 1
        ),
        "packets_forwarded_per_second": round(baseline["packets_out"] / seconds, 1),
        "packets_in_per_second": round(packets_per_s, 1),
        "bytes_written": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--render", action="store_true", help="also run bench/recording_render.py")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "server": asyncio.run(run(args.publishers, args.seconds)),
    }
    if args.render:
        log("composite render speed (bench/recording_render.py)")
        rendered = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "recording_render.py")],
            capture_output=True,
            text=True,
            check=True,
        )
        result["render"] = json.loads(rendered.stdout)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
