"""One UDP socket for every peer (conference/media/shared_udp.py), with real aiortc peers.

The server's sessions gather on the shared socket; the test's own client
peers keep aioice's socket per connection (``private_sockets``), as a
browser on another machine would have its own. Every test runs with both
ways of sending a drain's queue: ``sendmmsg`` through cffi and the plain
``sendto`` loop.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aioice import stun
from aiortc import RTCSessionDescription

from conference.media import shared_udp
from conference.media.shared_udp import MuxedStunProtocol, private_sockets
from conference.peer import PeerSession, SlotLayout
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.sfu import SfuMetrics
from conference.tokens import Role
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import capture_frames, client_pc


@pytest.fixture(params=["sendmmsg", "sendto"])
def shared(request: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(shared_udp.SEND_MODE_ENV, request.param)
    pool = shared_udp.configure(0)
    assert pool is not None and pool.sockets, "no local address to bind"
    assert (pool.mmsg is not None) == (request.param == "sendmmsg")
    yield pool
    shared_udp.close()


async def _join(room: Room, metrics: SfuMetrics, index: int, layout: SlotLayout) -> tuple:
    """A site: a server session on the shared socket, a client peer on its own socket."""
    session = PeerSession(owner=f"s{index}", metrics=metrics, ice_servers=[], video_codec="vp8")
    session.add_publish("audio")
    session.add_publish("video")
    session.add_slots(layout)
    offer = await session.create_offer()
    with private_sockets():
        pc = client_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        captures = {}
        publish = {
            "video": PacketTrack(encode_vp8(frames=90)),
            "audio": PacketTrack(encode_opus(3)),
        }
        for transceiver in pc.getTransceivers():
            kind = next((k for k, m in session.publish_mids.items() if m == transceiver.mid), None)
            if kind is not None:
                transceiver.sender.replaceTrack(publish[kind])
                transceiver.direction = "sendonly"
            else:
                slot = next(n for n, m in session.slot_mids.items() if m == transceiver.mid)
                captures[slot] = capture_frames(transceiver.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
    await session.apply_answer(pc.localDescription.sdp)
    participant = Participant(
        id=f"s{index}",
        name=f"S{index}",
        role=Role.PARTICIPANT,
        sources=session.sources,
        slots=session.slots,
    )
    room.join(participant)
    session.participant = participant  # type: ignore[attr-defined]
    return session, pc, captures


def _frames(captures: dict) -> int:
    return sum(len(c.frames) for name, c in captures.items() if not name.startswith("audio"))


async def _until(condition: Any, what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _nominated_protocol(session: PeerSession) -> Any:
    connection = session.pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
    return connection._connection._nominated[1].protocol


async def test_sites_meet_through_one_socket_and_a_closing_site_disturbs_no_other(shared):
    metrics = SfuMetrics()
    room = Room("r", "Phòng", "vp8")
    layout = SlotLayout(thumbnails=2, audio=2)
    datagrams, sent = shared_udp.STATS.datagrams, shared_udp.STATS.sent
    sites = [await _join(room, metrics, i, layout) for i in range(3)]
    try:
        # Media flows both ways: every site gets video from the others, over one port.
        await _until(lambda: all(_frames(c) >= 10 for _, _, c in sites), "video at every site")
        await _until(
            lambda: all(len(c["audio-1"].frames) >= 5 for _, _, c in sites), "audio at every site"
        )
        ports = set()
        for session, _, _ in sites:
            await _until(lambda s=session: s.connected.is_set(), "connected")
            protocol = _nominated_protocol(session)
            assert isinstance(protocol, MuxedStunProtocol)
            ports.add(protocol.local_candidate.port)
            # Three sites from the same host, each known by its own address.
            assert len(protocol.addresses) >= 1
        assert len(ports) == 1 and ports <= {s.port for s in shared.sockets.values()}
        remotes = [a for session, _, _ in sites for a in _nominated_protocol(session).addresses]
        assert len(set(remotes)) == len(remotes)
        assert shared_udp.STATS.datagrams > datagrams and shared_udp.STATS.sent > sent
        assert metrics.packets_out > 0

        # Site 0 leaves: the other two keep receiving each other.
        closing_session, closing_pc, _ = sites[0]
        gone = _nominated_protocol(closing_session)
        await closing_pc.close()
        await closing_session.close()
        room.leave(closing_session.participant)
        # (The client's close may have started the session's own close already.)
        await _until(lambda: gone.transport.is_closing(), "the session's ICE connection closed")
        assert not gone.addresses
        assert all(p is not gone for s in shared.sockets.values() for p in s.by_addr.values())
        before = [_frames(c) for _, _, c in sites[1:]]
        await _until(
            lambda: all(
                _frames(c) >= b + 15 for (_, _, c), b in zip(sites[1:], before, strict=True)
            ),
            "video after a site left",
        )
    finally:
        for session, pc, _ in sites:
            await pc.close()
            await session.close()
        await room.close()


def _client(family: int, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.3)
    return sock


async def test_unknown_ufrag_and_garbage_from_unknown_addresses_are_dropped(shared):
    loop = asyncio.get_running_loop()
    address, target = next(iter(shared.sockets.items()))
    # Attach the socket to this loop, as the first connection would.
    shared.for_running_loop(address)
    client = _client(target.family, address)
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = "nobody:them"
    request.add_message_integrity(b"x" * 22)
    datagrams = [
        b"\x00\x01garbage",  # too short for STUN
        bytes([0x90, 96]) + bytes(200),  # RTP-looking, from nobody we know
        bytes([22, 254, 253]) + bytes(60),  # DTLS-looking
        bytes(request),  # a well-formed check for a ufrag nobody has
    ]
    dropped = shared_udp.STATS.dropped
    for data in datagrams:
        client.sendto(data, (target.host, target.port))
    await _until(lambda: shared_udp.STATS.dropped >= dropped + len(datagrams), "drops", 5.0)
    assert shared_udp.STATS.dropped == dropped + len(datagrams)
    # Nothing was answered (aioice would answer a routed check, even a bad one, with an error).
    with pytest.raises(TimeoutError):
        await loop.run_in_executor(None, client.recv, 2048)
    client.close()


class _Echo:
    """Stands where a connection's protocol would: sends back what it gets (test routing)."""

    def __init__(self, shared: shared_udp.SharedUdp) -> None:
        self.shared = shared
        self.queued: list[int] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.shared.sendto(data, addr)  # inside the drain: queued, flushed at its end
        self.queued.append(len(self.shared.pending))


async def test_a_drains_sends_go_out_in_order_at_its_end_and_others_at_once(shared):
    address, target = next(iter(shared.sockets.items()))
    shared.for_running_loop(address)
    client = _client(target.family, address)
    client_addr = client.getsockname()[:2]
    echo = _Echo(target)
    target.by_addr[client_addr] = echo  # type: ignore[assignment]
    try:
        for seq in range(200):
            client.sendto(seq.to_bytes(2, "big") + bytes(100), (target.host, target.port))
        await _until(lambda: len(echo.queued) == 200, "200 datagrams drained", 5.0)
        got = [
            int.from_bytes(
                (await asyncio.get_running_loop().run_in_executor(None, client.recv, 2048))[:2],
                "big",
            )
            for _ in range(200)
        ]
        assert got == list(range(200))
        assert max(echo.queued) > 1  # several datagrams were served in one wake-up, queued
        assert not target.pending
        # A send from outside any drain (a timer, an RTCP task) goes out at once.
        target.sendto(b"now", client_addr)
        assert client.recv(2048) == b"now"
    finally:
        del target.by_addr[client_addr]
        client.close()


def test_stun_username_prefix_reads_our_ufrag() -> None:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["PRIORITY"] = 12345
    request.attributes["USERNAME"] = "abcd:wxyz"
    request.add_message_integrity(b"p" * 22)
    request.add_fingerprint()
    assert shared_udp.stun_username_prefix(bytes(request)) == "abcd"
    no_user = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    assert shared_udp.stun_username_prefix(bytes(no_user)) is None
    truncated = bytes(request)[:26]
    assert shared_udp.stun_username_prefix(truncated) is None


def test_media_port_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from conference.settings import Settings

    assert Settings().media_port is None  # a socket per connection unless asked
    for text, port in (("7882", 7882), ("0", 0), ("off", None), ("", None)):
        monkeypatch.setenv("CONFERENCE_MEDIA_PORT", text)
        assert Settings().media_port == port
    with pytest.raises(ValidationError, match="less than or equal to 65535"):
        Settings(media_port=70000)


def test_a_media_port_in_use_fails_at_start() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError, match="cannot bind the media port"):
            shared_udp.configure(taken.getsockname()[1], addresses=["127.0.0.1"])
        assert shared_udp.pool() is None
    finally:
        taken.close()
        shared_udp.close()


class _StunServer(asyncio.DatagramProtocol):
    """A STUN server (binding requests only): answers with the address it saw."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.seen: list[Any] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        request = stun.parse_message(data)
        self.seen.append(addr)
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = addr[:2]
        self.transport.sendto(bytes(response), addr)


async def test_server_reflexive_gathering_goes_through_the_shared_socket(shared):
    from aioice import Connection

    address, target = next((a, s) for a, s in shared.sockets.items() if s.family == socket.AF_INET)
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(_StunServer, local_addr=(address, 0))
    connection = Connection(
        ice_controlling=True, stun_server=transport.get_extra_info("sockname"), use_ipv6=False
    )
    try:
        await connection.gather_candidates()
        # Only this address's candidates: the machine may have more interfaces
        # (a test's network namespace, a VPN), each with its own shared socket.
        kinds = {c.type: c for c in connection.local_candidates if c.host == target.host}
        assert kinds["host"].port == target.port
        # The STUN server saw the shared socket, and its answer (from an address no
        # connection knows) reached the connection by its transaction id.
        assert (target.host, target.port) in server.seen
        others = {(s.host, s.port) for s in shared.sockets.values()}
        assert set(server.seen) <= others
        assert (kinds["srflx"].host, kinds["srflx"].port) == (target.host, target.port)
        assert kinds["srflx"].related_port == target.port
        assert not target.by_transaction
        assert target.by_ufrag.get(connection.local_username) is not None
    finally:
        await connection.close()
        transport.close()
    assert connection.local_username not in target.by_ufrag
