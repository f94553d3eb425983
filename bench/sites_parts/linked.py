"""A site behind an emulated link, as a browser behaves for the server.

Everything the site sends goes through the uplink's :class:`LinkPipe` and
everything it receives through the downlink's, and the site then acts on the
*emulated* arrival times, as Chrome would on a real commune link:

* **receiver reports** with the loss it saw and the RFC 3550 interarrival
  jitter (the site's RR builder reads :attr:`LinkedStream.jitter`);
* **NACK** for each video packet missing from a slot's sequence, again
  after each RETRY_S while it stays missing (up to NACK_TRIES), and the RTX
  answers put back in place (their original sequence number is the first two
  bytes of the decrypted payload);
* **REMB** from aiortc's own ``RemoteBitrateEstimator`` fed with each video
  packet's abs-send-time and its emulated arrival, so the server's layer
  policy sees a real estimate of this link;
* **PLI** when a frame of a slot cannot be completed (a packet still missing
  a jitter buffer's wait later), once a second at most, as a decoder that
  lost its reference asks.

It also measures what a person at that site sees: the main slot's decodable
frames per second (complete, and with every frame since the last keyframe
complete) and the audio gaps (more than GAP_S between two speech packets of
one audio slot).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sites_parts.link import LinkDirection, LinkPipe, LinkSpec

NACK_TRIES = 5
RETRY_S = 0.2  # re-NACK after about an RTT and a half on the commune link
FRAME_WAIT_S = 0.6  # how long a frame may wait for its missing packets (a jitter buffer)
PLI_INTERVAL_S = 1.0
GAP_S = 0.1  # an audio gap: no speech packet for longer than this within a talk spurt
SPEECH_BYTES = 20  # an Opus payload longer than this is speech (silence/DTX frames are 1-3 B)
AUDIO_CLOCK = 48000
VIDEO_CLOCK = 90000
_NACK_HEADER = struct.Struct("!BBHII")


@dataclass
class LinkedStream:
    """What a linked site tracks on one slot (SSRC) besides the counting."""

    ssrc: int
    slot: str
    kind: str
    clock: int
    max_seq: int = -1  # highest sequence number, unwrapped
    jitter: float = 0.0  # RFC 3550 interarrival jitter, in RTP units
    last_transit: float | None = None
    missing: dict[int, list[float]] = field(default_factory=dict)  # seq -> [asked at, tries]
    recovered: int = 0
    # frames waiting to be judged: (first seq, marker seq, keyframe, marker arrival)
    frames: list[tuple[int, int, bool, float]] = field(default_factory=list)
    frame_first: int | None = None
    frame_key: bool = False
    chain_ok: bool = False  # every frame since the last keyframe was complete
    decodable: list[float] = field(default_factory=list)  # arrival of each decodable frame
    broken_frames: int = 0
    last_pli: float = 0.0
    last_speech: tuple[float, int] | None = None  # (arrival, RTP timestamp)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (arrival, seconds > GAP_S)


class LinkedSite:
    """The link of one site (both directions) and the browser-like behaviour behind it."""

    def __init__(
        self,
        spec: LinkSpec,
        send_rtp: Callable[[bytes], Any],
        send_rtcp: Callable[[bytes], Any],
        receive: Callable[[bytes, float], None],
        rng: Any = None,
    ) -> None:
        from aiortc.rate import RemoteBitrateEstimator

        self.spec = spec

        def out(data: bytes, _arrival: float) -> None:
            # Plain RTP or RTCP: protected when it leaves the link, in order.
            (send_rtcp if 191 < data[1] < 224 else send_rtp)(data)

        self.up = LinkPipe(LinkDirection(spec, rng), out)
        self.down = LinkPipe(LinkDirection(spec, rng), receive)
        self.estimator = RemoteBitrateEstimator()
        self.streams: dict[int, LinkedStream] = {}
        self.rtx_to_media: dict[int, int] = {}
        self.remb_sent = 0
        self.remb_last_bps: int | None = None
        self.nacks_sent = 0
        self.plis_sent = 0
        self.reporter_ssrc = 1

    def stream(self, ssrc: int, slot: str, kind: str) -> LinkedStream:
        """The tracking of slot ``ssrc`` (made on its first packet)."""
        tracked = self.streams.get(ssrc)
        if tracked is None:
            clock = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
            tracked = self.streams[ssrc] = LinkedStream(ssrc, slot, kind, clock)
        return tracked

    # -- per packet (decrypted, at its emulated arrival) ---------------------------

    def on_media(
        self, tracked: LinkedStream, plain: bytes, arrival: float, keyframe_start: bool
    ) -> None:
        """A media packet of a slot: loss, jitter, NACK, REMB, frames, audio gaps."""
        seq = (plain[2] << 8) | plain[3]
        timestamp = int.from_bytes(plain[4:8], "big")
        transit = arrival * tracked.clock - timestamp
        if tracked.last_transit is not None:
            d = abs(transit - tracked.last_transit)
            if d < tracked.clock:  # not a source change (a jump of a second or more)
                tracked.jitter += (d - tracked.jitter) / 16
        tracked.last_transit = transit
        if tracked.max_seq < 0:
            tracked.max_seq = seq
        else:
            delta = (seq - tracked.max_seq) & 0xFFFF
            if 0 < delta < 0x8000:
                if tracked.kind == "video" and 1 < delta < 200:
                    lost = [(tracked.max_seq + i) & 0xFFFF for i in range(1, delta)]
                    for s in lost:
                        tracked.missing[s] = [arrival, 1]
                    self.send_nack(tracked.ssrc, lost)
                tracked.max_seq += delta
            else:
                tracked.missing.pop(seq, None)  # late, not lost
        payload_start, abs_send_time = _payload_start(plain, self.abs_send_time_id)
        if tracked.kind == "video":
            if abs_send_time is not None:
                size = len(plain) - payload_start
                result = self.estimator.add(int(arrival * 1000), abs_send_time, size, tracked.ssrc)
                if result is not None:
                    self.send_remb(*result)
            self._frame_packet(tracked, seq, plain[1] & 0x80, keyframe_start, arrival)
        elif len(plain) - payload_start > SPEECH_BYTES:
            last = tracked.last_speech
            if last is not None:
                gap = arrival - last[0]
                if gap > GAP_S and (timestamp - last[1]) & 0xFFFFFFFF < AUDIO_CLOCK:
                    tracked.gaps.append((arrival, gap))
            tracked.last_speech = (arrival, timestamp)

    def on_rtx(self, rtx_ssrc: int, plain: bytes, arrival: float) -> LinkedStream | None:
        """A retransmission: its original packet is no longer missing (the stream, if it was)."""
        tracked = self.streams.get(self.rtx_to_media.get(rtx_ssrc, -1))
        start, _ = _payload_start(plain, None)
        if tracked is None or len(plain) < start + 2:
            return None
        original = int.from_bytes(plain[start : start + 2], "big")
        if tracked.missing.pop(original, None) is None:
            return None
        tracked.recovered += 1
        return tracked

    def _frame_packet(
        self, tracked: LinkedStream, seq: int, marker: int, key: bool, arrival: float
    ) -> None:
        if tracked.frame_first is None:
            tracked.frame_first, tracked.frame_key = seq, key
        if marker:
            tracked.frames.append((tracked.frame_first, seq, tracked.frame_key, arrival))
            tracked.frame_first = None

    # -- on a timer --------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Re-NACK what is still missing; judge the frames whose wait is over."""
        for tracked in self.streams.values():
            again = []
            for seq, asked in list(tracked.missing.items()):
                if now - asked[0] > FRAME_WAIT_S + RETRY_S * NACK_TRIES:
                    del tracked.missing[seq]  # given up: the frame is judged broken already
                elif now - asked[0] > RETRY_S * asked[1] and asked[1] < NACK_TRIES:
                    asked[1] += 1
                    again.append(seq)
            if again:
                self.send_nack(tracked.ssrc, again)
            self._judge_frames(tracked, now)

    def _judge_frames(self, tracked: LinkedStream, now: float) -> None:
        done = 0
        for first, last, key, arrival in tracked.frames:
            if now - arrival < FRAME_WAIT_S:
                break
            done += 1
            complete = not any(
                (first + i) & 0xFFFF in tracked.missing
                for i in range(((last - first) & 0xFFFF) + 1)
            )
            if key:
                tracked.chain_ok = complete
            elif not complete:
                tracked.chain_ok = False
            if tracked.chain_ok:
                tracked.decodable.append(arrival)
            else:
                tracked.broken_frames += 1
                if now - tracked.last_pli > PLI_INTERVAL_S:
                    tracked.last_pli = now
                    self.send_pli(tracked.ssrc)
        del tracked.frames[:done]

    # -- feedback out ------------------------------------------------------------

    abs_send_time_id: int | None = None

    def send_nack(self, media_ssrc: int, lost: list[int]) -> None:
        """Generic NACK (RFC 4585) for ``lost``, through the uplink."""
        fci = b""
        lost = sorted(set(lost), key=lambda s: (s - lost[0]) & 0xFFFF)
        i = 0
        while i < len(lost):
            pid, blp = lost[i], 0
            i += 1
            while i < len(lost) and 0 < (lost[i] - pid) & 0xFFFF <= 16:
                blp |= 1 << (((lost[i] - pid) & 0xFFFF) - 1)
                i += 1
            fci += struct.pack("!HH", pid, blp)
        length = 2 + len(fci) // 4
        self.up.push(_NACK_HEADER.pack(0x81, 205, length, self.reporter_ssrc, media_ssrc) + fci)
        self.nacks_sent += 1

    def send_pli(self, media_ssrc: int) -> None:
        """Picture loss indication for one slot, through the uplink."""
        self.up.push(_NACK_HEADER.pack(0x81, 206, 2, self.reporter_ssrc, media_ssrc))
        self.plis_sent += 1

    def send_remb(self, bitrate: int, ssrcs: list[int]) -> None:
        """REMB (draft-alvestrand-rmcat-remb) with aiortc's estimate, through the uplink."""
        from aiortc.rtp import pack_remb_fci

        fci = pack_remb_fci(bitrate, ssrcs)
        length = 2 + len(fci) // 4
        self.up.push(_NACK_HEADER.pack(0x8F, 206, length, self.reporter_ssrc, 0) + fci)
        self.remb_sent += 1
        self.remb_last_bps = bitrate

    def window(self, start: float, end: float) -> dict[str, Any]:
        """What a person at this site saw between ``start`` and ``end`` (wall time)."""
        seconds = max(1e-3, end - start)
        main = [t for t in self.streams.values() if t.slot == "main" and t.kind == "video"]
        frames = sum(1 for t in main for at in t.decodable if start <= at < end)
        gaps = [g for t in self.streams.values() for at, g in t.gaps if start <= at < end]
        return {
            "main_fps": round(frames / seconds, 1),
            "main_broken_frames": sum(t.broken_frames for t in main),
            "audio_gaps": len(gaps),
            "audio_gap_max_ms": round(max(gaps) * 1000) if gaps else 0,
            **self.counters(),
        }

    def close(self) -> None:
        """Drop what is in flight both ways."""
        self.up.close()
        self.down.close()

    def counters(self) -> dict[str, Any]:
        """The link's and the feedback's counters."""
        return {
            "up": self.up.direction.counters(),
            "down": self.down.direction.counters(),
            "remb_sent": self.remb_sent,
            "remb_last_kbps": None if self.remb_last_bps is None else self.remb_last_bps // 1000,
            "nacks_sent": self.nacks_sent,
            "plis_sent": self.plis_sent,
            "recovered": sum(t.recovered for t in self.streams.values()),
        }


def _payload_start(plain: bytes, abs_send_time_id: int | None) -> tuple[int, int | None]:
    """Where an RTP packet's payload starts, and its abs-send-time (if ``abs_send_time_id``)."""
    start = 12 + 4 * (plain[0] & 0x0F)
    value = None
    if plain[0] & 0x10:
        words = int.from_bytes(plain[start + 2 : start + 4], "big")
        end = start + 4 + 4 * words
        if abs_send_time_id is not None and plain[start : start + 2] == b"\xbe\xde":
            pos = start + 4
            while pos < end:
                byte = plain[pos]
                if byte == 0:
                    pos += 1
                    continue
                ext_id, size = byte >> 4, (byte & 0x0F) + 1
                if ext_id == abs_send_time_id and size == 3:
                    value = int.from_bytes(plain[pos + 1 : pos + 4], "big")
                    break
                pos += 1 + size
        start = end
    return start, value
