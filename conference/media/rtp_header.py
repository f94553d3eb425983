"""The RTP header as the forwarder reads it: a few ints, the payload, four extensions.

aiortc's ``RtpPacket.parse`` builds an ``RtpPacket``, two ``HeaderExtensions``,
a CSRC list and a list of ``(id, bytes)`` pairs per packet, and decodes every
extension it knows. The receive path needs far less: the fixed header, the
payload, and the header extensions forwarding uses (abs-send-time for the
bandwidth estimate, the RFC 6464 audio level for the active speaker, RID and
RRID to tell simulcast layers apart). :func:`parse_rtp` reads only those, with
one ``struct.unpack_from`` for the fixed header, and returns a plain tuple.

Extension ids are the negotiated ones, read from aiortc's
``HeaderExtensionsMap`` of the transport (:func:`extension_ids`): a
``HeaderExtensions`` whose fields hold ids rather than values.
"""

from __future__ import annotations

import struct

from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket

_FIXED = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x100  # 0x100X: the low 4 bits are "appbits" (RFC 8285 4.3)


# What parse_rtp returns, by position (a plain tuple: no object per packet):
# (payload_type, marker, sequence_number, timestamp, ssrc, payload, padding_size,
#  abs_send_time or None, audio level byte (RFC 6464: V << 7 | -dBov) or None,
#  rid or None, rrid or None)
RtpFields = tuple[
    int, int, int, int, int, bytes, int, int | None, int | None, str | None, str | None
]


def extension_ids(extensions_map: HeaderExtensionsMap) -> HeaderExtensions:
    """The ids a transport negotiated, live: aiortc keeps them, as ints, in a ``HeaderExtensions``.

    The same object for the map's whole life (``configure`` updates it in
    place), so a renegotiation's new ids are seen at once.
    """
    ids: HeaderExtensions = extensions_map._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    return ids


def parse_rtp(data: bytes, ids: HeaderExtensions) -> RtpFields:
    """Read one plaintext RTP packet; ``ValueError`` if it is malformed (the caller drops it).

    Both header extension forms are read (one-byte ``0xBEDE`` and two-byte
    ``0x100X``); an extension with an unexpected length is ignored, not
    trusted. Padding is stripped from the payload and its size returned (the
    bandwidth estimate counts it).
    """
    size = len(data)
    if size < 12:
        raise ValueError("RTP packet shorter than its fixed header")
    first, second, seq, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != 2:
        raise ValueError("RTP packet has invalid version")
    pos = 12 + 4 * (first & 0x0F)  # CSRCs are skipped: a forwarder does not mix
    if size < pos:
        raise ValueError("RTP packet has truncated CSRC")
    abs_send_time: int | None = None
    level: int | None = None
    rid: str | None = None
    rrid: str | None = None
    if first & 0x10:
        if size < pos + 4:
            raise ValueError("RTP packet has truncated extension profile / length")
        profile, words = _EXTENSION_HEADER.unpack_from(data, pos)
        pos += 4
        end = pos + 4 * words
        if size < end:
            raise ValueError("RTP packet has truncated extension value")
        abs_id, level_id = ids.abs_send_time, ids.audio_level
        rid_id, rrid_id = ids.rtp_stream_id, ids.repaired_rtp_stream_id
        two_byte = profile >> 4 == TWO_BYTE_PROFILE
        if profile == ONE_BYTE_PROFILE or two_byte:
            while pos < end:
                x_id = data[pos]
                if x_id == 0:  # padding between elements
                    pos += 1
                    continue
                if two_byte:
                    if pos + 2 > end:
                        raise ValueError("RTP two-byte header extension is truncated")
                    length = data[pos + 1]
                    pos += 2
                else:
                    length = (x_id & 0x0F) + 1
                    x_id >>= 4
                    if x_id == 15:  # reserved: stop reading (RFC 8285 4.2)
                        break
                    pos += 1
                if pos + length > end:
                    raise ValueError("RTP header extension value is truncated")
                if x_id == abs_id:
                    if length == 3:
                        abs_send_time = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
                elif x_id == level_id:
                    if length >= 1:
                        level = data[pos]
                elif x_id == rid_id:
                    rid = data[pos : pos + length].decode("ascii")
                elif x_id == rrid_id:
                    rrid = data[pos : pos + length].decode("ascii")
                pos += length
        pos = end
    padding = 0
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > size - pos:
            raise ValueError("RTP packet padding length is invalid")
    return (
        second & 0x7F,
        second >> 7,
        seq,
        timestamp,
        ssrc,
        data[pos : size - padding],
        padding,
        abs_send_time,
        level,
        rid,
        rrid,
    )


def header_extension(data: bytes, wanted: int | None) -> bytes | None:
    """The value of header extension ``wanted`` (by id) in a plaintext RTP packet, or None.

    For the rare packet that needs one :func:`parse_rtp` does not read (the
    MID of an SSRC not yet known); malformed input gives None.
    """
    if not wanted or len(data) < 12 or not data[0] & 0x10:
        return None
    pos = 12 + 4 * (data[0] & 0x0F)
    if len(data) < pos + 4:
        return None
    profile, words = _EXTENSION_HEADER.unpack_from(data, pos)
    pos += 4
    end = min(pos + 4 * words, len(data))
    two_byte = profile >> 4 == TWO_BYTE_PROFILE
    if profile != ONE_BYTE_PROFILE and not two_byte:
        return None
    while pos < end:
        x_id = data[pos]
        if x_id == 0:
            pos += 1
            continue
        if two_byte:
            if pos + 2 > end:
                return None
            length = data[pos + 1]
            pos += 2
        else:
            length = (x_id & 0x0F) + 1
            x_id >>= 4
            if x_id == 15:
                return None
            pos += 1
        if pos + length > end:
            return None
        if x_id == wanted:
            return data[pos : pos + length]
        pos += length
    return None


def fields_of(packet: RtpPacket) -> RtpFields:
    """The same tuple for a packet aiortc already parsed (its own receive task, tests)."""
    extensions = packet.extensions
    level = extensions.audio_level
    return (
        packet.payload_type,
        packet.marker,
        packet.sequence_number,
        packet.timestamp,
        packet.ssrc,
        packet.payload,
        packet.padding_size,
        extensions.abs_send_time,
        None if level is None else (0x80 if level[0] else 0) | (level[1] & 0x7F),
        extensions.rtp_stream_id,
        extensions.repaired_rtp_stream_id,
    )
