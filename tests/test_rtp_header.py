"""The lean RTP header parser reads what aiortc's parser reads, and drops what it must."""

from __future__ import annotations

import struct

import pytest
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket, pack_header_extensions

from conference.media.rtp_header import extension_ids, fields_of, parse_rtp

IDS = HeaderExtensions(abs_send_time=3, audio_level=2, rtp_stream_id=4, repaired_rtp_stream_id=5)


def aiortc_map() -> HeaderExtensionsMap:
    """aiortc's map with the same ids, for packets aiortc builds and parses."""
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

    uris = {
        3: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        2: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        4: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        5: "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    }
    extensions_map = HeaderExtensionsMap()
    extensions_map.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in uris.items()]
        )
    )
    return extensions_map


def build(
    extensions: list[tuple[int, bytes]] | None = None,
    *,
    csrcs: int = 0,
    padding: int = 0,
    payload: bytes = b"\x10payload",
    profile: int | None = None,
) -> bytes:
    """A plaintext RTP packet: pt 96, marker, seq 0xABCD, ts 0x12345678, SSRC 0xDEADBEEF."""
    first = 0x80 | csrcs
    tail = b""
    if extensions is not None:
        found_profile, value = pack_header_extensions(extensions)
        if profile is not None:
            found_profile = profile
        first |= 0x10
        tail = struct.pack("!HH", found_profile, len(value) // 4) + value
    if padding:
        first |= 0x20
    header = struct.pack("!BBHII", first, 0x80 | 96, 0xABCD, 0x12345678, 0xDEADBEEF)
    header += b"".join(struct.pack("!I", 1000 + i) for i in range(csrcs))
    pad = bytes(padding - 1) + bytes([padding]) if padding else b""
    return header + tail + payload + pad


def test_fixed_header_and_payload():
    assert parse_rtp(build(), IDS) == (
        96,
        1,
        0xABCD,
        0x12345678,
        0xDEADBEEF,
        b"\x10payload",
        0,
        None,
        None,
        None,
        None,
    )


def test_one_byte_extensions_are_read_by_their_negotiated_ids():
    data = build([(3, b"\x01\x02\x03"), (2, b"\x85"), (4, b"h"), (7, b"ignored"), (5, b"f")])
    fields = parse_rtp(data, IDS)
    assert fields[5] == b"\x10payload"
    assert fields[7:] == (0x010203, 0x85, "h", "f")
    # The same ids under other numbers: nothing is read by guess.
    other = HeaderExtensions(abs_send_time=9, audio_level=10, rtp_stream_id=11)
    assert parse_rtp(data, other)[7:] == (None, None, None, None)


def test_two_byte_extensions_and_their_appbits():
    long_rid = "r" * 20  # longer than 16 bytes: aiortc packs the two-byte form
    data = build([(3, b"\x00\x00\x2a"), (4, long_rid.encode()), (2, b"\x7f")])
    assert struct.unpack_from("!H", data, 12)[0] == 0x1000
    assert parse_rtp(data, IDS)[7:] == (42, 0x7F, long_rid, None)
    with_appbits = build([(3, b"\x00\x00\x2a"), (4, long_rid.encode())], profile=0x100A)
    assert parse_rtp(with_appbits, IDS)[7:9] == (42, None)


def test_csrcs_are_skipped_and_padding_stripped():
    data = build([(2, b"\x30")], csrcs=3, padding=4)
    fields = parse_rtp(data, IDS)
    assert fields[5] == b"\x10payload"
    assert fields[6] == 4
    assert fields[8] == 0x30


def test_the_same_fields_as_aiortcs_parser():
    extensions_map = aiortc_map()
    for data in (
        build(),
        build([(3, b"\x01\x02\x03"), (2, b"\x85"), (4, b"q")], csrcs=2, padding=3),
        build([(5, b"h"), (3, b"\xff\xff\xff")]),
        build([(4, ("x" * 30).encode()), (2, b"\x01")], padding=1),
    ):
        packet = RtpPacket.parse(data, extensions_map)
        assert parse_rtp(data, extension_ids(extensions_map)) == fields_of(packet)


def test_an_extension_of_the_wrong_length_is_ignored_not_trusted():
    data = build([(3, b"\x01\x02"), (2, b"\x40")])
    assert parse_rtp(data, IDS)[7:9] == (None, 0x40)


def test_one_byte_id_15_stops_reading():
    value = bytes([0x20, 0x11, 0xF0, 0x30, 0x22, 0x00, 0x00, 0x00])  # level, then id 15, then level
    header = struct.pack("!BBHII", 0x90, 96, 1, 2, 3) + struct.pack("!HH", 0xBEDE, 2) + value
    assert parse_rtp(header + b"x", IDS)[8] == 0x11
    assert parse_rtp(header + b"x", IDS)[5] == b"x"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(11),  # shorter than the fixed header
        b"\x40" + bytes(11),  # version 1
        b"\x82" + bytes(11) + bytes(4),  # two CSRCs announced, one there
        b"\x90" + bytes(11) + b"\xbe\xde",  # extension header cut
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x02" + bytes(4),  # extension words cut
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x01" + b"\x23\x01\x02\x00",  # element overruns
        b"\x90" + bytes(11) + b"\x10\x00\x00\x01" + b"\x03\x05\x01\x02",  # two-byte overruns
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x01" + b"\x41\xff\xfe\x00",  # RID not ASCII
        b"\xa0" + bytes(11) + b"data\x00",  # padding length 0
        b"\xa0" + bytes(11) + b"da\x09",  # padding longer than the payload
    ],
)
def test_malformed_packets_raise_value_error(data: bytes):
    with pytest.raises(ValueError):
        parse_rtp(data, IDS)
