"""Helpers for relay link tests and ``bench/relay.py``: packets, a recording sink, a UDP proxy.

The proxy sits on the path between two relay endpoints (one dials the
proxy, the proxy forwards to the other), so a test can drop, copy or alter
real datagrams of a real link without touching either end.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from conference.media.ntp import abs_send_time_bytes, ntp_now
from conference.sfu import MediaPacket, Source

Address = tuple[str, int]


def make_packet(index: int, kind: str = "video", size: int = 1200, seed: int = 0) -> MediaPacket:
    """The ``index``-th packet of a deterministic stream (the same on every process)."""
    rng = random.Random(seed * 1_000_003 + index)
    ntp = ntp_now()
    return MediaPacket(
        sequence_number=(40_000 + index) & 0xFFFF,  # wraps within a long run
        timestamp=(4_294_000_000 + index * 3000) & 0xFFFFFFFF,
        marker=1 if index % 4 == 3 else 0,
        payload=rng.randbytes(size - (index % 7)),
        keyframe=kind == "audio" or index % 50 == 0,
        audio_level=(index % 128) if kind == "audio" else None,
        arrival=0.0,
        abs_send_time=abs_send_time_bytes(ntp),
        ntp=ntp,
    )


def wire_fields(packet: MediaPacket) -> tuple[int, int, int, bytes, bool, int | None]:
    """What the relay must carry unchanged."""
    return (
        packet.sequence_number,
        packet.timestamp,
        packet.marker,
        packet.payload,
        packet.keyframe,
        packet.audio_level,
    )


class RecordingSink:
    """A sink that keeps what it got."""

    def __init__(self) -> None:
        self.packets: list[MediaPacket] = []
        self.ended = False

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        """Keep ``packet``."""
        self.packets.append(packet)

    def on_source_ended(self, source: Source) -> None:
        """Note the end."""
        self.ended = True


@dataclass
class Proxy(asyncio.DatagramProtocol):
    """A UDP hop: datagrams from the dialing end go to ``upstream``, the answers come back.

    ``to_upstream`` and ``to_client`` decide what is forwarded: each returns the
    datagrams to send in place of one (an empty list drops it).
    """

    upstream: Address
    client: Address | None = None
    to_upstream: Callable[[bytes], list[bytes]] = lambda data: [data]
    to_client: Callable[[bytes], list[bytes]] = lambda data: [data]
    seen_upstream: list[bytes] = field(default_factory=list)
    seen_client: list[bytes] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the socket."""
        # A selector datagram transport, though not a subclass of DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    @property
    def address(self) -> Address:
        """Where the dialing end should send."""
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def datagram_received(self, data: bytes, addr: Address) -> None:
        """Forward (or not) one datagram."""
        assert self.transport is not None
        if (addr[0], addr[1]) == self.upstream:
            self.seen_client.append(data)
            if self.client is not None:
                for out in self.to_client(data):
                    self.transport.sendto(out, self.client)
        else:
            self.client = (addr[0], addr[1])
            self.seen_upstream.append(data)
            for out in self.to_upstream(data):
                self.transport.sendto(out, self.upstream)

    def inject_to_client(self, data: bytes) -> None:
        """Send ``data`` to the dialing end as if the upstream end had sent it."""
        assert self.transport is not None and self.client is not None
        self.transport.sendto(data, self.client)

    def close(self) -> None:
        """Close the socket."""
        if self.transport is not None:
            self.transport.close()


async def open_proxy(upstream: Address) -> Proxy:
    """A proxy on a free loopback port forwarding to ``upstream``."""
    loop = asyncio.get_running_loop()
    _, proxy = await loop.create_datagram_endpoint(
        lambda: Proxy(upstream), local_addr=("127.0.0.1", 0)
    )
    return proxy
