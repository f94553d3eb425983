"""Nodes on one Redis: what placement costs a join, and how long a dead home keeps a meeting.

Usage::

    .venv/bin/python bench/nodes.py [--redis URL] [--calls N] [--failovers N]

Prints one JSON document with two parts:

``placement``
    In this process, against the real Redis server: microseconds per
    :meth:`Placement.home_elsewhere` (what every join page, socket join, WHIP
    and WHEP POST pays with Redis) when the meeting's home is this node (one
    Lua call) and when it is another live node (the Lua call and a record
    read and verified), p50 and p95 over ``--calls``; and the cost of sealing
    and verifying one node record.
``failover``
    Two real ``conference serve`` nodes: a site joins at the first (its
    home), the first is killed with -9, and the second's join page is asked
    every 0.2 s until it serves the meeting itself. Seconds from the kill,
    per repetition: bounded by the record TTL (10 s) plus a heartbeat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conference.cluster.leases import HomeLeases
from conference.cluster.placement import Placement
from conference.cluster.records import NodeLoad, seal, unseal
from conference.cluster.registry import NodeRegistry, open_redis
from tests.support.node_records import record
from tests.support.peers import SignalingClient
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import start_server

KEY = b"k" * 32


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p95_us": round(ordered[int(len(ordered) * 0.95) - 1] * 1e6, 1),
    }


# A busy node's load, as a registry of a real meeting carries.
BUSY = NodeLoad(cpu_percent=12.5, sites=40, packets_per_s=12000.0, rooms=2)


async def placement(url: str, calls: int) -> dict[str, object]:
    """Placement latency against Redis, and the sealing cost of one record."""
    prefix = unique_prefix()
    redis = open_redis(url)
    try:
        registry = NodeRegistry(redis, prefix, KEY)
        await registry.publish(record("node-a", "http://10.0.0.1:8080", BUSY))
        await registry.publish(record("node-b", "http://10.0.0.2:8080", BUSY))
        a = Placement("node-a", registry, HomeLeases(redis, prefix, "node-a"))
        b = Placement("node-b", registry, HomeLeases(redis, prefix, "node-b"))
        assert await a.home_elsewhere("room") is None
        here, elsewhere = [], []
        for _ in range(calls):
            start = time.perf_counter()
            await a.home_elsewhere("room")
            here.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert await b.home_elsewhere("room") == "http://10.0.0.1:8080"
            elsewhere.append(time.perf_counter() - start)
    finally:
        await redis.aclose(close_connection_pool=True)
        await delete_prefixed(url, prefix)
    sample = record("node-a", "http://10.0.0.1:8080", BUSY)
    rounds = 5000
    start = time.perf_counter()
    for _ in range(rounds):
        unseal(seal(sample, KEY), KEY, "node-a")
    seal_us = (time.perf_counter() - start) / rounds * 1e6
    return {
        "calls": calls,
        "home_here": _percentiles(here),
        "home_elsewhere": _percentiles(elsewhere),
        "seal_and_verify_one_record_us": round(seal_us, 1),
        "record_bytes": len(seal(sample, KEY)),
    }


async def _join_page_served(base_url: str, room: str, token: str) -> bool:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base_url}/join/{room}?token={token}", allow_redirects=False) as response,
    ):
        return response.status == 200


async def failover(url: str, repetitions: int) -> dict[str, object]:
    """Seconds from kill -9 of a meeting's home until another node serves it."""
    times: list[float] = []
    for _ in range(repetitions):
        prefix = unique_prefix()
        env = {"CONFERENCE_REDIS_URL": url, "CONFERENCE_REDIS_PREFIX": prefix}
        with tempfile.TemporaryDirectory() as folder:
            a = start_server(Path(folder) / "a", "--node-id", "node-a", env=env)
            b = start_server(Path(folder) / "b", "--node-id", "node-b", env=env)
            try:
                room = a.cli("room", "create", "Họp").stdout.strip()
                site = SignalingClient(a.base_url, room, a.token(room, "Tỉnh"), publish={})
                await site.connect()
                await site.wait_for(lambda m: m["type"] == "welcome")
                token = a.token(room, "Huyện")
                assert not await _join_page_served(b.base_url, room, token)  # sent to a
                killed = time.monotonic()
                a.stop(signal.SIGKILL)
                while not await _join_page_served(b.base_url, room, token):
                    if time.monotonic() - killed > 60:
                        raise RuntimeError("no failover within 60 s")
                    await asyncio.sleep(0.2)
                times.append(round(time.monotonic() - killed, 2))
                await site.close()
            finally:
                a.stop()
                b.stop()
                await delete_prefixed(url, prefix)
    return {
        "repetitions": repetitions,
        "seconds": times,
        "max_s": max(times) if times else None,
        "mean_s": round(statistics.mean(times), 2) if times else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    result = {
        "placement": await placement(args.redis, args.calls),
        "failover": await failover(args.redis, args.failovers),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
