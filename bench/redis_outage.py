"""Redis out for a few seconds: how long after it is back until heartbeat, bus and leases are live.

Usage::

    .venv/bin/python bench/redis_outage.py [--outage 5] [--repeat 5]

A redis-server of its own (append-only, so a restart keeps the data) and,
in this process, a node's real parts: a :class:`ClusterNode` running its
heartbeat (every 2 s) and lease renewal (every 5 s) loops with one home
lease, and a :class:`RedisBus` subscription made before the outage, to
which another client publishes every 20 ms. Each repetition freezes Redis
(SIGSTOP) or kills it and starts it again on the same port, for
``--outage`` seconds, then measures from the moment Redis answers PING:

``heartbeat_s``
    until the node's record carries a heartbeat written after that moment;
``bus_s``
    until a message published after that moment arrives on the old subscription;
``lease_renewed_s``
    until the node's lease renewal pass succeeds again;
``lease_held``
    whether the lease key still named the node when Redis came back (a
    restart keeps it; an outage longer than the 15 s lease loses it until
    the renewal claims it again).

Prints one JSON document: per outage kind, each repetition and the median
and worst. The baseline is what the loops' own intervals allow: a heartbeat
within 2 s, a renewal within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conference.bus.redis import RedisBus
from conference.cluster.load import Counts
from conference.cluster.node import ClusterNode
from conference.cluster.registry import open_redis
from conference.tasks import pause
from tests.support.own_redis import OwnRedis

KEY = b"k" * 32
PREFIX = "bench:"
NODE = "node-a"
ROOM = "room-1"


async def _ping(url: str) -> None:
    """Return once Redis answers PING."""
    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while True:
            try:
                await client.ping()
                return
            except Exception:
                await asyncio.sleep(0.01)
    finally:
        await client.aclose(close_connection_pool=True)


async def _heartbeat_at(client: Redis) -> float | None:
    raw = await client.get(f"{PREFIX}node:{NODE}")
    if raw is None:
        return None
    return float(json.loads(json.loads(raw)["body"])["heartbeat_at"])


async def _one(server: OwnRedis, kind: str, outage: float) -> dict[str, Any]:
    url = server.url
    node = ClusterNode(
        open_redis(url),
        PREFIX,
        KEY,
        NODE,
        "http://127.0.0.1:8080",
        lambda: Counts(sites=0, packets_total=0, rooms=1),
        lambda: {ROOM},
    )
    renewed: list[float] = []
    renew = node.renew_leases

    async def timed_renew() -> None:
        await renew()
        renewed.append(time.time())

    node.renew_leases = timed_renew  # type: ignore[method-assign]
    assert await node.placement.home_elsewhere(ROOM) is None  # holds the lease
    loops = [asyncio.ensure_future(loop()) for loop in node.periodic().values()]
    bus = RedisBus(url, prefix=PREFIX)
    subscription = bus.subscribe("bench")
    await subscription.ready()
    received: list[float] = []  # send times of the messages received

    async def read() -> None:
        async for message in subscription:
            received.append(float(message["sent"]))

    reader = asyncio.ensure_future(read())
    publisher = RedisBus(url, prefix=PREFIX)

    async def publish() -> None:
        while True:
            try:
                await publisher.publish("bench", {"sent": time.time()})
            except Exception:
                pass  # Redis out: the message is lost, as the bus says
            await pause(0.02)  # not asyncio.sleep: see conference.tasks.pause

    publishing = asyncio.ensure_future(publish())
    probe = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        await asyncio.sleep(2.5)  # a heartbeat and messages before the outage
        await asyncio.to_thread(server.go_out, kind)
        await asyncio.sleep(outage)
        await asyncio.to_thread(server.come_back, kind)
        await _ping(url)
        back = time.time()
        lease_held = None
        deadline = back + 30
        heartbeat_s = bus_s = renewed_s = None
        while time.time() < deadline and None in (heartbeat_s, bus_s, renewed_s):
            try:
                if lease_held is None:
                    holder = await probe.get(f"{PREFIX}home:{ROOM}")
                    lease_held = holder == NODE.encode()
                beat = await _heartbeat_at(probe)
            except Exception:
                beat = None
            if heartbeat_s is None and beat is not None and beat > back:
                heartbeat_s = beat - back
            if bus_s is None:
                after = [sent for sent in received if sent > back]
                if after:
                    bus_s = after[0] - back  # sent after the return, and it arrived
            if renewed_s is None:
                after_renewal = [at for at in renewed if at > back]
                if after_renewal:
                    renewed_s = after_renewal[0] - back
            await asyncio.sleep(0.01)
        return {
            "heartbeat_s": None if heartbeat_s is None else round(heartbeat_s, 2),
            "bus_s": None if bus_s is None else round(bus_s, 2),
            "lease_renewed_s": None if renewed_s is None else round(renewed_s, 2),
            "lease_held": lease_held,
            "bus_lagged": subscription.lagged,
        }
    finally:
        for task in (*loops, reader, publishing):
            task.cancel()
        await asyncio.gather(*loops, reader, publishing, return_exceptions=True)
        await bus.close()
        await publisher.close()
        await probe.aclose(close_connection_pool=True)
        await node.shutdown()
        await node.close()


def _summary(runs: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    values = [run[key] for run in runs if run[key] is not None]
    if not values:
        return {"median": None, "worst": None}
    return {"median": round(statistics.median(values), 2), "worst": max(values)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage", type=float, default=5.0, help="seconds Redis stays out")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, Any] = {"outage_s": args.outage}
    with tempfile.TemporaryDirectory() as folder:
        server = OwnRedis(Path(folder))
        server.start()
        try:
            for kind in ("freeze", "restart"):
                runs = [await _one(server, kind, args.outage) for _ in range(args.repeat)]
                out[kind] = {
                    "runs": runs,
                    **{
                        key: _summary(runs, key)
                        for key in ("heartbeat_s", "bus_s", "lease_renewed_s")
                    },
                }
        finally:
            server.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
