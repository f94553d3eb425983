"""The selective forwarding unit: encoded media in, encoded media out.

Everything that enters is a :class:`Source` of encoded RTP packets (a browser
or WHIP publisher today; a camera or another node later). Everything that
leaves is a :class:`Sink`. A subscriber's :class:`Slot` is a sink that rewrites
each packet's header (SSRC, payload type, sequence number, timestamp, header
extensions) for its own stream and sends it straight away: nothing on this
path decodes, re-encodes or waits for a whole frame.

The module is plain asyncio objects. It knows nothing of HTTP, rooms or
storage, and the only aiortc-specific code lives in
:mod:`conference.media` (the aiortc glue modules), behind :class:`RtpOutput`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from conference.media.codecs import VP8, rewrite_vp8_picture_id, vp8_picture_state
from conference.media.history import SendHistory
from conference.media.ntp import ntp_now
from conference.media.rtcp import build_sdes, build_sender_report

logger = logging.getLogger(__name__)

KEYFRAME_REQUEST_INTERVAL = 1.0  # seconds; at most one request per source per interval
# Retransmissions a slot may send: a burst of a whole send history, then this
# many per second (a 2.5 Mbit/s stream losing a third of its packets needs
# ~100). A subscriber's NACKs must not turn the server into an amplifier.
RETRANSMIT_BURST = 512
RETRANSMIT_PER_SECOND = 400.0
SPEECH_FLOOR_DBOV = 50  # RFC 6464 levels quieter than -50 dBov count as silence
ACTIVITY_ALPHA = 0.05  # per-packet weight of the speech activity average (~20 packets)
ACTIVITY_TIME_CONSTANT = 0.4  # seconds; how fast activity fades when packets stop
CLOCK_RATES = {"audio": 48000, "video": 90000}

_RTP_HEADER = struct.Struct("!BBHII")


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
        for sink in self._sinks:
            sink.on_packet(self, packet)

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

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, throttled and deferred."""
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
        for sink in self._sinks:
            sink.on_source_ended(self)
        self._sinks = ()


@dataclass
class SlotConfig:
    """What negotiation decided for one subscriber stream."""

    ssrc: int
    payload_type: int
    rtx_ssrc: int | None = None
    rtx_payload_type: int | None = None
    audio_level_id: int | None = None
    abs_send_time_id: int | None = None


@dataclass
class ReceptionReport:
    """The latest RTCP receiver report about a slot, for connection quality."""

    fraction_lost: float = 0.0
    packets_lost: int = 0
    jitter: int = 0
    round_trip_time: float | None = None
    remb_bitrate: int | None = None
    updated_at: float = field(default_factory=time.monotonic)


class Slot:
    """One receive slot of a subscriber: a fixed outgoing stream whose source can change.

    The subscriber sees one SSRC with continuous sequence numbers and
    timestamps whichever site currently feeds it, so switching the active
    speaker needs no renegotiation. A video slot that gets a new source waits
    for that source's next keyframe (and asks for it) before forwarding.
    """

    def __init__(
        self, name: str, kind: str, metrics: SfuMetrics, output: RtpOutput | None = None
    ) -> None:
        if kind not in CLOCK_RATES:
            raise ValueError(f"unknown media kind {kind!r}")
        self.name = name
        self.kind = kind
        self.metrics = metrics
        self.clock_rate = CLOCK_RATES[kind]
        self.output = output
        self.config: SlotConfig | None = None
        self.source: Source | None = None
        self.report = ReceptionReport()
        # Audio is not NACKed (no "nack" feedback is negotiated for Opus): no history.
        self.history: SendHistory | None = SendHistory() if kind == "video" else None
        # counters for RTCP sender reports and stats
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_rtp_timestamp = 0
        self.last_ntp = 0
        self.keyframe_waits = 0
        # forwarding state
        self._started_source = False  # offsets computed for the current source
        self._sent_any = False
        self._first_in_seq = 0
        self._seq_offset = 0
        self._ts_offset = 0
        self._max_out_seq = random.getrandbits(15)  # lower half: avoids SRTP rollover trouble
        self._max_out_ts = random.getrandbits(32)
        self._last_send = 0.0
        self._last_payload = b""
        self._pid_delta = 0
        self._tl0_delta = 0
        self._munge_picture_id = False
        self._rtx_seq = random.getrandbits(15)
        self._rtx_tokens = float(RETRANSMIT_BURST)
        self._rtx_refilled = time.monotonic()
        self._header_byte0 = 0x80
        self._pt = 0
        self._ssrc = 0
        self._audio_ext: list[bytes] = []
        self._video_ext_prefix = b""
        metrics.slots += 1

    def __repr__(self) -> str:
        return f"Slot({self.name!r}, source={self.source!r})"

    # -- negotiation and assignment -------------------------------------------------

    def configure(self, config: SlotConfig, output: RtpOutput) -> None:
        """Apply the negotiated parameters; packets flow once this is done."""
        self.config = config
        self.output = output
        self._pt = config.payload_type
        self._ssrc = config.ssrc
        if self.kind == "audio" and config.audio_level_id is not None:
            prefix = bytes((0xBE, 0xDE, 0x00, 0x01, config.audio_level_id << 4))
            # 256 possible level bytes: build each extension block once.
            self._audio_ext = [prefix + bytes((v, 0, 0)) for v in range(256)]
        if self.kind == "video" and self.source is not None:
            # Ask now that packets can flow: a keyframe that came while the
            # subscriber was still connecting went nowhere.
            self._started_source = False
            self.source.request_keyframe()
        if self.kind == "video" and config.abs_send_time_id is not None:
            self._video_ext_prefix = bytes(
                (0xBE, 0xDE, 0x00, 0x01, (config.abs_send_time_id << 4) | 2)
            )

    def assign(self, source: Source | None) -> bool:
        """Feed this slot from ``source`` (None empties it); True if it changed."""
        if source is self.source:
            return False
        if source is not None and source.kind != self.kind:
            raise ValueError(f"cannot put a {source.kind} source in {self.kind} slot {self.name}")
        if self.source is not None:
            self.source.remove_sink(self)
        self.source = source
        self._started_source = False
        if source is not None:
            source.add_sink(self)
            if self.kind == "video" and self.output is not None and self.config is not None:
                source.request_keyframe()  # else configure() asks, once packets can flow
        return True

    def close(self) -> None:
        """Detach from the source; the slot sends nothing more."""
        if self.source is not None:
            self.source.remove_sink(self)
            self.source = None
        self.output = None
        self.metrics.slots -= 1

    # -- Sink -----------------------------------------------------------------------

    def on_source_ended(self, source: Source) -> None:
        if source is self.source:
            self.source = None
            self._started_source = False

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        output = self.output
        if source is not self.source:
            return
        if output is None or self.config is None:
            self.metrics.packets_dropped += 1  # the subscriber is still connecting
            return
        if not self._started_source:
            if not packet.keyframe:
                # A decoder cannot start mid-GOP: wait, and make sure we asked.
                self.keyframe_waits += 1
                self.metrics.packets_dropped += 1
                source.request_keyframe()
                return
            self._start_source(source, packet)
        elif (packet.sequence_number - self._first_in_seq) & 0xFFFF >= 0x8000:
            # Sent before the point we switched at: its output number is taken.
            return

        out_seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
        out_ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        if self._munge_picture_id and payload:
            payload = rewrite_vp8_picture_id(payload, self._pid_delta, self._tl0_delta)

        if self._video_ext_prefix:
            ext = self._video_ext_prefix + packet.abs_send_time
        elif self._audio_ext and packet.audio_level is not None:
            ext = self._audio_ext[packet.audio_level]
        else:
            ext = b""
        header = _RTP_HEADER.pack(
            0x90 if ext else 0x80,
            (packet.marker << 7) | self._pt,
            out_seq,
            out_ts,
            self._ssrc,
        )
        if self.history is not None:
            self.history.put(out_seq, out_ts, packet.marker, ext, payload)
        if not output.send_rtp(header + ext + payload):
            self.metrics.packets_dropped += 1
            return

        if 0 < (out_seq - self._max_out_seq) & 0xFFFF < 0x8000:
            self._max_out_seq = out_seq
        if 0 < (out_ts - self._max_out_ts) & 0xFFFFFFFF < 0x80000000 or not self._sent_any:
            self._max_out_ts = out_ts
            self.last_rtp_timestamp = out_ts
            self.last_ntp = packet.ntp or ntp_now()
        self._sent_any = True
        self._last_send = packet.arrival
        self._last_payload = payload
        self.packets_sent += 1
        self.octets_sent += len(payload)
        metrics = self.metrics
        metrics.packets_out += 1
        metrics.bytes_out += 12 + len(ext) + len(payload)
        if packet.marker and self.kind == "video":
            metrics.frames_out += 1

    def _start_source(self, source: Source, packet: MediaPacket) -> None:
        """Compute the offsets that splice ``source`` onto this slot's stream."""
        self._first_in_seq = packet.sequence_number
        self._seq_offset = (self._max_out_seq + 1 - packet.sequence_number) & 0xFFFF
        if self._sent_any:
            elapsed = max(packet.arrival - self._last_send, 0.001)
            gap = max(1, int(elapsed * self.clock_rate))
        else:
            gap = 0
        self._ts_offset = (self._max_out_ts + gap - packet.timestamp) & 0xFFFFFFFF
        self._munge_picture_id = False
        self._pid_delta = self._tl0_delta = 0
        if source.codec == VP8 and self._sent_any and self._last_payload:
            last_pid, bits, last_tl0 = vp8_picture_state(self._last_payload)
            pid, new_bits, tl0 = vp8_picture_state(packet.payload)
            if last_pid is not None and pid is not None and bits == new_bits:
                self._pid_delta = last_pid + 1 - pid
            if last_tl0 is not None and tl0 is not None:
                self._tl0_delta = last_tl0 + 1 - tl0
            self._munge_picture_id = bool(self._pid_delta or self._tl0_delta)
        self._started_source = True

    # -- feedback from the subscriber -----------------------------------------------

    def handle_nack(self, lost: list[int]) -> None:
        """Resend what the subscriber lost, as RTX when it was negotiated."""
        self.metrics.nacks_received += 1
        output, config = self.output, self.config
        if output is None or config is None:
            return
        history = self.history
        if history is None:
            return
        now = time.monotonic()
        tokens = min(
            float(RETRANSMIT_BURST),
            self._rtx_tokens + (now - self._rtx_refilled) * RETRANSMIT_PER_SECOND,
        )
        self._rtx_refilled = now
        # Each number once, and no more of them than the history could hold.
        wanted = list(dict.fromkeys(lost[: 2 * RETRANSMIT_BURST]))[:RETRANSMIT_BURST]
        for index, seq in enumerate(wanted):
            if tokens < 1.0:
                self.metrics.retransmissions_refused += len(wanted) - index
                break
            entry = history.get(seq)
            if entry is None:
                continue
            tokens -= 1.0
            timestamp, marker, ext, payload = entry
            flags = 0x90 if ext else 0x80
            if config.rtx_payload_type is not None and config.rtx_ssrc is not None:
                # RFC 4588: RTX SSRC and sequence, same timestamp, original seq first.
                data = (
                    _RTP_HEADER.pack(
                        flags,
                        (marker << 7) | config.rtx_payload_type,
                        self._rtx_seq,
                        timestamp,
                        config.rtx_ssrc,
                    )
                    + ext
                    + seq.to_bytes(2, "big")
                    + payload
                )
                self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            else:
                data = _RTP_HEADER.pack(flags, (marker << 7) | self._pt, seq, timestamp, self._ssrc)
                data += ext + payload
            if output.send_rtp(data):
                self.metrics.retransmissions += 1
        self._rtx_tokens = tokens

    def handle_keyframe_request(self) -> None:
        """The subscriber lost a picture: pass the request on to the source."""
        self.metrics.keyframe_requests_received += 1
        if self.source is not None:
            self.source.request_keyframe()


class Subscription:
    """The slots of one subscriber and the RTCP sender reports that describe them."""

    def __init__(self, slots: list[Slot], cname: str) -> None:
        self.slots = slots
        self.cname = cname
        self._reporter: asyncio.Task[None] | None = None

    def start_reports(self, send_rtcp: Callable[[bytes], bool], interval: float = 1.0) -> None:
        """Send SR + SDES for every active slot about once per ``interval``."""
        if self._reporter is None:
            self._reporter = asyncio.ensure_future(self._report_loop(send_rtcp, interval))

    async def _report_loop(self, send_rtcp: Callable[[bytes], bool], interval: float) -> None:
        try:
            while True:
                # RFC 3550 6.2: randomise the interval to avoid synchronised bursts.
                await asyncio.sleep(interval * (0.5 + random.random()))
                packet = self.sender_reports()
                if packet:
                    send_rtcp(packet)
        except asyncio.CancelledError:
            pass

    def sender_reports(self) -> bytes:
        """One compound RTCP packet: an SR and an SDES CNAME per active slot."""
        out = b""
        for slot in self.slots:
            if slot.config is None or not slot.packets_sent:
                continue
            out += build_sender_report(
                slot.config.ssrc,
                slot.last_ntp,
                slot.last_rtp_timestamp,
                slot.packets_sent,
                slot.octets_sent,
            )
            out += build_sdes(slot.config.ssrc, self.cname)
        return out

    def close(self) -> None:
        """Stop reporting and detach every slot."""
        if self._reporter is not None:
            self._reporter.cancel()
            self._reporter = None
        for slot in self.slots:
            slot.close()
