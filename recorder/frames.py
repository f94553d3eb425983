"""Reassembling encoded frames from RTP packets, without decoding them.

The SFU forwards packets; a file wants frames. A video frame is the packets
sharing one RTP timestamp, from the one that starts the frame to the one
with the marker bit, with no sequence number missing in between. A frame
that cannot be completed is dropped, and so is everything after it until
the next keyframe (a decoder could not use it); the caller then asks the
publisher for a keyframe. An Opus packet is a frame by itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from aiortc.codecs.h264 import h264_depayload
from aiortc.codecs.vpx import vp8_depayload

from conference.media.codecs import (
    H264,
    VP8,
    h264_is_keyframe,
    parse_vp8_descriptor,
    vp8_is_keyframe,
)

MAX_PENDING_FRAMES = 4  # frames waiting for a late packet before the oldest is given up
# A frame spans at most this many sequence numbers (a 4K keyframe is ~800
# packets). Checking a frame walks its span, once per packet that arrives, so
# a publisher sending one endless frame must not make that walk endless too.
MAX_FRAME_PACKETS = 2048


@dataclass
class Frame:
    """One encoded frame."""

    timestamp: int  # RTP timestamp (32 bit, as sent)
    data: bytes
    keyframe: bool


@dataclass
class _Pending:
    packets: dict[int, bytes] = field(default_factory=dict)  # unwrapped seq -> payload
    start: int | None = None
    end: int | None = None
    keyframe: bool = False


class SequenceUnwrapper:
    """16-bit RTP sequence numbers to an ever-growing count."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._cycles = 0

    def unwrap(self, seq: int) -> int:
        if self._last is None:
            self._last = seq
            return seq
        delta = (seq - self._last) & 0xFFFF
        if delta < 0x8000:  # forward
            if seq < self._last:
                self._cycles += 1 << 16
            self._last = seq
            return self._cycles + seq
        # backward (late or reordered): belongs to this or the previous cycle
        return self._cycles + seq - (1 << 16 if seq > self._last else 0)


class VideoFrameAssembler:
    """Packets of one video source in, complete frames out (VP8 or H.264)."""

    def __init__(self, codec: str) -> None:
        if codec not in (VP8, H264):
            raise ValueError(f"cannot assemble {codec} frames")
        self.codec = codec
        self.dropped_frames = 0
        self._seq = SequenceUnwrapper()
        self._pending: dict[int, _Pending] = {}
        self._order: list[int] = []  # timestamps in arrival order of their first packet
        self._need_keyframe = True
        self._last_emitted_seq: int | None = None
        self._abandoned: deque[int] = deque(
            maxlen=32
        )  # timestamps given up: ignore their stragglers

    @property
    def needs_keyframe(self) -> bool:
        """Whether frames are being skipped until a keyframe arrives."""
        return self._need_keyframe

    def add(self, sequence_number: int, timestamp: int, marker: int, payload: bytes) -> list[Frame]:
        """Take one packet; return the frames it completed (in order)."""
        if not payload:
            return []  # padding
        seq = self._seq.unwrap(sequence_number)
        if self._last_emitted_seq is not None and seq <= self._last_emitted_seq:
            return []  # a duplicate or a retransmission of something already written
        pending = self._pending.get(timestamp)
        if pending is None:
            if timestamp in self._abandoned:
                return []
            pending = self._pending[timestamp] = _Pending()
            self._order.append(timestamp)
        pending.packets[seq] = payload
        if len(pending.packets) > MAX_FRAME_PACKETS or (
            pending.start is not None and abs(seq - pending.start) > MAX_FRAME_PACKETS
        ):
            self._give_up(timestamp)
            return self._collect()
        if self._starts_frame(payload):
            pending.start = seq
            pending.keyframe = pending.keyframe or self._is_keyframe(payload)
        elif self.codec == H264 and h264_is_keyframe(payload):
            pending.keyframe = True
        if marker:
            pending.end = seq
        return self._collect()

    def _give_up(self, timestamp: int) -> None:
        """Drop a frame that cannot be real (too many packets) and what depends on it."""
        self._order.remove(timestamp)
        del self._pending[timestamp]
        self._abandoned.append(timestamp)
        self.dropped_frames += 1
        self._need_keyframe = True

    def _starts_frame(self, payload: bytes) -> bool:
        if self.codec == VP8:
            desc = parse_vp8_descriptor(payload)
            return desc is not None and desc.start_of_partition and desc.partition_id == 0
        nal_type = payload[0] & 0x1F
        if nal_type == 28 and len(payload) > 1:  # FU-A: only its first fragment starts
            return bool(payload[1] & 0x80)
        return True  # single NAL units and STAP-A: the frame's first is the lowest seq

    def _is_keyframe(self, payload: bytes) -> bool:
        return vp8_is_keyframe(payload) if self.codec == VP8 else h264_is_keyframe(payload)

    def _complete(self, pending: _Pending) -> bool:
        if pending.end is None:
            return False
        if self.codec == H264:
            pending.start = min(pending.packets)
        if pending.start is None:
            return False
        span = pending.end - pending.start + 1
        if not 0 < span <= min(len(pending.packets), MAX_FRAME_PACKETS):
            return False  # some packet is still missing (or the frame is not real)
        return all(s in pending.packets for s in range(pending.start, pending.end + 1))

    def _collect(self) -> list[Frame]:
        out: list[Frame] = []
        while self._order:
            oldest = self._order[0]
            pending = self._pending[oldest]
            if self._complete(pending):
                self._order.pop(0)
                del self._pending[oldest]
                assert pending.start is not None and pending.end is not None
                self._last_emitted_seq = pending.end
                if self._need_keyframe and not pending.keyframe:
                    self.dropped_frames += 1
                    continue
                self._need_keyframe = False
                out.append(Frame(oldest, self._depayload(pending), pending.keyframe))
                continue
            if len(self._order) > MAX_PENDING_FRAMES:
                # Waited long enough for the missing packet: give this frame up,
                # and everything that depends on it.
                self._order.pop(0)
                del self._pending[oldest]
                self._abandoned.append(oldest)
                self.dropped_frames += 1
                self._need_keyframe = True
                continue
            break
        return out

    def _depayload(self, pending: _Pending) -> bytes:
        assert pending.start is not None and pending.end is not None
        parts = [pending.packets[s] for s in range(pending.start, pending.end + 1)]
        if self.codec == VP8:
            return b"".join(vp8_depayload(p) for p in parts)
        return b"".join(h264_depayload(p) for p in parts)


def vp8_dimensions(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 9.1), or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = (frame[6] | (frame[7] << 8)) & 0x3FFF
    height = (frame[8] | (frame[9] << 8)) & 0x3FFF
    return (width, height) if width and height else None
