"""Codec payload headers: keyframe detection and VP8 picture id rewriting."""

from __future__ import annotations

from aiortc.codecs.vpx import Vp8Encoder

from conference.media.codecs import (
    h264_is_keyframe,
    parse_vp8_descriptor,
    rewrite_vp8_picture_id,
    vp8_is_keyframe,
)
from tests.support.media import encode_vp8


def test_vp8_keyframes_found_in_real_packets():
    clip = encode_vp8(frames=31, gop=30)
    for frame, key in zip(clip.payloads, clip.keyframes, strict=True):
        payloads = Vp8Encoder._packetize(frame, picture_id=1234)
        assert vp8_is_keyframe(payloads[0]) == key
        assert not any(vp8_is_keyframe(p) for p in payloads[1:])
    assert clip.keyframes.count(True) == 2


def test_vp8_picture_id_rewrite_keeps_the_frame():
    frame = encode_vp8(frames=1).payloads[0]
    payload = Vp8Encoder._packetize(frame, picture_id=0x7FFE)[0]
    desc = parse_vp8_descriptor(payload)
    assert desc is not None and desc.picture_id == 0x7FFE and desc.picture_id_bits == 15
    rewritten = rewrite_vp8_picture_id(payload, 5, 0)
    new = parse_vp8_descriptor(rewritten)
    assert new is not None and new.picture_id == (0x7FFE + 5) & 0x7FFF  # wraps
    assert rewritten[new.header_size :] == payload[desc.header_size :]


def test_short_vp8_descriptor_is_not_a_crash():
    for data in (b"", b"\x90", b"\x90\x80", b"\x90\x80\x80"):
        assert parse_vp8_descriptor(data) is None
        assert not vp8_is_keyframe(data)
        assert rewrite_vp8_picture_id(data, 1, 1) == data


def test_h264_keyframes():
    assert h264_is_keyframe(bytes([0x65, 0x88]))  # IDR slice
    assert h264_is_keyframe(bytes([0x67, 0x42]))  # SPS
    assert not h264_is_keyframe(bytes([0x41, 0x9A]))  # non-IDR slice
    stap_a = bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE])
    assert h264_is_keyframe(stap_a)
    assert h264_is_keyframe(bytes([0x7C, 0x85]))  # FU-A start of IDR
    assert not h264_is_keyframe(bytes([0x7C, 0x05]))  # FU-A middle
    assert not h264_is_keyframe(b"")
