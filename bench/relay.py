"""What a relay link costs per packet, on each end, against plain UDP in the same run.

Run by hand (it is not a test)::

    .venv/bin/python bench/relay.py [--packets 50000] [--rate 10000] [--size 1200]

Two processes on loopback: this one is the origin, a forked child the far
instance. For each mode the origin pushes ``--packets`` packets of
``--size`` bytes of payload into a :class:`~conference.sfu.Source`, paced at
``--rate`` packets a second (bursts every millisecond), and the child counts
what arrives at a sink:

* ``relay``: the real thing: a :class:`~conference.relay.link.RelaySink` on
  the origin's source, AES-256-GCM, one UDP socket per end, and on the far
  end a :class:`~conference.relay.remote_source.RemoteSource` that rebuilds
  each :class:`~conference.sfu.MediaPacket` and pushes it to the sink.
* ``plain``: the baseline: a sink that ``sendto``s the bare payload, and a
  datagram protocol on the far end that counts datagrams (no framing, no
  crypto, no packet object).

CPU is ``time.process_time()`` of each process: on the origin over its push
loop, on the far end from the first packet to the last. It includes the
event loop's wake-ups, which the pacing makes the same in both modes.
Each mode runs ``--runs`` times, alternated, and each figure's median is
reported. Also reported: the relay's own Python per packet on each end without
sockets or event loop (``in_process``: the origin's push through the
RelaySink and seal; the far end's open, parse, MediaPacket and push), and
sealing and opening one datagram alone (``crypto``). The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conference.relay import handshake  # noqa: E402
from conference.relay.cipher import LinkCipher  # noqa: E402
from conference.relay.endpoint import RelayEndpoint  # noqa: E402
from conference.sfu import MediaPacket, SfuMetrics, Source  # noqa: E402

KEY = b"bench relay cluster key, 32 bytes"
SOURCE_ID = "bench-site:video"
IDLE_END = 2.0  # seconds without a packet after which the far end reports


class _Counting:
    """The far end's sink: counts, and notes the CPU at the first and last packet."""

    def __init__(self) -> None:
        self.count = 0
        self.first_cpu = 0.0
        self.last_cpu = 0.0
        self.first_wall = 0.0
        self.last_wall = 0.0

    def tick(self) -> None:
        now = time.process_time()
        if self.count == 0:
            self.first_cpu, self.first_wall = now, time.monotonic()
        self.count += 1
        self.last_cpu, self.last_wall = now, time.monotonic()

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.tick()

    def on_source_ended(self, source: Source) -> None:
        pass


class _CountingProtocol(asyncio.DatagramProtocol):
    def __init__(self, counter: _Counting) -> None:
        self.counter = counter

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.counter.tick()


class _PlainSink:
    """The baseline's origin sink: the payload, as is, in one datagram."""

    def __init__(self, transport: asyncio.DatagramTransport, address: Any) -> None:
        self.sendto = transport.sendto
        self.address = address

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.sendto(packet.payload, self.address)

    def on_source_ended(self, source: Source) -> None:
        pass


async def _far(conn: Connection, mode: str) -> None:
    address = conn.recv()
    counter = _Counting()
    if mode == "relay":
        endpoint = await RelayEndpoint.open(
            node_id="far", cluster_key=KEY, lookup={}.get, sfu_metrics=SfuMetrics()
        )
        link = await endpoint.connect(address)
        link.remote_source(SOURCE_ID, "video").add_sink(counter)
    else:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _CountingProtocol(counter), local_addr=("127.0.0.1", 0)
        )
        transport.sendto(b"hello", address)
    while counter.count == 0 or time.monotonic() - counter.last_wall < IDLE_END:
        await asyncio.sleep(0.05)
    conn.send(
        {
            "received": counter.count,
            "cpu": counter.last_cpu - counter.first_cpu,
            "wall": counter.last_wall - counter.first_wall,
        }
    )


def _far_process(conn: Connection, mode: str) -> None:
    asyncio.run(_far(conn, mode))


class _Learn(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.peer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.peer.done():
            self.peer.set_result(addr)


async def _origin(
    conn: Connection, mode: str, packets: int, rate: int, size: int
) -> dict[str, Any]:
    metrics = SfuMetrics()
    source = Source(source_id=SOURCE_ID, owner="bench-site", kind="video", metrics=metrics)
    source.codec = "VP8"
    endpoint: RelayEndpoint | None = None
    if mode == "relay":
        endpoint = await RelayEndpoint.open(
            node_id="origin", cluster_key=KEY, lookup={SOURCE_ID: source}.get, sfu_metrics=metrics
        )
        conn.send(endpoint.address)
        while not source.sinks:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the announcement is through before the first packet
    else:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _Learn, local_addr=("127.0.0.1", 0)
        )
        conn.send(transport.get_extra_info("sockname")[:2])
        source.add_sink(_PlainSink(cast(asyncio.DatagramTransport, transport), await protocol.peer))
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    burst = max(1, rate // 1000)
    start_cpu, start_wall = time.process_time(), time.monotonic()
    for index in range(packets):
        source.push(
            MediaPacket(
                sequence_number=index & 0xFFFF,
                timestamp=(index // 10 * 3000) & 0xFFFFFFFF,
                marker=int(index % 10 == 9),
                payload=payload,
                keyframe=index == 0,
                audio_level=None,
                arrival=0.0,
                abs_send_time=b"\0\0\0",
            )
        )
        if index % burst == burst - 1:
            # Pace against the wall clock, so a slow push does not lower the rate further.
            due = start_wall + (index + 1) / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
    cpu, wall = time.process_time() - start_cpu, time.monotonic() - start_wall
    far = conn.recv()
    link_bytes = None
    if endpoint is not None:
        (link,) = endpoint.links.values()
        link_bytes = link.metrics.bytes_sent / max(link.metrics.datagrams_sent, 1)
        endpoint.close()
    return {
        "origin_us_per_packet": round(cpu / packets * 1e6, 2),
        "far_us_per_packet": round(far["cpu"] / max(far["received"] - 1, 1) * 1e6, 2),
        "datagrams_per_s": round(far["received"] / far["wall"]) if far["wall"] else None,
        "sent": packets,
        "received": far["received"],
        "lost": packets - far["received"],
        "send_seconds": round(wall, 2),
        "bytes_per_datagram": round(link_bytes, 1) if link_bytes else size,
    }


def _run_mode(mode: str, packets: int, rate: int, size: int) -> dict[str, Any]:
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=_far_process, args=(theirs, mode), daemon=True
    )
    child.start()
    try:
        return asyncio.run(_origin(ours, mode, packets, rate, size))
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


class _Captured:
    """A transport that keeps what is sent instead of sending it."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def sendto(self, data: bytes, address: Any = None) -> None:
        self.datagrams.append(data)


async def _in_process(packets: int, size: int) -> dict[str, float]:
    """The relay's own work per packet on each end, without the kernel or the event loop.

    A real link on loopback is opened, then the origin link's transport is
    swapped for one that keeps the datagrams, which are then handed to the far
    endpoint's ``datagram_received`` directly.
    """
    metrics = SfuMetrics()
    source = Source(source_id=SOURCE_ID, owner="bench-site", kind="video", metrics=metrics)
    source.codec = "VP8"
    origin = await RelayEndpoint.open(
        node_id="origin", cluster_key=KEY, lookup={SOURCE_ID: source}.get, sfu_metrics=metrics
    )
    far = await RelayEndpoint.open(
        node_id="far", cluster_key=KEY, lookup={}.get, sfu_metrics=SfuMetrics()
    )
    link = await far.connect(origin.address)
    counter = _Counting()
    remote = link.remote_source(SOURCE_ID, "video")
    remote.add_sink(counter)
    while not source.sinks or not remote.codec:
        await asyncio.sleep(0.01)
    (origin_link,) = origin.links.values()
    captured = _Captured()
    origin_link._transport = cast(asyncio.DatagramTransport, captured)
    payload = bytes(size)
    start = time.process_time()
    for index in range(packets):
        source.push(
            MediaPacket(
                sequence_number=index & 0xFFFF,
                timestamp=(index // 10 * 3000) & 0xFFFFFFFF,
                marker=int(index % 10 == 9),
                payload=payload,
                keyframe=index == 0,
                audio_level=None,
                arrival=0.0,
                abs_send_time=b"\0\0\0",
            )
        )
    origin_cpu = time.process_time() - start
    media = [d for d in captured.datagrams if len(d) > size]
    start = time.process_time()
    for datagram in media:
        far.datagram_received(datagram, origin.address)
    far_cpu = time.process_time() - start
    assert counter.count == packets, counter.count
    origin.close()
    far.close()
    return {
        "origin_us_per_packet": round(origin_cpu / packets * 1e6, 2),
        "far_us_per_packet": round(far_cpu / packets * 1e6, 2),
    }


def _crypto_us(size: int, rounds: int = 20000) -> dict[str, float]:
    mine, theirs = handshake.Ephemeral(), handshake.Ephemeral()
    hello = handshake.parse(handshake.make_hello(KEY, "a", mine), KEY)
    ack = handshake.parse(handshake.make_ack(KEY, "b", theirs, hello), KEY, answering=hello)
    sender = LinkCipher(handshake.derive(KEY, mine, hello, ack, initiator=True))
    receiver = LinkCipher(handshake.derive(KEY, theirs, hello, ack, initiator=False))
    plaintext = bytes(size + 11)
    start = time.process_time()
    sealed = [sender.seal(plaintext) for _ in range(rounds)]
    seal = time.process_time() - start
    start = time.process_time()
    for datagram in sealed:
        receiver.open(datagram)
    opened = time.process_time() - start
    start = time.process_time()
    for _ in range(200):
        one, other = handshake.Ephemeral(), handshake.Ephemeral()
        h = handshake.parse(handshake.make_hello(KEY, "a", one), KEY)
        a = handshake.parse(handshake.make_ack(KEY, "b", other, h), KEY, answering=h)
        handshake.derive(KEY, one, h, a, initiator=True)
        handshake.derive(KEY, other, h, a, initiator=False)
    handshakes = time.process_time() - start
    return {
        "seal_us": round(seal / rounds * 1e6, 2),
        "open_us": round(opened / rounds * 1e6, 2),
        "handshake_us": round(handshakes / 200 * 1e6, 1),
    }


def main() -> None:
    """Run both modes and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=50000)
    parser.add_argument("--rate", type=int, default=10000, help="packets per second")
    parser.add_argument("--size", type=int, default=1200, help="payload bytes per packet")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of each mode, alternated; medians reported"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {
        "packets": args.packets,
        "rate": args.rate,
        "size": args.size,
        "runs": args.runs,
    }
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "relay": []}
    for _ in range(args.runs):
        for mode in ("plain", "relay"):
            run = _run_mode(mode, args.packets, args.rate, args.size)
            runs[mode].append(run)
            print(mode, json.dumps(run), file=sys.stderr)
    for mode, done in runs.items():
        # The median of each figure on its own: other processes on the machine come and go.
        result[mode] = {
            key: statistics.median(r[key] for r in done)
            for key in done[0]
            if isinstance(done[0][key], int | float)
        }
        result[mode]["lost_total"] = sum(r["lost"] for r in done)
    result["in_process"] = asyncio.run(_in_process(min(args.packets, 50000), args.size))
    result["crypto"] = _crypto_us(args.size)
    result["relay_minus_plain_us"] = {
        end: round(result["relay"][end] - result["plain"][end], 2)
        for end in ("origin_us_per_packet", "far_us_per_packet")
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
