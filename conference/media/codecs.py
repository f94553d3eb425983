"""What the forwarder needs to know of each codec's RTP payload, and nothing more.

The forwarder never decodes media. It reads a few bits of the payload header
to find keyframes (a subscriber switched to a new source must start on one)
and, for VP8, rewrites the picture id so a slot that changes source keeps a
continuous sequence that the receiver's frame-reference finder accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

VP8 = "VP8"
H264 = "H264"
OPUS = "opus"


@dataclass(frozen=True, slots=True)
class Vp8Descriptor:
    """The parts of a VP8 payload descriptor (RFC 7741 section 4.2) we touch."""

    start_of_partition: bool
    partition_id: int
    picture_id: int | None
    picture_id_bits: int  # 7 or 15, 0 when absent
    picture_id_offset: int  # byte offset of the picture id field in the payload
    tl0picidx_offset: int  # byte offset of TL0PICIDX, -1 when absent
    header_size: int


def parse_vp8_descriptor(payload: bytes) -> Vp8Descriptor | None:
    """Parse the payload descriptor, or return None if it is truncated."""
    size = len(payload)
    if size < 1:
        return None
    first = payload[0]
    pos = 1
    picture_id: int | None = None
    bits = 0
    pid_offset = -1
    tl0_offset = -1
    if first & 0x80:
        if size < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id present
            if size <= pos:
                return None
            pid_offset = pos
            if payload[pos] & 0x80:
                if size < pos + 2:
                    return None
                picture_id = ((payload[pos] & 0x7F) << 8) | payload[pos + 1]
                bits = 15
                pos += 2
            else:
                picture_id = payload[pos]
                bits = 7
                pos += 1
        if ext & 0x40:  # L: TL0PICIDX present
            tl0_offset = pos
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX byte present
            pos += 1
        if size < pos:
            return None
    return Vp8Descriptor(
        start_of_partition=bool(first & 0x10),
        partition_id=first & 0x07,
        picture_id=picture_id,
        picture_id_bits=bits,
        picture_id_offset=pid_offset,
        tl0picidx_offset=tl0_offset,
        header_size=pos,
    )


def vp8_is_keyframe(payload: bytes) -> bool:
    """True for the first packet of a VP8 keyframe.

    Read straight from the descriptor's bytes, without a :class:`Vp8Descriptor`:
    it runs on every received video packet, and most are not the start of a
    frame, which the first byte already says.
    """
    size = len(payload)
    if not size:
        return False
    first = payload[0]
    if first & 0x17 != 0x10:  # S set and partition id 0: the frame's first packet
        return False
    pos = 1
    if first & 0x80:  # X: an extension byte follows
        if size < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if size <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    # VP8 frame tag, bit 0 of the first byte: 0 = key frame (RFC 6386 9.1).
    return size > pos and not payload[pos] & 0x01


def h264_is_keyframe(payload: bytes) -> bool:
    """True for a packet that starts an IDR picture or carries an SPS."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (5, 7):
        return True
    if nal_type == 24:  # STAP-A: 16-bit size before each NAL unit
        pos = 1
        while pos + 2 < len(payload):
            nalu_size = (payload[pos] << 8) | payload[pos + 1]
            if payload[pos + 2] & 0x1F in (5, 7):
                return True
            pos += 2 + nalu_size
        return False
    if nal_type == 28 and len(payload) > 1:  # FU-A: start bit and inner type
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in (5, 7)
    return False


def is_keyframe(codec: str, payload: bytes) -> bool:
    """Whether a packet of ``codec`` starts a keyframe; audio is always decodable."""
    if codec == VP8:
        return vp8_is_keyframe(payload)
    if codec == H264:
        return h264_is_keyframe(payload)
    return True


def rewrite_vp8_picture_id(payload: bytes, pid_delta: int, tl0_delta: int) -> bytes:
    """Return ``payload`` with its picture id and TL0PICIDX shifted.

    The VP8 bitstream after the descriptor is untouched, so the reassembled
    frame stays byte-identical to what the publisher sent.
    """
    desc = parse_vp8_descriptor(payload)
    if desc is None or (desc.picture_id is None and desc.tl0picidx_offset < 0):
        return payload
    out = bytearray(payload)
    if desc.picture_id is not None:
        pos = desc.picture_id_offset
        if desc.picture_id_bits == 15:
            value = (desc.picture_id + pid_delta) & 0x7FFF
            out[pos] = 0x80 | (value >> 8)
            out[pos + 1] = value & 0xFF
        else:
            out[pos] = (desc.picture_id + pid_delta) & 0x7F
    if desc.tl0picidx_offset >= 0:
        pos = desc.tl0picidx_offset
        out[pos] = (out[pos] + tl0_delta) & 0xFF
    return bytes(out)


def vp8_temporal(payload: bytes) -> tuple[int, bool] | None:
    """(TID, Y) of a VP8 packet's descriptor; None without a T bit (no temporal layers).

    Y (layer sync) says the frame depends only on the base layer: a forwarder
    that kept fewer temporal layers may take more again there.
    """
    size = len(payload)
    if size < 2 or not payload[0] & 0x80:
        return None
    ext = payload[1]
    if not ext & 0x20:  # T: the TID/Y/KEYIDX byte carries a temporal layer id
        return None
    pos = 2
    if ext & 0x80:  # I: picture id, 7 or 15 bits
        if size <= pos:
            return None
        pos += 2 if payload[pos] & 0x80 else 1
    if ext & 0x40:  # L: TL0PICIDX
        pos += 1
    if size <= pos:
        return None
    tk = payload[pos]
    return tk >> 6, bool(tk & 0x20)


def vp8_picture_state(payload: bytes) -> tuple[int | None, int, int | None]:
    """(picture id, its bit width, TL0PICIDX) of a VP8 packet."""
    desc = parse_vp8_descriptor(payload)
    if desc is None:
        return None, 0, None
    tl0 = payload[desc.tl0picidx_offset] if desc.tl0picidx_offset >= 0 else None
    return desc.picture_id, desc.picture_id_bits, tl0


def primary_codec(codecs: list[RTCRtpCodecParameters]) -> RTCRtpCodecParameters | None:
    """The first negotiated codec that is not RTX: the one media is sent in."""
    return next((c for c in codecs if not is_rtx(c)), None)
