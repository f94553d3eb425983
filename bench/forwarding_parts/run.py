"""One run (a server, a publisher, N subscribers, a window), its retries and its repeats."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from forwarding_parts.analysis import analyse, late_join_ms
from forwarding_parts.burner import Burner
from forwarding_parts.clip import Clip
from forwarding_parts.cpu import CONTENDED_PERCENT, take_sample, wait_for_quiet
from forwarding_parts.paths import ROOT
from forwarding_parts.profiling import finish_py_spy, start_py_spy
from forwarding_parts.progress import log
from forwarding_parts.run_config import RunConfig
from forwarding_parts.server_under_test import ServerUnderTest
from forwarding_parts.worker_process import Worker


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
    """Start a server and the workers, measure one window, stop them all; the run's result."""
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
    burner = Burner()
    if config.media_port is None:
        os.environ.pop("CONFERENCE_MEDIA_PORT", None)
    else:
        os.environ["CONFERENCE_MEDIA_PORT"] = config.media_port
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
            spy, spy_file = start_py_spy(server.pid, config.seconds, work_dir, config.py_spy_rate)
        if config.burner:
            burner.start()
        first = take_sample(server, workers)
        log(f"measuring {config.seconds:.0f} s" + (" beside a CPU burner" if config.burner else ""))
        time.sleep(config.seconds)
        last = take_sample(server, workers)
        burner.kill()
        if spy is not None:
            profile = finish_py_spy(spy, spy_file)

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
        log(f"late joiners: {[late_join_ms(x) for x in late]} ms to first frame")
        pub_report = publisher.call("report", timeout=60)
        sub_reports: dict[str, Any] = {}
        for worker in subscribers:
            sub_reports.update(worker.call("report", timeout=60))
    finally:
        burner.kill()
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
    result = analyse(label, n, clip, config, first, last, pub_report, sub_reports, late, names)
    result["media_socket"] = media_socket(config, first.metrics, last.metrics)
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


def media_socket(
    config: RunConfig, first: dict[str, float], last: dict[str, float]
) -> dict[str, Any]:
    """The server's media socket during the window: shared or not, datagrams per wake-up."""
    deltas = {
        name: last.get(f"conference_media_{name}_total", 0.0)
        - first.get(f"conference_media_{name}_total", 0.0)
        for name in ("wakeups", "datagrams", "datagrams_dropped", "send_batches", "send_errors")
    }
    return {
        "media_port_setting": config.media_port,
        "burner": config.burner,
        "datagrams_per_wakeup": (
            round(deltas["datagrams"] / deltas["wakeups"], 2) if deltas["wakeups"] else None
        ),
        **{name: int(value) for name, value in deltas.items()},
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
