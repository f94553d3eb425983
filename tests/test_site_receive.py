"""How simulated sites read their sockets (bench/sites_parts/batch_receive.py): both readers."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from sites_parts.batch_receive import (  # noqa: E402
    BATCH,
    MmsgReader,
    Reader,
    load_reader,
    sockaddr_tuple,
)


class FakeProtocol:
    """aioice's protocol: what is not SRTP lands here, with its sender."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, Any]] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append((data, addr))


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    yield receiver, sender
    receiver.close()
    sender.close()


def srtp_like(i: int) -> bytes:
    return bytes([0x80, 96]) + struct.pack("!H", i) + bytes(20 + i % 1200)


def stun_like(i: int) -> bytes:
    return b"\x00\x01" + struct.pack("!H", i) + bytes(16)


@pytest.mark.parametrize("mode", ["recvmmsg", "recvfrom"])
def test_a_drain_reads_every_queued_datagram_in_order_and_hands_stun_to_aioice(
    pair: tuple[socket.socket, socket.socket], mode: str
) -> None:
    receiver, sender = pair
    reader = load_reader(mode)
    assert reader.mode == mode
    sent_rtp, sent_stun = [], []
    for i in range(3 * BATCH + 5):  # more than one recvmmsg call's worth
        data = stun_like(i) if i % 7 == 3 else srtp_like(i)
        (sent_stun if i % 7 == 3 else sent_rtp).append(data)
        sender.sendto(data, receiver.getsockname())
    got: list[bytes] = []
    protocol = FakeProtocol()
    assert reader.drain(receiver, protocol, got.append, 1000) == len(sent_rtp) + len(sent_stun)
    assert got == sent_rtp
    assert [d for d, _ in protocol.received] == sent_stun
    assert {a for _, a in protocol.received} == {sender.getsockname()}
    assert reader.drain(receiver, protocol, got.append, 1000) == 0  # nothing left


@pytest.mark.parametrize("mode", ["recvmmsg", "recvfrom"])
def test_a_drain_stops_at_its_limit_and_leaves_the_rest_queued(
    pair: tuple[socket.socket, socket.socket], mode: str
) -> None:
    receiver, sender = pair
    reader = load_reader(mode)
    for i in range(BATCH + 10):
        sender.sendto(srtp_like(i), receiver.getsockname())
    got: list[bytes] = []
    assert reader.drain(receiver, FakeProtocol(), got.append, BATCH + 3) == BATCH + 3
    assert reader.drain(receiver, FakeProtocol(), got.append, 100) == 7
    assert [struct.unpack("!H", d[2:4])[0] for d in got] == list(range(BATCH + 10))


def test_recvmmsg_is_what_the_default_loads_and_it_batches() -> None:
    reader = load_reader()
    assert isinstance(reader, MmsgReader)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.setblocking(False)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for i in range(10):
                tx.sendto(srtp_like(i), rx.getsockname())
        calls = reader.calls
        assert reader.drain(rx, FakeProtocol(), lambda data: None, 100) == 10
        assert reader.calls - calls == 1  # ten datagrams, one system call


def test_a_closed_socket_reads_nothing() -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.close()
    for reader in (load_reader("recvmmsg"), Reader()):
        assert reader.drain(rx, FakeProtocol(), lambda data: None, 10) == 0


def test_sender_addresses_decode_as_recvfrom_gives_them() -> None:
    v4 = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 5004)
    v4 += socket.inet_pton(socket.AF_INET, "192.0.2.7") + bytes(8)
    assert sockaddr_tuple(v4) == ("192.0.2.7", 5004)
    v6 = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 443, 0)
    v6 += socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack("=I", 3)
    assert sockaddr_tuple(v6) == ("2001:db8::1", 443, 0, 3)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="recvmmsg or recvfrom"):
        load_reader("readv")


@pytest.mark.parametrize("mode", ["recvmmsg", "recvfrom"])
def test_ipv6_sockets_are_read_too_with_their_senders(mode: str) -> None:
    """aioice gathers IPv6 host candidates too: a site's media may come over IPv6."""
    reader = load_reader(mode)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as rx:
        rx.bind(("::1", 0))
        rx.setblocking(False)
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as tx:
            tx.bind(("::1", 0))
            sent = [srtp_like(i) if i % 2 else stun_like(i) for i in range(BATCH + 6)]
            for data in sent:
                tx.sendto(data, rx.getsockname())
            got: list[bytes] = []
            protocol = FakeProtocol()
            assert reader.drain(rx, protocol, got.append, 1000) == len(sent)
            assert got == sent[1::2]
            assert [d for d, _ in protocol.received] == sent[0::2]
            assert {a for _, a in protocol.received} == {tx.getsockname()}


def test_a_full_receive_buffer_shows_in_the_machine_wide_drop_counter() -> None:
    from sites_parts.batch_receive import udp_receive_buffer_drops

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel's minimum
        rx.bind(("127.0.0.1", 0))
        before = udp_receive_buffer_drops()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for i in range(200):  # nobody reads: most of these cannot be queued
                tx.sendto(srtp_like(i), rx.getsockname())
        assert udp_receive_buffer_drops() - before >= 100
