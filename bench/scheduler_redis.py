"""What scheduled meetings cost a cluster: Redis commands and rooms per node, with N due meetings.

Usage::

    .venv/bin/python bench/scheduler_redis.py [--meetings 20] [--nodes 2] [--window 30]
        [--code DIR]

A redis-server of the run's own (so that nobody else's commands are counted)
and ``--nodes`` real ``conference serve`` processes on it, run from ``--code``
(a checkout: the repository by default; another worktree measures another
version, e.g. the one before a change, in the same run conditions). The
benchmark writes ``--meetings`` meetings starting now (each of its own host
site, none invited) straight into the store, waits until their rooms are
open and stay so (the gauge of every node unchanged for 10 s), resets Redis's
command statistics, waits ``--window`` seconds and reads them back
(``INFO commandstats``). Reported: the rooms each node holds open, each
node's resident memory, and the Redis commands per 2 s (one scheduler pass)
per node, in all and by command. Every command the nodes send is counted
(heartbeats, lease renewals, the scheduler's reads and saves); nothing else
talks to this Redis. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from conference.schedule import SCHEDULER_SECONDS
from conference.store import Meeting, Unit
from conference.store.redis import RedisStore
from tests.support.own_redis import OwnRedis
from tests.support.server import TEST_SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "conference:"


def _metric(base_url: str, name: str) -> float:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def _start_node(code: Path, folder: Path, node_id: str, redis_url: str) -> tuple[Any, str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        CONFERENCE_SECRET=TEST_SECRET,
        CONFERENCE_REDIS_URL=redis_url,
        PYTHONPATH=str(code),
        PYTHONUNBUFFERED="1",
        CONFERENCE_WORKERS="1",  # one process per node, as the nodes compared
    )
    data = folder / node_id
    data.mkdir()
    log = open(data / "server.log", "ab")
    # Run from the checkout itself: `python -m` puts the working directory first.
    process = subprocess.Popen(
        [sys.executable, "-m", "conference", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--data-dir", str(data), "--node-id", node_id],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=code,
    )  # fmt: skip
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{node_id} exited: {(data / 'server.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1).read()
            return process, base_url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{node_id} did not answer")


async def _meetings(redis_url: str, count: int) -> None:
    """``count`` meetings starting now, each of a host site of its own (no overlap)."""
    store = RedisStore(redis_url, prefix=PREFIX)
    try:
        units = [Unit(code="99", name="Tỉnh thử", type="province", parent=None, depth=0)]
        units += [
            Unit(code=f"99{i:03d}", name=f"Xã thử {i}", type="commune", parent="99", depth=1)
            for i in range(count)
        ]
        await store.upsert_units(units)
        now = time.time()
        for i in range(count):
            meeting_id = f"bench-meeting-{i:03d}"
            await store.create_room(f"Họp {i}", "vp8", room_id=meeting_id)
            meeting = Meeting(
                id=meeting_id, title=f"Họp {i}", agenda="", start=now, end=now + 3600,
                host_site=f"99{i:03d}", created_by="bench", room_id=meeting_id, created_at=now,
            )  # fmt: skip
            await store.create_meeting(meeting, [])
    finally:
        await store.close()


def _commandstats(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


def run(code: Path, meetings: int, nodes: int, window: float) -> dict[str, Any]:
    """One measurement (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "redis").mkdir()
        own = OwnRedis(folder / "redis")
        own.start()
        client = redis.Redis.from_url(own.url)
        started: list[tuple[Any, str]] = []
        try:
            for i in range(nodes):
                started.append(_start_node(code, folder, f"node-{i}", own.url))
            asyncio.run(_meetings(own.url, meetings))
            # Until every room is open and the counts hold still for 10 s.
            steady_since, last = time.monotonic(), None
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                rooms = [_metric(url, "conference_rooms") for _, url in started]
                if rooms != last or sum(rooms) < meetings:
                    steady_since, last = time.monotonic(), rooms
                elif time.monotonic() - steady_since >= 10:
                    break
                time.sleep(1)
            client.config_resetstat()
            began = time.monotonic()
            time.sleep(window)
            stats = _commandstats(client)
            elapsed = time.monotonic() - began
            passes = elapsed / SCHEDULER_SECONDS
            per_pass_node = {
                name: round(calls / passes / nodes, 2)
                for name, calls in sorted(stats.items(), key=lambda kv: -kv[1])
                if not name.startswith(("config", "info"))
            }
            return {
                "code": str(code),
                "meetings": meetings,
                "nodes": nodes,
                "window_s": round(elapsed, 1),
                "rooms_open_per_node": [int(r) for r in last or []],
                "rss_mb_per_node": [
                    round(_metric(url, "process_resident_memory_bytes") / 2**20, 1)
                    for _, url in started
                ],
                "redis_commands_per_pass_per_node": round(sum(per_pass_node.values()), 2),
                "by_command": per_pass_node,
            }
        finally:
            for process, _ in started:
                process.terminate()
            for process, _ in started:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
            client.close()
            own.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout the nodes run")
    args = parser.parse_args()
    result = run(args.code.resolve(), args.meetings, args.nodes, args.window)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
