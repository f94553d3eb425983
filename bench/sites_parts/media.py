"""What a simulated site sends: the clip cut into RTP payloads once, and the RTP headers."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

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
class SiteClip:
    """The clip as every site sends it: RTP payloads per frame, normal and keyframe variants."""

    video: list[list[bytes]]  # frame -> VP8 RTP payloads (descriptor included)
    video_key: list[list[bytes]]  # the same picture as a keyframe (sent after a PLI)
    keyframes: list[bool]
    audio: list[bytes]
    digests: set[str]  # SHA-1 of every frame either variant, for byte-identity checks

    @classmethod
    def from_clip(cls, clip: Clip) -> SiteClip:
        """Packetize once (aiortc's VP8 packetiser, picture id = frame index)."""
        import hashlib

        video = [packetize_vp8(frame, i) for i, frame in enumerate(clip.video.payloads)]
        key = [packetize_vp8(frame, i) for i, frame in enumerate(clip.video_key.payloads)]
        digests = {hashlib.sha1(f).hexdigest() for f in clip.video.payloads}
        digests |= {hashlib.sha1(f).hexdigest() for f in clip.video_key.payloads}
        return cls(video, key, list(clip.video.keyframes), list(clip.audio.payloads), digests)


def abs_send_time_extension(ext_id: int) -> bytes:
    """A one-byte-header extension block carrying abs-send-time (6.18 s fixed point) now."""
    value = int((time.time() + NTP_EPOCH_OFFSET) * (1 << 18)) & 0xFFFFFF
    return b"\xbe\xde\x00\x01" + bytes((ext_id << 4 | 2,)) + value.to_bytes(3, "big")


def audio_level_extension(ext_id: int, level: int, voice: bool) -> bytes:
    """A one-byte-header extension block carrying the RFC 6464 audio level."""
    return b"\xbe\xde\x00\x01" + bytes((ext_id << 4, (0x80 if voice else 0) | level, 0, 0))
