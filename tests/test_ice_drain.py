"""ICE sockets are drained many datagrams a wake-up (conference.media.fast_receive).

asyncio reads one datagram per readable socket per pass of the loop; a
forwarder whose pass takes milliseconds then drains the speaker's socket
slower than the speaker sends, and the kernel drops the rest. Real sockets
on loopback; the loop's passes are counted with ``asyncio.sleep(0)``.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from aioice.ice import StunProtocol

from conference.media import fast_receive

COUNT = 100
RMEM_MAX = int(Path("/proc/sys/net/core/rmem_max").read_text())


class _Counting(StunProtocol):
    """aioice's protocol, counting what it is handed."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        self.datagrams.append(bytes(data))  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        pass


class _Plain(asyncio.DatagramProtocol):
    """Any other datagram protocol: asyncio's own reading."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.datagrams.append(data)


async def _passes_until_all(
    protocol: _Counting | _Plain, sender: socket.socket, port: int
) -> list[int]:
    """Queue COUNT datagrams, then count what arrived after each pass of the loop."""
    for n in range(COUNT):
        sender.sendto(n.to_bytes(2, "big") + b"x" * 100, ("127.0.0.1", port))
    seen = []
    for _ in range(COUNT + 10):
        await asyncio.sleep(0)
        seen.append(len(protocol.datagrams))
        if seen[-1] == COUNT:
            break
    return seen


async def test_an_ice_socket_is_drained_many_datagrams_a_pass_and_others_one() -> None:
    loop = asyncio.get_running_loop()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ice_transport, ice = await loop.create_datagram_endpoint(_Counting, local_addr=("127.0.0.1", 0))
    plain_transport, plain = await loop.create_datagram_endpoint(
        _Plain, local_addr=("127.0.0.1", 0)
    )
    try:
        ice_seen = await _passes_until_all(ice, sender, ice_transport.get_extra_info("sockname")[1])
        plain_seen = await _passes_until_all(
            plain, sender, plain_transport.get_extra_info("sockname")[1]
        )
    finally:
        ice_transport.close()
        plain_transport.close()
        sender.close()
    # Everything arrives, in order, whichever way it is read.
    assert [int.from_bytes(d[:2], "big") for d in ice.datagrams] == list(range(COUNT))
    assert [int.from_bytes(d[:2], "big") for d in plain.datagrams] == list(range(COUNT))
    # An ICE socket: up to DRAIN_DATAGRAMS a pass, so a few passes; any other: one a pass.
    steps = [b - a for a, b in zip([0, *ice_seen], ice_seen, strict=False)]
    assert max(steps) == fast_receive.DRAIN_DATAGRAMS
    assert len([s for s in steps if s]) == -(-COUNT // fast_receive.DRAIN_DATAGRAMS)
    assert max(b - a for a, b in zip([0, *plain_seen], plain_seen, strict=False)) == 1


async def test_ice_sockets_ask_for_a_larger_receive_buffer() -> None:
    loop = asyncio.get_running_loop()

    class Made(StunProtocol):
        def __init__(self) -> None:
            self.receiver = None  # type: ignore[assignment]  # aioice logs it

        def connection_lost(self, exc: Exception | None) -> None:
            pass

    transport, _ = await loop.create_datagram_endpoint(Made, local_addr=("127.0.0.1", 0))
    await asyncio.sleep(0)
    try:
        sock = transport.get_extra_info("socket")
        size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        cap = RMEM_MAX
        # Linux doubles what was asked (bookkeeping), capped at rmem_max.
        assert size >= min(fast_receive.RECEIVE_BUFFER_BYTES, cap)
        default = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            assert size > default.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) or cap <= size
        finally:
            default.close()
    finally:
        transport.close()


async def test_gathered_host_candidates_keep_the_larger_receive_buffer() -> None:
    """aioice sets a host candidate's buffer again after the socket is made; what a
    real gathering leaves must still be the larger buffer (kernel-capped)."""
    from aioice import Connection

    connection = Connection(ice_controlling=True, use_ipv6=False)
    await connection.gather_candidates()
    try:
        sockets = [
            protocol.transport.get_extra_info("socket")
            for protocol in connection._protocols  # aioice's own list of its sockets
        ]
        assert sockets
        for sock in sockets:
            size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            # Linux reports twice what was asked, the ask capped at rmem_max.
            assert size >= 2 * min(fast_receive.RECEIVE_BUFFER_BYTES, RMEM_MAX)
    finally:
        await connection.close()
