"""The selective forwarding unit: encoded media in, encoded media out.

Everything that enters is a :class:`Source` of encoded RTP packets (a browser
or WHIP publisher today; a camera or another node later). Everything that
leaves is a :class:`Sink`. A subscriber's slot (:class:`conference.slot.Slot`)
is a sink that rewrites each packet's header (SSRC, payload type, sequence
number, timestamp, header extensions) for its own stream and sends it straight
away: nothing on this path decodes, re-encodes or waits for a whole frame.

The module is plain asyncio objects. It knows nothing of HTTP, rooms or
storage, and the only aiortc-specific code lives in
:mod:`conference.media` (the aiortc glue modules), behind :class:`RtpOutput`.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from conference.media import fast_send

logger = logging.getLogger(__name__)

KEYFRAME_REQUEST_INTERVAL = 1.0  # seconds; at most one request per source per interval
SPEECH_FLOOR_DBOV = 50  # RFC 6464 levels quieter than -50 dBov count as silence
ACTIVITY_ALPHA = 0.05  # per-packet weight of the speech activity average (~20 packets)
ACTIVITY_TIME_CONSTANT = 0.4  # seconds; how fast activity fades when packets stop
CLOCK_RATES = {"audio": 48000, "video": 90000}
# Simulcast layers by rid NAME, low -> high: a quarter, half and the full capture size.
RIDS = ("q", "h", "f")
SINGLE_LAYER = "f"  # the rid a single-layer source counts as
RATE_WINDOW = 1.0  # seconds a source's measured bitrate averages over
RTP_OVERHEAD_BYTES = 40  # per packet beyond its payload: RTP header, extensions, SRTP tag, UDP
# A packet's whole fan-out in one compiled call (conference/media/fast_send.py), or
# None: each sink's on_packet from Python. The same sinks, in the same order, either way.
COMPILED_FANOUT = fast_send.compiled_fanout()


def rid_rank(rid: str) -> int:
    """A layer's place from low (0) to high; an unknown name ranks below every known one."""
    return RIDS.index(rid) if rid in RIDS else -1


def sort_rids(rids: Iterable[str]) -> list[str]:
    """Known rids, each once, from low to high."""
    return sorted({r for r in rids if r in RIDS}, key=rid_rank)


def seq_newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number ``a`` comes after ``b`` (RFC 1982)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


@dataclass(slots=True)
class MediaPacket:
    """One RTP packet of a source, parsed once and shared by every sink."""

    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes
    keyframe: bool  # first packet of a keyframe (always True for audio)
    audio_level: int | None  # RFC 6464 byte: V bit << 7 | level in -dBov
    arrival: float  # time.monotonic() at arrival
    abs_send_time: bytes  # 3 bytes, our send time, computed once per packet
    ntp: int = 0  # NTP time of arrival, for RTCP sender reports


# Upper bounds (seconds) of the fan-out delay histogram's buckets.
FANOUT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class DelayHistogram:
    """How long received packets took from their arrival to the end of their fan-out.

    One observation per received packet that had a sink, taken after the
    last sink sent it: the SFU's own added latency for its last subscriber
    (the time a datagram waited in the kernel before the loop read it is
    not in it). Cumulative counts per :data:`FANOUT_BUCKETS` bound, as a
    Prometheus histogram.
    """

    def __init__(self) -> None:
        self.counts = [0] * (len(FANOUT_BUCKETS) + 1)  # the last: above every bound
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Count one delay."""
        self.counts[bisect.bisect_left(FANOUT_BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, cumulative count) for every bound and ``+Inf``."""
        out, running = [], 0
        for bound, count in zip([*map(str, FANOUT_BUCKETS), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


@dataclass
class SfuMetrics:
    """Counters exported at ``/metrics``; plain ints so the hot path stays cheap."""

    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0
    frames_out: int = 0
    keyframe_requests_sent: int = 0
    keyframe_requests_received: int = 0
    nacks_received: int = 0
    retransmissions: int = 0
    retransmissions_refused: int = 0  # asked for beyond a slot's retransmission budget
    packets_dropped: int = 0
    packets_oversized: int = 0  # larger than any datagram: dropped, logged
    dtls_failures: int = 0  # peer connections whose DTLS handshake failed (each logged)
    sources: int = 0
    slots: int = 0
    layer_switches: int = 0  # a slot moved from one layer of a camera to another
    packets_paced: int = 0  # video packets that waited in a thin link's pacer
    fanout: DelayHistogram = field(default_factory=DelayHistogram)


class Sink(Protocol):
    """Anything that consumes a source's packets: a slot, the recorder, a relay."""

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        """Take one packet. Must not block: it runs on the forwarding path."""

    def on_source_ended(self, source: Source) -> None:
        """The source will send nothing more."""


class RtpOutput(Protocol):
    """Where a slot's packets go: encryption and the network are behind this."""

    def send_rtp(self, data: bytes) -> bool:
        """Protect and send one plaintext RTP packet; False if it could not go out."""

    def send_rtcp(self, data: bytes) -> bool:
        """Protect and send one plaintext (compound) RTCP packet."""


class Source:
    """A stream of encoded media entering the SFU.

    ``request_keyframe`` is how sinks ask the publisher for a keyframe; the
    source throttles those requests to one per :data:`KEYFRAME_REQUEST_INTERVAL`
    and defers (never drops) a request that comes too soon, so a subscriber
    that attaches right after another still gets its keyframe.

    A simulcast camera has ``layers`` (rid -> layer Source, low to high): the
    camera itself receives no packets, its layers do, each with its own
    keyframe requests. Rooms keep handling the camera; a slot picks the layer.
    """

    def __init__(
        self,
        *,
        source_id: str,
        owner: str,
        kind: str,
        metrics: SfuMetrics,
        keyframe_requester: Callable[[], None] | None = None,
    ) -> None:
        if kind not in CLOCK_RATES:
            raise ValueError(f"unknown media kind {kind!r}")
        self.id = source_id
        self.owner = owner
        self.kind = kind
        self.codec = ""
        self.clock_rate = CLOCK_RATES[kind]
        self.metrics = metrics
        self.ended = False
        self.packets = 0
        self.bytes = 0
        # (publisher's wall clock in Unix seconds, RTP timestamp) of its latest
        # RTCP sender report: how its media time maps to real time.
        self.sender_report: tuple[float, int] | None = None
        self.keyframes = 0
        self.last_packet_at: float | None = None
        self.keyframe_requester = keyframe_requester
        self._last_keyframe_request = -KEYFRAME_REQUEST_INTERVAL
        self._deferred_request: asyncio.TimerHandle | None = None
        self._sinks: tuple[Sink, ...] = ()
        self._activity = 0.0
        self._activity_at: float | None = None
        self.rid = SINGLE_LAYER
        self.parent: Source | None = None  # the camera, for a layer Source
        self.layers: dict[str, Source] = {}
        self.layers_settled = True  # False from the offer that asks for layers to the answer
        self._rate_at: float | None = None
        self._rate_bytes = 0
        self._rate_bps: float | None = None

    def __repr__(self) -> str:
        return f"Source({self.id!r}, {self.kind}, {self.codec or '?'})"

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """The sinks attached now."""
        return self._sinks

    def add_sink(self, sink: Sink) -> None:
        """Start giving packets to ``sink``."""
        if sink not in self._sinks:
            # A new tuple instead of mutating: push() may be iterating the old one.
            self._sinks = (*self._sinks, sink)

    def remove_sink(self, sink: Sink) -> None:
        """Stop giving packets to ``sink``."""
        self._sinks = tuple(s for s in self._sinks if s is not sink)

    def add_layers(self, rids: Iterable[str]) -> dict[str, Source]:
        """Give this camera one layer Source per rid (ids ``"<owner>:video:<rid>"``)."""
        if self.kind != "video":
            raise ValueError("only a video source has layers")
        for rid in sort_rids(rids):
            if rid in self.layers:
                continue
            layer = self._new_layer(rid)
            layer.codec = self.codec
            layer.rid = rid
            layer.parent = self
            self.layers[rid] = layer
        # Low to high, whatever order they were added in (in place: others hold the dict).
        ordered = [(rid, self.layers[rid]) for rid in sort_rids(self.layers)]
        self.layers.clear()
        self.layers.update(ordered)
        return self.layers

    def _new_layer(self, rid: str) -> Source:
        """A layer of this camera (``add_layers`` sets its codec, rid and parent)."""
        return Source(
            source_id=f"{self.id}:{rid}", owner=self.owner, kind=self.kind, metrics=self.metrics
        )

    def keep_layers(self, rids: Iterable[str]) -> None:
        """Drop (and end) the layers not in ``rids``: the answer did not take them."""
        keep = set(rids)
        for rid in [r for r in self.layers if r not in keep]:
            self.layers.pop(rid).end()

    def wanted_layers(self) -> list[str]:
        """The rids that have a sink now (a slot forwarding or awaiting it, the recorder)."""
        if not self.layers:
            return [SINGLE_LAYER] if self._sinks else []
        return [rid for rid, layer in self.layers.items() if layer._sinks]

    def top_layer(self) -> Source:
        """The highest layer of a simulcast camera; the source itself if it has none."""
        if not self.layers:
            return self
        return next(reversed(self.layers.values()))

    def recording_layer(self) -> Source | None:
        """The layer a recording takes: the lowest of a simulcast camera, else its one stream.

        None while the answer has not said which layers come (the offer made
        them all; the answer may end some): a recorder on a layer that then
        ends would leave an empty track. A file is one continuous stream from
        the site's first frame, and only the lowest layer is sent from the
        start: a browser adds ``h`` and ``f`` as its uplink estimate grows (in
        the e2e recording test ``h`` began ~2.5 s late). Being a sink of it
        keeps that layer wanted, so the site never pauses it under a
        recording. Recording a higher layer needs the recorder to move up at
        a keyframe.
        """
        if not self.layers_settled:
            return None
        return next(iter(self.layers.values())) if self.layers else self

    def bitrate(self, now: float | None = None) -> float | None:
        """Bits per second received over about the last :data:`RATE_WINDOW`.

        None while it is not measured: no packet came within the window (a
        paused layer) or it only just resumed. Sampled when asked (the layer
        policy, twice a second), so the packet path pays nothing for it.
        """
        if now is None:
            now = time.monotonic()
        total = self.bytes + RTP_OVERHEAD_BYTES * self.packets
        last = self.last_packet_at
        if last is None or now - last > RATE_WINDOW:
            self._rate_at, self._rate_bytes, self._rate_bps = now, total, None
            return None
        if self._rate_at is None or now - self._rate_at > 2 * RATE_WINDOW:
            # The last sample is too old to say what it sends now: start again.
            self._rate_at, self._rate_bytes, self._rate_bps = now, total, None
            return None
        elapsed = now - self._rate_at
        if elapsed >= RATE_WINDOW / 2:
            rate = (total - self._rate_bytes) * 8 / elapsed
            self._rate_bps = rate if self._rate_bps is None else (self._rate_bps + rate) / 2
            self._rate_at, self._rate_bytes = now, total
        return self._rate_bps

    def push(self, packet: MediaPacket) -> None:
        """Hand one packet to every sink. This is the forwarding hot path."""
        self.packets += 1
        self.bytes += len(packet.payload)
        self.last_packet_at = packet.arrival
        metrics = self.metrics
        metrics.packets_in += 1
        metrics.bytes_in += len(packet.payload)
        if packet.audio_level is not None:
            loudness = SPEECH_FLOOR_DBOV - (packet.audio_level & 0x7F)
            self._activity = self.speech_activity(packet.arrival) * (1 - ACTIVITY_ALPHA) + (
                loudness * ACTIVITY_ALPHA if loudness > 0 else 0.0
            )
            self._activity_at = packet.arrival
        if self.kind == "video" and packet.keyframe:
            self.keyframes += 1
            if self._deferred_request is not None:
                # This keyframe answers the request we were about to send.
                self._deferred_request.cancel()
                self._deferred_request = None
        sinks = self._sinks
        if sinks:
            fanout = COMPILED_FANOUT
            if fanout is not None:
                fanout(sinks, self, packet)
            else:
                for sink in sinks:
                    sink.on_packet(self, packet)
            metrics.fanout.observe(time.monotonic() - packet.arrival)

    def speech_activity(self, now: float | None = None) -> float:
        """How much this audio source is speaking now, 0 (silent) up to 50.

        An exponential average of how far each packet's RFC 6464 level is above
        the speech floor (-50 dBov), decayed over time without packets (DTX, a
        muted microphone), so the SFU never decodes audio to find the speaker.
        """
        if self._activity_at is None:
            return 0.0
        if now is None:
            now = time.monotonic()
        idle = now - self._activity_at
        if idle <= 0:
            return self._activity
        return self._activity * math.exp(-idle / ACTIVITY_TIME_CONSTANT)

    def hear_activity(self, level: float, now: float) -> None:
        """Take ``level`` as this source's speech activity now (measured where it is published).

        A source relayed from another instance is announced there (the cascade),
        so every copy of a meeting ranks its speakers from the same numbers
        whether or not the stream crosses the link.
        """
        self._activity = level
        self._activity_at = now

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, throttled and deferred."""
        if self.layers:
            # A camera: each layer that someone takes asks its own encoder.
            for layer in self.layers.values():
                if layer._sinks:
                    layer.request_keyframe()
            return
        if self.kind != "video" or self.ended or self.keyframe_requester is None:
            return
        now = time.monotonic()
        wait = self._last_keyframe_request + KEYFRAME_REQUEST_INTERVAL - now
        if wait <= 0:
            self._send_keyframe_request(now)
        elif self._deferred_request is None:
            loop = asyncio.get_running_loop()
            self._deferred_request = loop.call_later(wait, self._deferred_keyframe_request)

    def _deferred_keyframe_request(self) -> None:
        self._deferred_request = None
        if not self.ended:
            self._send_keyframe_request(time.monotonic())

    def _send_keyframe_request(self, now: float) -> None:
        self._last_keyframe_request = now
        self.metrics.keyframe_requests_sent += 1
        assert self.keyframe_requester is not None
        try:
            self.keyframe_requester()
        except Exception:  # a dying publisher must not break its subscribers
            logger.exception("keyframe request to %s failed", self.id)

    def end(self) -> None:
        """The publisher is gone: tell every sink, then forget them."""
        if self.ended:
            return
        self.ended = True
        if self._deferred_request is not None:
            self._deferred_request.cancel()
            self._deferred_request = None
        for layer in self.layers.values():
            layer.end()
        for sink in self._sinks:
            sink.on_source_ended(self)
        self._sinks = ()
