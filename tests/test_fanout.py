"""The fan-out path: a slot's header rewrite through DtlsRtpOutput's SRTP, byte for byte,
and the abs-send-time each slot stamps as it sends."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any, cast

import pylibsrtp
import pytest
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import RtpPacket

from conference import slot as slot_module
from conference.media import fast_send
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.slot import Slot, SlotConfig
from tests.support.slots import EXT_MAP, FakeOutput, make_slot, make_source, video_packets
from tests.support.srtp_wire import Attrs, SrtpWire

_Attrs = Attrs
_Wire = SrtpWire


@pytest.fixture(params=["c", "python"])
def send_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every wire test runs with the compiled sender and with the Python path."""
    monkeypatch.setenv(fast_send.MODE_ENV, request.param)
    return cast(str, request.param)


@pytest.fixture(params=["127.0.0.1", "::1"])
def wire(send_mode: str, request: pytest.FixtureRequest) -> Iterator[_Wire]:
    made = _Wire(request.param)
    yield made
    made.close()


def test_the_compiled_sender_is_built() -> None:
    # The README's install builds it (setup.py); the C path must
    # not quietly fall back to Python on a machine that has a compiler.
    assert fast_send.built()
    assert fast_send.mode() == "c"
    # and from today's source: with the whole fan-out (an older build lacks it).
    assert fast_send.compiled_fanout() is not None


def test_the_sender_used_is_the_one_asked_for(wire: _Wire, send_mode: str) -> None:
    slot, metrics = _configured("video", wire.output, abs_send_time_id=3)
    source = make_source(metrics, [])
    slot.assign(source)
    packets = video_packets(3, first_seq=0, first_ts=0)
    for packet in packets:
        source.push(packet)
    assert len(wire.received(len(packets))) == len(packets)
    fast = wire.output._fast
    if send_mode == "c":
        # The first packet binds the route (through Python); the rest go through C.
        assert fast is not None and fast.bound and fast.fast_sends == len(packets) - 1
    else:
        assert fast is None


def _two_sent(wire: _Wire, count: int) -> tuple[Source, SfuMetrics, list[MediaPacket]]:
    """A video slot on ``wire`` fed by a source, ``count`` packets, the first two sent."""
    slot, metrics = _configured("video", wire.output)
    source = make_source(metrics, [])
    slot.assign(source)
    packets = video_packets(count, first_seq=0, first_ts=0)[:count]
    source.push(packets[0])
    source.push(packets[1])
    assert len(wire.received(2)) == 2
    return source, metrics, packets


async def test_a_new_pair_or_session_rebinds_the_sender(wire: _Wire, send_mode: str) -> None:
    source, metrics, packets = _two_sent(wire, 6)
    # ICE nominates another pair (another local socket, another remote address).
    inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox.bind(("127.0.0.1", 0))
    inbox.settimeout(2.0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dtls = wire.output._dtls
        dtls.transport._connection._nominated[1] = _Attrs(
            protocol=_Attrs(transport=_Attrs(_sock=sock)), remote_addr=inbox.getsockname()
        )
        source.push(packets[2])
        source.push(packets[3])
        moved = [wire.receiver.unprotect(inbox.recv(65535)) for _ in range(2)]
        assert [RtpPacket.parse(d).payload for d in moved] == [p.payload for p in packets[2:4]]
        # A DTLS renegotiation brings a new SRTP session: the receiver needs the new key.
        key = os.urandom(30)
        dtls._tx_srtp = pylibsrtp.Session(
            policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        )
        receiver = pylibsrtp.Session(
            policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )
        source.push(packets[4])
        source.push(packets[5])
        rekeyed = [receiver.unprotect(inbox.recv(65535)) for _ in range(2)]
        assert [RtpPacket.parse(d).payload for d in rekeyed] == [p.payload for p in packets[4:]]
        assert metrics.packets_out == 6
    finally:
        inbox.close()
        sock.close()


async def test_nothing_is_sent_once_dtls_is_closed_or_the_socket_is(wire: _Wire) -> None:
    source, metrics, packets = _two_sent(wire, 4)
    wire.output._dtls._state = DtlsState.CLOSED
    source.push(packets[2])
    wire.output._dtls._state = DtlsState.CONNECTED
    wire.sock.close()  # its descriptor number may be reused: nothing may go out on it
    source.push(packets[3])
    wire.inbox.settimeout(0.2)
    with pytest.raises(TimeoutError):
        wire.inbox.recv(65535)
    assert metrics.packets_out == 2 and metrics.packets_dropped == 2


async def test_a_packet_too_large_for_a_datagram_is_counted_not_sent(send_mode: str) -> None:
    # Over IPv4: an IPv6 datagram carries 20 bytes more, as much as the SRTP buffer.
    wire = _Wire("127.0.0.1")
    try:
        await _oversized_on(wire)
    finally:
        wire.close()


async def _oversized_on(wire: _Wire) -> None:
    metrics = SfuMetrics()
    wire.output._metrics = metrics
    slot = Slot("main", "video", metrics)
    slot.configure(SlotConfig(ssrc=0x11223344, payload_type=97), wire.output)
    source = make_source(metrics, [])
    slot.assign(source)
    first, second, third = video_packets(3, first_seq=0, first_ts=0)[:3]
    source.push(first)
    # Fits the SRTP buffer, not a UDP datagram once protected (EMSGSIZE); then one
    # larger than the buffer itself.
    big = MediaPacket(
        second.sequence_number,
        second.timestamp,
        0,
        b"\x10" + b"\0" * 65_490,
        False,
        None,
        0.0,
        b"\0\0\0",
    )
    huge = MediaPacket(
        third.sequence_number,
        third.timestamp,
        1,
        b"\x10" + b"\0" * 70_000,
        False,
        None,
        0.0,
        b"\0\0\0",
    )
    source.push(big)
    source.push(huge)
    assert len(wire.received(1)) == 1
    assert metrics.packets_oversized == 2 and metrics.packets_out == 1


def _configured(kind: str, output: Any, **ids: int) -> tuple[Slot, SfuMetrics]:
    metrics = SfuMetrics()
    slot = Slot("main", kind, metrics)
    slot.configure(SlotConfig(ssrc=0x11223344, payload_type=97, **ids), output)
    return slot, metrics


def _reserialized(data: bytes) -> bytes:
    """What aiortc makes of a packet's parsed fields: the reference for every byte."""
    parsed = RtpPacket.parse(data, EXT_MAP)
    return parsed.serialize(EXT_MAP)


@pytest.mark.parametrize("ids", [{"abs_send_time_id": 3}, {}])
async def test_video_packets_are_byte_exact_after_srtp(wire: _Wire, ids: dict[str, int]) -> None:
    slot, metrics = _configured("video", wire.output, **ids)
    source = make_source(metrics, [])
    slot.assign(source)
    packets = video_packets(3, first_seq=65534, first_ts=4_294_967_000)  # both wrap
    for packet in packets:
        source.push(packet)
    sent = wire.received(len(packets))
    for data, original in zip(sent, packets, strict=True):
        assert data == _reserialized(data)  # header, extension block, padding: as aiortc's
        parsed = RtpPacket.parse(data, EXT_MAP)
        assert parsed.payload == original.payload
        assert (parsed.ssrc, parsed.payload_type, parsed.marker) == (
            0x11223344,
            97,
            original.marker,
        )
        assert (parsed.extensions.abs_send_time is not None) == bool(ids)
    seqs = [RtpPacket.parse(d).sequence_number for d in sent]
    assert [(b - a) & 0xFFFF for a, b in itertools.pairwise(seqs)] == [1] * (len(sent) - 1)


async def test_audio_level_is_byte_exact_after_srtp(wire: _Wire) -> None:
    slot, metrics = _configured("audio", wire.output, audio_level_id=2)
    source = make_source(metrics, [], kind="audio")
    slot.assign(source)
    levels = [0x80 | 20, 127, None, 0]
    for index, level in enumerate(levels):
        source.push(
            MediaPacket(index, index * 960, 0, b"\xf8\xff\xfe", True, level, 0.0, b"\0\0\0")
        )
    for data, level in zip(wire.received(len(levels)), levels, strict=True):
        assert data == _reserialized(data)
        parsed = RtpPacket.parse(data, EXT_MAP)
        expected = None if level is None else (bool(level & 0x80), level & 0x7F)
        assert parsed.extensions.audio_level == expected
        assert parsed.payload == b"\xf8\xff\xfe"


async def test_the_srtp_output_and_a_plain_output_send_the_same_bytes(
    wire: _Wire, stamp_clock: Callable[[Callable[[], int]], None]
) -> None:
    # Same clock for both slots (and the compiled fan-out's): the parts path (SRTP
    # buffer) and the joined one agree.
    stamp_clock(lambda: 0xABCDEF)
    parts_slot, metrics = _configured("video", wire.output, abs_send_time_id=3)
    plain = FakeOutput()
    plain_slot = Slot("main", "video", metrics)
    plain_slot.configure(SlotConfig(ssrc=0x11223344, payload_type=97, abs_send_time_id=3), plain)
    source = make_source(metrics, [])
    parts_slot.assign(source)
    plain_slot.assign(source)
    plain_slot._max_out_seq = parts_slot._max_out_seq  # the same random start
    plain_slot._max_out_ts = parts_slot._max_out_ts
    packets = video_packets(2, first_seq=10, first_ts=0)
    for packet in packets:
        source.push(packet)
    assert wire.received(len(packets)) == plain.raw


async def test_each_slot_stamps_its_own_send_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.count(0xFFFFFE)  # wraps past 2^24 on the way
    monkeypatch.setattr(slot_module, "abs_send_time_now", lambda: next(clock) & 0xFFFFFF)
    first, first_out, metrics = make_slot()
    second, second_out, _ = make_slot()
    source = make_source(metrics, [])
    first.assign(source)
    second.assign(source)
    packets = video_packets(2, first_seq=0, first_ts=0)
    for packet in packets:  # each carries the publisher-side value 0x010203
        source.push(packet)
    stamps = [[p.extensions.abs_send_time for p in out.rtp] for out in (first_out, second_out)]
    # One stamp per packet per slot, in sending order (first, second, first, ...).
    count = len(packets)
    assert stamps[0] == [(0xFFFFFE + 2 * i) & 0xFFFFFF for i in range(count)]
    assert stamps[1] == [(0xFFFFFF + 2 * i) & 0xFFFFFF for i in range(count)]


async def test_a_retransmission_carries_the_time_it_is_resent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000]
    monkeypatch.setattr(slot_module, "abs_send_time_now", lambda: now[0])
    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    for packet in video_packets(2, first_seq=0, first_ts=0):
        source.push(packet)
    lost = output.rtp[1]
    now[0] = 5000
    slot.handle_nack([lost.sequence_number])
    rtx = output.rtp[-1]
    assert rtx.ssrc == 2222 and rtx.extensions.abs_send_time == 5000
    assert lost.extensions.abs_send_time == 1000
    assert rtx.payload[2:] == lost.payload
    assert output.raw[-1] == rtx.serialize(EXT_MAP)
