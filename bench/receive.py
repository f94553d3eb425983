"""Receive benchmark: what one publisher's packet costs the server, with nobody watching.

Run by hand (it is not a test)::

    .venv/bin/python bench/receive.py [--seconds 15] [--modes private shared] [--repeat 1]
        [--publishers 1 4]

For each media socket mode it starts a fresh ``conference serve`` (``private``:
aioice's socket per connection, ``CONFERENCE_MEDIA_PORT`` unset; ``shared``:
one socket for every peer, ``CONFERENCE_MEDIA_PORT=0``), measures the server's
CPU with nobody connected, then with one WHIP publisher (the forwarding
benchmark's pre-encoded VP8 640x360 30 fps ~770 kbit/s clip plus Opus; or
``--publishers K``, one process each) and zero subscribers. Each of the two is measured twice: on the machine as it is
("idle") and with a CPU burner beside it (a busy loop per core minus one:
"loaded"), because a busy machine lets datagrams queue and one wake-up of the
server's loop then serves several.

receive µs per packet = (server CPU with the publisher - server CPU with
nobody) / RTP packets received (``conference_rtp_packets_received_total``),
over windows of the same length and the same load. With the shared socket
the JSON also gives the server's datagrams per wake-up of its socket
(``conference_media_datagrams_total`` / ``conference_media_wakeups_total``).

Progress goes to stderr; one JSON document goes to stdout (and a copy to
``bench/results/``). Method and results: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support and the server's packages

from forwarding_parts.burner import Burner  # noqa: E402
from forwarding_parts.children import kill_children  # noqa: E402
from forwarding_parts.clip import load_clip  # noqa: E402
from forwarding_parts.cpu import (  # noqa: E402
    machine_busy,
    process_cpu_seconds,
    process_cpu_times,
    process_runtime_seconds,
    wait_for_quiet,
)
from forwarding_parts.machine import machine_info  # noqa: E402
from forwarding_parts.paths import RESULTS  # noqa: E402
from forwarding_parts.progress import log  # noqa: E402
from forwarding_parts.run import code_version  # noqa: E402
from forwarding_parts.server_under_test import ServerUnderTest  # noqa: E402
from forwarding_parts.worker_process import Worker  # noqa: E402

RECEIVED = "conference_rtp_packets_received_total"
WAKEUPS = "conference_media_wakeups_total"
DATAGRAMS = "conference_media_datagrams_total"
MODES = {"private": None, "shared": "0"}  # CONFERENCE_MEDIA_PORT per mode


def window(server: ServerUnderTest, seconds: float) -> dict[str, Any]:
    """Server CPU and counters over one window of ``seconds``."""
    pid = server.pid
    m0, b0, t0 = server.metrics(), machine_busy(), time.time()
    c0, r0, u0 = process_cpu_seconds(pid), process_runtime_seconds(pid), process_cpu_times(pid)[0]
    time.sleep(seconds)
    c1, r1, u1 = process_cpu_seconds(pid), process_runtime_seconds(pid), process_cpu_times(pid)[0]
    m1, b1, t1 = server.metrics(), machine_busy(), time.time()
    elapsed = t1 - t0
    cores = os.cpu_count() or 1
    return {
        "seconds": round(elapsed, 2),
        "server_cpu_s": round(c1 - c0, 3),
        "server_runtime_s": round(r1 - r0, 4),
        "server_system_share": round(1 - (u1 - u0) / (c1 - c0), 2) if c1 > c0 else None,
        "server_cpu_percent": round((c1 - c0) / elapsed * 100, 1),
        "machine_busy_percent_of_core": round(
            (b1[0] - b0[0]) / max(1, b1[1] - b0[1]) * 100 * cores, 1
        ),
        "packets_received": int(m1.get(RECEIVED, 0) - m0.get(RECEIVED, 0)),
        "wakeups": int(m1.get(WAKEUPS, 0) - m0.get(WAKEUPS, 0)),
        "datagrams": int(m1.get(DATAGRAMS, 0) - m0.get(DATAGRAMS, 0)),
    }


def per_packet(
    active: dict[str, Any], idle: dict[str, Any], key: str = "server_runtime_s"
) -> float | None:
    """µs of server CPU per received packet, above the same load with nobody connected."""
    packets = active["packets_received"]
    if not packets:
        return None
    rate_active = active[key] / active["seconds"]
    rate_idle = idle[key] / idle["seconds"]
    return round((rate_active - rate_idle) * active["seconds"] / packets * 1e6, 1)


def run_mode(
    mode: str, seconds: float, clip_file: Path, context: Any, publishers: int = 1
) -> dict[str, Any]:
    """One server in ``mode``: idle and loaded, without and with the publishers."""
    port = MODES[mode]
    if port is None:
        os.environ.pop("CONFERENCE_MEDIA_PORT", None)
    else:
        os.environ["CONFERENCE_MEDIA_PORT"] = port
    work_dir = Path(tempfile.mkdtemp(prefix=f"bench-receive-{mode}-"))
    workers = [Worker("publisher", clip_file, context) for _ in range(publishers)]
    burner = Burner()
    server = None
    try:
        server = ServerUnderTest("sfu", work_dir)
        for worker in workers:
            worker.wait_ready()
        time.sleep(2.0)
        log(f"{mode}: nobody connected, idle machine, {seconds:.0f} s")
        empty_idle = window(server, seconds)
        burner.start()
        log(f"{mode}: nobody connected, loaded machine")
        empty_loaded = window(server, seconds)
        burner.kill()
        for index, worker in enumerate(workers):
            info = worker.call(
                "publish", server.base_url, server.room, server.token(f"Publisher {index}", True)
            )
            log(f"{mode}: publisher {index} connected in {info['connect_ms']:.0f} ms")
        time.sleep(3.0)
        log(f"{mode}: {publishers} publisher(s), idle machine")
        active_idle = window(server, seconds)
        burner.start()
        log(f"{mode}: {publishers} publisher(s), loaded machine")
        active_loaded = window(server, seconds)
        burner.kill()
    finally:
        burner.kill()
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
    result: dict[str, Any] = {"mode": mode, "media_port_setting": port, "publishers": publishers}
    for label, active, empty in (
        ("idle", active_idle, empty_idle),
        ("loaded", active_loaded, empty_loaded),
    ):
        result[label] = {
            "receive_us_per_packet": per_packet(active, empty),
            "receive_us_per_packet_tick_sampled": per_packet(active, empty, "server_cpu_s"),
            "server_cpu_us_per_packet_whole": round(
                active["server_runtime_s"] / max(1, active["packets_received"]) * 1e6, 1
            ),
            "packets_per_second": round(active["packets_received"] / active["seconds"], 1),
            "datagrams_per_wakeup": (
                round(active["datagrams"] / active["wakeups"], 2) if active["wakeups"] else None
            ),
            "with_publisher": active,
            "nobody_connected": empty,
        }
        log(
            f"{mode} {label}: {result[label]['receive_us_per_packet']} us per received packet "
            f"({result[label]['receive_us_per_packet_tick_sampled']} tick-sampled), "
            f"{result[label]['datagrams_per_wakeup']} datagrams per wake-up"
        )
    result["server_log"] = server.log_problems() if server is not None else {}
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every mode (``--repeat`` times); print the JSON document and keep a copy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each window")
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["private", "shared"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode, alternating")
    parser.add_argument(
        "--publishers", type=int, nargs="+", default=[1], help="WHIP publishers (one process each)"
    )
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    code = code_version()
    runs: list[dict[str, Any]] = []
    try:
        _, clip_file = load_clip(40.0)
        for _ in range(args.repeat):
            for publishers in args.publishers:
                for mode in args.modes:
                    background = wait_for_quiet(args.quiet_wait)
                    result = run_mode(mode, args.seconds, clip_file, context, publishers)
                    result["background_cpu_percent_before"] = background
                    runs.append(result)
    finally:
        kill_children()
    document = {
        "machine": machine_info(),
        "code": code,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "duration_seconds": round(time.monotonic() - started, 1),
        "method": {
            "receive_us_per_packet": "(server CPU with the WHIP publishers - server CPU with "
            "nobody connected, same load, same window length) / RTP packets received",
            "loaded": "a busy loop per core but one beside the server",
            "cpu": "the server process's CPU clock (clock_gettime on its process CPU clock: "
            "the scheduler's exact runtime); *_tick_sampled: utime+stime from "
            "/proc/<pid>/stat, sampled at the 250 Hz tick on this kernel",
        },
        "runs": runs,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    output = args.output or RESULTS / f"receive-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; JSON also in {output}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
