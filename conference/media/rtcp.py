"""The few RTCP packets the forwarder writes itself (RFC 3550)."""

from __future__ import annotations

import struct

from aiortc.rtp import RTCP_RTPFB

_SR = struct.Struct("!BBHIQIII")


def build_sender_report(
    ssrc: int, ntp: int, rtp_timestamp: int, packet_count: int, octet_count: int
) -> bytes:
    """A sender report with no reception blocks."""
    return _SR.pack(
        0x80,  # V=2, P=0, RC=0
        200,
        6,  # length in 32-bit words minus one
        ssrc,
        ntp & 0xFFFFFFFFFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packet_count & 0xFFFFFFFF,
        octet_count & 0xFFFFFFFF,
    )


def build_sdes(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one chunk carrying the CNAME."""
    text = cname.encode("utf-8")[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk


def round_trip_time(now_ntp: int, lsr: int, dlsr: int) -> float | None:
    """RTT in seconds from a reception report's LSR and DLSR (RFC 3550 6.4.1)."""
    if not lsr:
        return None
    middle = (now_ntp >> 16) & 0xFFFFFFFF
    rtt = (middle - lsr - dlsr) & 0xFFFFFFFF
    if rtt > 0x7FFFFFFF:
        return None
    return rtt / 65536.0


MAX_NACK_ITEMS = 64  # NACK FCI entries (up to 17 lost packets each) in one feedback packet


def rtcp_is_reasonable(data: bytes) -> bool:
    """Whether a (decrypted) compound RTCP packet is cheap enough to parse.

    aiortc's parser expands every NACK entry into up to 17 numbers in Python:
    a datagram of NACK entries is tens of thousands of steps, on the loop,
    per packet. A receiver with honest losses names far fewer than 64 entries
    (1,088 packets); a compound with a longer NACK is dropped unread.
    """
    pos, size = 0, len(data)
    while pos + 4 <= size:
        length = (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1) * 4
        if data[pos + 1] == RTCP_RTPFB and (length - 12) // 4 > MAX_NACK_ITEMS:
            return False
        pos += length
    return True
