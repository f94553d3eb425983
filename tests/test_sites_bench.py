"""The site simulator end to end: 3 sites against its own server, the contract's JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_KEYS = {
    "sites",
    "server_cpu_ms_per_site_per_s",
    "server_cpu_us_per_received_packet",
    "server_cpu_us_per_forwarded_packet",
    "delivery_min",
    "added_latency_p95_ms",
    "downlink_kbps_p95",
    "uplink_unseen_kbps_max",
    "simulator_cpu_ms_per_site_per_s",
}


def test_three_sites_print_the_contract_json() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sites.py"), "--sites", "3", "--seconds", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert CONTRACT_KEYS <= report.keys(), CONTRACT_KEYS - report.keys()
    assert report["sites"] == 3
    assert report["sites_joined"] == 3, report["site_errors"]
    assert report["delivery_min"] > 0
    assert report["byte_identical_ratio"] == 1.0
    # The server's own fan-out delay, from its /metrics histogram of the window.
    assert report["server_fanout_p50_ms"] is not None
    assert 0 < report["server_fanout_p50_ms"] <= report["server_fanout_p95_ms"]


def test_a_site_behind_an_emulated_link_sends_browser_feedback() -> None:
    """One of four sites behind a thin lossy link: it NACKs, sends REMB, and its link drops."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sites.py"),
            "--sites",
            "4",
            "--seconds",
            "5",
            "--checking",
            "1",
            "--link",
            "commune=1mbit,150ms,2%,5ms",
            "--link-sites",
            "1",
            "--no-speaker-change",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert CONTRACT_KEYS <= report.keys()
    assert report["sites_joined"] == 4, report["site_errors"]
    assert report["link_sites"] == 1
    (linked,) = report["link_per_site"]
    # The link loses packets (2 % random loss, plus its queue overflowing whenever more
    # is sent than 1 Mbit/s carries; the layer policy may keep it from overflowing) ...
    assert linked["down"]["lost"] + linked["down"]["dropped_queue"] > 0
    assert linked["down_kbps"] < 1000
    # ... and the site answers as a browser: NACKs, REMB from aiortc's estimator.
    assert linked["nacks_sent"] > 0
    assert linked["remb_sent"] > 0 and linked["remb_last_kbps"] < 1000


def test_sites_spread_over_two_workers_end_in_one_room(redis_url: str) -> None:
    """``--serve-args "--workers 2 --redis URL"``: the sites that reached the worker that
    is not the meeting's home follow its redirect; one room, both workers' CPU counted."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sites.py"),
            "--sites",
            "6",
            "--seconds",
            "5",
            "--no-speaker-change",
            "--serve-args",
            f"--workers 2 --redis {redis_url}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert CONTRACT_KEYS <= report.keys()
    assert report["sites_joined"] == 6, report["site_errors"]
    assert report["server_nodes"] == 2
    assert report["rooms_seen"] == 1
    assert report["delivery_min"] > 0
