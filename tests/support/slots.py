"""The forwarding core without a network: a slot on a fake output, a source, VP8 packets.

Shared by the SFU's unit tests and the event-loop security tests.
"""

from __future__ import annotations

import time

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.slot import Slot, SlotConfig
from tests.support.media import encode_vp8

EXT_MAP = HeaderExtensionsMap()
EXT_MAP.configure(
    RTCRtpParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(
                id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"
            ),
            RTCRtpHeaderExtensionParameters(
                id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
        ]
    )
)


class FakeOutput:
    """A slot's transport that keeps what it is sent, parsed."""

    def __init__(self) -> None:
        self.rtp: list[RtpPacket] = []
        self.raw: list[bytes] = []

    def send_rtp(self, data: bytes) -> bool:
        """Keep an RTP packet (raw and parsed); always sent."""
        self.raw.append(data)
        self.rtp.append(RtpPacket.parse(data, EXT_MAP))
        return True

    def send_rtcp(self, data: bytes) -> bool:
        """RTCP is not looked at."""
        return True


def video_packets(frames: int, first_seq: int, first_ts: int, picture_id: int = 0):
    """RTP-level VP8 packets of a real clip: (MediaPacket, frame index)."""
    clip = encode_vp8(frames=frames, gop=30)
    seq, out = first_seq, []
    for index, (frame, key) in enumerate(zip(clip.payloads, clip.keyframes, strict=True)):
        payloads = Vp8Encoder._packetize(frame, picture_id=(picture_id + index) & 0x7FFF)
        for part, payload in enumerate(payloads):
            out.append(
                MediaPacket(
                    sequence_number=seq & 0xFFFF,
                    timestamp=(first_ts + index * 3000) & 0xFFFFFFFF,
                    marker=int(part == len(payloads) - 1),
                    payload=payload,
                    keyframe=key and part == 0,
                    audio_level=None,
                    arrival=time.monotonic(),
                    abs_send_time=b"\x01\x02\x03",
                )
            )
            seq += 1
    return out


def make_slot(kind: str = "video") -> tuple[Slot, FakeOutput, SfuMetrics]:
    """A ``main`` slot configured with RTX, audio level and abs-send-time, on a fake output."""
    metrics = SfuMetrics()
    slot = Slot("main", kind, metrics)
    output = FakeOutput()
    slot.configure(
        SlotConfig(
            ssrc=1111,
            payload_type=97,
            rtx_ssrc=2222,
            rtx_payload_type=98,
            audio_level_id=2,
            abs_send_time_id=3,
        ),
        output,
    )
    return slot, output, metrics


def make_source(
    metrics: SfuMetrics, requests: list[float], name: str = "a", kind: str = "video"
) -> Source:
    """A source ``name:kind`` whose keyframe requests are noted in ``requests``."""
    source = Source(
        source_id=f"{name}:{kind}",
        owner=name,
        kind=kind,
        metrics=metrics,
        keyframe_requester=lambda: requests.append(time.monotonic()),
    )
    source.codec = "VP8" if kind == "video" else "opus"
    return source


L1T3 = (0, 2, 1, 2)  # the temporal layer id of each frame of a three-layer cycle


def vp8_temporal_descriptor(
    picture_id: int, tl0picidx: int, tid: int, sync: bool, start: bool
) -> bytes:
    """An RFC 7741 descriptor with I (15-bit picture id), L and T, as libwebrtc writes it."""
    return bytes(
        [
            0x80 | (0x10 if start else 0),  # X, S, partition 0
            0xE0,  # I, L, T
            0x80 | (picture_id >> 8) & 0x7F,
            picture_id & 0xFF,
            tl0picidx & 0xFF,
            (tid << 6) | (0x20 if sync else 0),
        ]
    )


def temporal_video_packets(
    frames: int,
    first_seq: int,
    first_ts: int,
    pattern: tuple[int, ...] = L1T3,
    sync: frozenset[int] = frozenset(),
    chunk: int = 400,
) -> list[tuple[MediaPacket, int, int]]:
    """Packets of a real VP8 clip carrying temporal layer ids: (packet, frame index, TID).

    Frame ``i`` is in temporal layer ``pattern[i % len(pattern)]`` (frame 0, a
    keyframe, in layer 0) and carries the Y bit if ``i`` is in ``sync``; each
    frame is cut into pieces of ``chunk`` bytes, so most take several packets.
    """
    clip = encode_vp8(frames=frames, gop=300)
    seq, tl0, out = first_seq, -1, []
    for index, (frame, key) in enumerate(zip(clip.payloads, clip.keyframes, strict=True)):
        tid = pattern[index % len(pattern)]
        if tid == 0:
            tl0 += 1
        pieces = [frame[i : i + chunk] for i in range(0, len(frame), chunk)]
        for part, piece in enumerate(pieces):
            descriptor = vp8_temporal_descriptor(index, tl0, tid, index in sync, part == 0)
            packet = MediaPacket(
                sequence_number=seq & 0xFFFF,
                timestamp=(first_ts + index * 3000) & 0xFFFFFFFF,
                marker=int(part == len(pieces) - 1),
                payload=descriptor + piece,
                keyframe=key and part == 0,
                audio_level=None,
                arrival=time.monotonic(),
                abs_send_time=b"\x01\x02\x03",
            )
            out.append((packet, index, tid))
            seq += 1
    return out
