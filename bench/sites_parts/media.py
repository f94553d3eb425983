"""What a simulated site sends: the clip cut into RTP payloads once, and the RTP headers."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from forwarding_parts.clip import FPS, Clip

from conference.media.ntp import NTP_EPOCH_OFFSET
from conference.media.packetizers import packetize_vp8

RTP_HEADER = struct.Struct("!BBHII")
VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
AUDIO_FRAME_TICKS = 960  # 20 ms of Opus
FRAME_SECONDS = 1 / FPS
AUDIO_SECONDS = 0.02
# A 20 ms Opus frame of silence (CELT, 3 bytes): what a quiet microphone sends.
OPUS_SILENCE = b"\xf8\xff\xfe"
SPEAKING_LEVEL = 20  # RFC 6464 level in -dBov: loud speech
SILENT_LEVEL = 127  # -127 dBov: silence


@dataclass
class VideoLayer:
    """One video stream as a site sends it: RTP payloads per frame, normal and keyframe variants."""

    rid: str  # "f" for a single-layer camera
    video: list[list[bytes]]  # frame -> VP8 RTP payloads (descriptor included)
    video_key: list[list[bytes]]  # the same picture as a keyframe (sent after a PLI)
    keyframes: list[bool]


@dataclass
class SiteClip:
    """The clip as every site sends it: one layer (640x360, the baseline) or three (simulcast)."""

    single: VideoLayer  # the camera without simulcast (today's 640x360 clip)
    layers: dict[str, VideoLayer]  # rid -> layer (q, h, f), when the answer simulcasts
    audio: list[bytes]
    digests: dict[str, str]  # SHA-1 of every frame of every variant -> its rid ("1" = single)
    layer_bps: dict[str, float]  # rid -> the layer clip's mean bitrate

    @classmethod
    def from_clip(cls, clip: Clip, layers: dict[str, Any] | None = None) -> SiteClip:
        """Packetize once (aiortc's VP8 packetiser, picture id = frame index)."""
        import hashlib

        digests: dict[str, str] = {}

        def packetize(rid: str, frames: list[bytes], key: list[bytes], marks: list[bool]):
            for frame in (*frames, *key):
                digests[hashlib.sha1(frame).hexdigest()] = rid
            return VideoLayer(
                rid if rid != "1" else "f",
                [packetize_vp8(f, i) for i, f in enumerate(frames)],
                [packetize_vp8(f, i) for i, f in enumerate(key)],
                list(marks),
            )

        single = packetize("1", clip.video.payloads, clip.video_key.payloads, clip.video.keyframes)
        by_rid = {
            rid: packetize(rid, layer.payloads, layer.key_payloads, layer.keyframes)
            for rid, layer in (layers or {}).items()
        }
        rates = {
            rid: sum(len(f) for f in layer.payloads) * 8 * FPS / len(layer.payloads)
            for rid, layer in (layers or {}).items()
        }
        return cls(single, by_rid, list(clip.audio.payloads), digests, rates)


def abs_send_time_extension(ext_id: int) -> bytes:
    """A one-byte-header extension block carrying abs-send-time (6.18 s fixed point) now."""
    return b"\xbe\xde\x00\x01" + abs_send_time_element(ext_id)


def abs_send_time_element(ext_id: int, at: float | None = None) -> bytes:
    """The abs-send-time element (RFC 8285 one-byte form) for ``at`` (default now)."""
    value = int(((time.time() if at is None else at) + NTP_EPOCH_OFFSET) * (1 << 18)) & 0xFFFFFF
    return bytes((ext_id << 4 | 2,)) + value.to_bytes(3, "big")


def extension_block(*elements: bytes) -> bytes:
    """One-byte-header extension elements as a header extension block (padded to 32 bits)."""
    body = b"".join(elements)
    body += b"\x00" * (-len(body) % 4)
    return b"\xbe\xde" + (len(body) // 4).to_bytes(2, "big") + body


def text_element(ext_id: int, text: str) -> bytes:
    """A one-byte-header element carrying a short string (MID, RID, RRID)."""
    data = text.encode()
    return bytes((ext_id << 4 | (len(data) - 1),)) + data


def audio_level_extension(ext_id: int, level: int, voice: bool) -> bytes:
    """A one-byte-header extension block carrying the RFC 6464 audio level."""
    return b"\xbe\xde\x00\x01" + bytes((ext_id << 4, (0x80 if voice else 0) | level, 0, 0))
