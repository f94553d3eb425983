"""Recording cost on the server: CPU per recorded track, and the forwarding loop's stalls.

One server, one meeting, K WHIP publishers (pre-encoded VP8 640x360 at
30 fps ~800 kbps plus Opus) and one WHEP viewer per publisher's main slot.
The same run measures, over equal windows, alternating ``--rounds`` times:

* baseline: the server forwarding, not recording;
* recording: the same, with every track recorded; the window opens just
  before the host starts the recording and closes once the stop returned,
  so opening and finishing the files and the manifests are inside it.

The difference is what recording costs: reported per recorded track (ms of
CPU per second), per recorded RTP packet (µs) and as a fraction of the cost
of forwarding one packet to one subscriber measured in the same run.

The server runs with ``bench/loop_probe/`` on its PYTHONPATH, whose
``sitecustomize`` times every callback of its event loop and the loop's lag
(how late it answers a 5 ms heartbeat from a thread). Per window the JSON
has the largest stall (the longest callback, with its name, and the largest
lag; for the longest callbacks also the CPU time they took, which tells
work on the loop from waiting) and how many callbacks and lags passed 1, 5
and 20 ms: recording must not raise the largest stall above the baseline's.

Composite render speed is ``bench/recording_render.py``'s part; with
``--render`` this script runs it and includes its JSON.

    .venv/bin/python bench/recording.py [--publishers 4] [--seconds 15] [--rounds 2] [--render]
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
PROBE_DIR = ROOT / "bench" / "loop_probe"


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


class LoopProbe:
    """Reads what ``bench/loop_probe/sitecustomize.py`` wrote in the server process."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = []
        for line in self.path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue  # the last line may be half written
        return lines

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Stalls between the wall times ``start`` and ``end`` (the probe wrote past ``end``)."""
        lines = self._lines()
        if not lines:
            return {"probe": "no data (is bench/loop_probe on the server's PYTHONPATH?)"}
        before = [line for line in lines if line["at"] <= start] or [lines[0]]
        upto = [line for line in lines if line["at"] <= end + 0.3] or [lines[-1]]
        first, last = before[-1], upto[-1]
        edges = last["edges"]
        slow = [e for line in lines for e in line["slow_callbacks"] if start <= e[0] <= end]
        lags = [e for line in lines for e in line["slow_lags"] if start <= e[0] <= end]

        def over(histogram: str, seconds: float) -> int:
            index = edges.index(seconds)  # bucket i counts values in [edges[i-1], edges[i])
            return sum(last[histogram][index + 1 :]) - sum(first[histogram][index + 1 :])

        longest = max(slow, key=lambda e: e[1]) if slow else None
        busiest = max(slow, key=lambda e: e[2]) if slow else None
        return {
            "callbacks": sum(last["callbacks"]) - sum(first["callbacks"]),
            "longest_callback_ms": round(1000 * longest[1], 2) if longest else "< 1",
            "longest_callback_cpu_ms": round(1000 * longest[2], 2) if longest else "< 1",
            "longest_callback": longest[3] if longest else None,
            "most_cpu_callback_ms": round(1000 * busiest[2], 2) if busiest else "< 1",
            "most_cpu_callback": busiest[3] if busiest else None,
            # [wall ms, CPU ms, seconds into the window, name]: the start request
            # comes at 0, the stop about 1.5 s before the window's end.
            "slowest_callbacks": [
                [round(1000 * e[1], 2), round(1000 * e[2], 2), round(e[0] - start, 2), e[3]]
                for e in sorted(slow, key=lambda e: -e[1])[:5]
            ],
            "most_cpu_callbacks": [
                [round(1000 * e[1], 2), round(1000 * e[2], 2), round(e[0] - start, 2), e[3]]
                for e in sorted(slow, key=lambda e: -e[2])[:5]
            ],
            "largest_lags": [
                [round(1000 * e[1], 2), round(e[0] - start, 2)]
                for e in sorted(lags, key=lambda e: -e[1])[:5]
            ],
            "callbacks_over_1ms": over("callbacks", 0.001),
            "callbacks_over_5ms": over("callbacks", 0.005),
            "callbacks_over_20ms": over("callbacks", 0.02),
            "heartbeats": sum(last["lags"]) - sum(first["lags"]),
            "largest_lag_ms": round(1000 * max(e[1] for e in lags), 2) if lags else "< 1",
            "lags_over_1ms": over("lags", 0.001),
            "lags_over_5ms": over("lags", 0.005),
            "lags_over_20ms": over("lags", 0.02),
        }


async def window(
    server: Any, probe: LoopProbe, seconds: float, during: Any = None
) -> dict[str, Any]:
    """Measure ``seconds`` of the server; ``during(seconds)`` runs inside the window if given."""
    pid = server.process.pid
    started_at = time.time()
    before_cpu, before = cpu_seconds(pid), metrics(server.base_url)
    started = time.monotonic()
    if during is not None:
        await during(seconds)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    elapsed = time.monotonic() - started
    after_cpu, after = cpu_seconds(pid), metrics(server.base_url)
    ended_at = time.time()
    await asyncio.sleep(0.6)  # the probe writes every 0.25 s
    return {
        "cpu": after_cpu - before_cpu,
        "packets_in": after["conference_rtp_packets_received_total"]
        - before["conference_rtp_packets_received_total"],
        "packets_out": after["conference_rtp_packets_forwarded_total"]
        - before["conference_rtp_packets_forwarded_total"],
        "seconds": elapsed,
        "loop": probe.window(started_at, ended_at),
    }


def largest(windows: list[dict[str, Any]], key: str) -> float:
    values = [w["loop"].get(key) for w in windows]
    return max((v for v in values if isinstance(v, (int, float))), default=0.0)


async def run(publishers: int, seconds: float, rounds: int) -> dict[str, Any]:
    log("encoding the clip")
    # 20 s looped (the track keeps its timestamps going); a keyframe every 2 s
    # because a pre-encoded clip cannot answer the recorder's keyframe request
    # and each recording's video file starts at a keyframe.
    media_seconds = 20
    video = encode_vp8(
        frames=int(30 * media_seconds), width=640, height=360, bitrate=800_000, gop=60
    )
    audio = encode_opus(media_seconds)
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        probe = LoopProbe(Path(tmp) / "loop-probe.jsonl")
        python_path = os.pathsep.join(
            p for p in (str(PROBE_DIR), os.environ.get("PYTHONPATH", "")) if p
        )
        server = start_server(
            Path(tmp) / "data",
            env={
                "CONFERENCE_LOG_LEVEL": "WARNING",
                "PYTHONPATH": python_path,
                "BENCH_LOOP_PROBE": str(probe.path),
            },
        )
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

            async def record(length: float) -> None:
                started = await host.call(
                    "POST", f"/api/meetings/{meeting}/recording", {"action": "start"}
                )
                assert started.status == 200, started.body
                await asyncio.sleep(length - 1.5)
                stopped = await host.call(
                    "POST", f"/api/meetings/{meeting}/recording", {"action": "stop"}
                )
                assert stopped.status == 200 and stopped.body["recording"], stopped.body

            baselines, recordings = [], []
            for index in range(rounds):
                log(f"round {index + 1}: baseline, {publishers} publishers, {seconds:.0f} s")
                baselines.append(await window(server, probe, seconds))
                log(f"round {index + 1}: recording {2 * publishers} tracks, {seconds:.0f} s")
                recordings.append(await window(server, probe, seconds, during=record))
            await host.close()
            directories = list((Path(tmp) / "data" / "recordings").iterdir())
            size = sum(
                f.stat().st_size for d in directories for f in d.iterdir() if f.suffix != ".json"
            )
        finally:
            for pc in peers:
                await pc.close()
            server.stop()
    tracks = 2 * publishers
    baseline = {k: sum(w[k] for w in baselines) for k in ("cpu", "packets_in", "packets_out")}
    recording = {k: sum(w[k] for w in recordings) for k in ("cpu", "packets_in", "packets_out")}
    seconds = sum(w["seconds"] for w in baselines)
    recorded_seconds = sum(w["seconds"] for w in recordings)  # a stop's wait may lengthen it
    extra_cpu_per_s = recording["cpu"] / recorded_seconds - baseline["cpu"] / seconds
    packets_per_s = recording["packets_in"] / recorded_seconds
    return {
        "publishers": publishers,
        "tracks_recorded": tracks,
        "window_seconds": round(seconds / rounds, 2),
        "rounds": rounds,
        "baseline_cpu_percent": round(100 * baseline["cpu"] / seconds, 2),
        "recording_cpu_percent": round(100 * recording["cpu"] / recorded_seconds, 2),
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
        "loop_largest_callback_ms": {
            "baseline": largest(baselines, "longest_callback_ms"),
            "recording": largest(recordings, "longest_callback_ms"),
        },
        "loop_largest_callback_cpu_ms": {
            "baseline": largest(baselines, "most_cpu_callback_ms"),
            "recording": largest(recordings, "most_cpu_callback_ms"),
        },
        "loop_largest_lag_ms": {
            "baseline": largest(baselines, "largest_lag_ms"),
            "recording": largest(recordings, "largest_lag_ms"),
        },
        "windows": [
            {"kind": kind, "round": index + 1, "seconds": round(w["seconds"], 2), **w["loop"]}
            for index, pair in enumerate(zip(baselines, recordings, strict=True))
            for kind, w in zip(("baseline", "recording"), pair, strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15, help="length of each window")
    parser.add_argument("--rounds", type=int, default=2, help="baseline + recording windows")
    parser.add_argument("--render", action="store_true", help="also run bench/recording_render.py")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "server": asyncio.run(run(args.publishers, args.seconds, args.rounds)),
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
