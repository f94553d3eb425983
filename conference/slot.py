"""A subscriber's slots: fixed outgoing streams whose source can change.

A :class:`Slot` is the :class:`~conference.sfu.Sink` that rewrites each
packet's header (SSRC, payload type, sequence number, timestamp, header
extensions) for its subscriber's stream and sends it straight away through its
:class:`~conference.sfu.RtpOutput`; it answers NACKs from its send history and
passes keyframe requests on to its source. A :class:`Subscription` is one
subscriber's slots and the RTCP sender reports that describe them.

Part of the media plane, as :mod:`conference.sfu` is: plain asyncio objects,
nothing of HTTP, rooms or storage.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from conference.layer_policy import (
    FULL,
    HALF,
    NOMINAL_BPS,
    LinkView,
    PolicyState,
    SlotView,
    choose,
)
from conference.media import fast_send
from conference.media.codecs import (
    VP8,
    rewrite_vp8_picture_id,
    vp8_picture_state,
    vp8_temporal,
)
from conference.media.history import SendHistory
from conference.media.ntp import abs_send_time_now, ntp_now
from conference.media.pacer import PACE_BELOW_BPS, PACE_FACTOR, Pacer
from conference.media.rtcp import build_sdes, build_sender_report
from conference.sfu import (
    CLOCK_RATES,
    RIDS,
    MediaPacket,
    RtpOutput,
    SfuMetrics,
    Source,
    rid_rank,
)

# Retransmissions a slot may send: a burst of a whole send history, then this
# many per second (a 2.5 Mbit/s stream losing a third of its packets needs
# ~100). A subscriber's NACKs must not turn the server into an amplifier.
RETRANSMIT_BURST = 512
RETRANSMIT_PER_SECOND = 400.0

_RTP_HEADER = struct.Struct("!BBHII")
# The header with one RFC 8285 one-byte extension block of one word: the
# "BEDE" profile, length 1, then the element (id << 4 | len - 1, value,
# padding) as one 32-bit word. A video slot's element is abs-send-time, our
# send time stamped per subscriber as it goes out: the subscriber's REMB
# estimator reads the spacing of what WE sent, and a packet's fan-out takes
# ~8 us per subscriber (1.5 ms to 190), in an order that changes as sinks come
# and go. An audio slot's element is the publisher's RFC 6464 level.
_EXT_HEADER = struct.Struct("!BBHIIII")
ONE_BYTE_ONE_WORD = 0xBEDE0001
LAYER_INTERVAL = 0.5  # seconds between two runs of the layer policy
# Whether each subscription runs the layer policy on its own (update_layers()
# also runs when called); off, slots keep main "h" and thumbnails "q".
ADAPTIVE_LAYERS = True
REPORT_FRESH = 3.0  # seconds a receiver report (and its REMB) counts as current
SENT_SMOOTHING = 2.0  # seconds over which what a subscription sends is averaged
# Whether a subscription on a thin downlink paces its video (conference.media.pacer);
# CONFERENCE_PACING=off turns it off, to measure what it changes.
PACING_ENV = "CONFERENCE_PACING"

# Temporal layer ids: every one forwarded (no reduction), and how far back the
# packets dropped for a reduced frame rate are remembered, to number a late
# packet as it would have been numbered in order.
ALL_TIDS = 7
DROP_MEMORY = 1024  # packets
DROPPED_FRAMES_MEMORY = 64

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    _SlotBase = object
else:
    # The compiled fan-out's fields (fast_send.slot_base), or object without it.
    _SlotBase = fast_send.slot_base()


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


def pick_layer(layers: dict[str, Source], ceiling: str) -> str | None:
    """The highest rid of ``layers`` not above ``ceiling``; else the lowest one there is."""
    if not layers:
        return None
    fitting = [rid for rid in layers if rid_rank(rid) <= rid_rank(ceiling)]
    return max(fitting, key=rid_rank) if fitting else min(layers, key=rid_rank)


class Slot(_SlotBase):
    """One receive slot of a subscriber: a fixed outgoing stream whose source can change.

    The subscriber sees one SSRC with continuous sequence numbers and
    timestamps whichever site currently feeds it, so switching the active
    speaker needs no renegotiation. A video slot that gets a new source waits
    for that source's next keyframe (and asks for it) before forwarding.

    ``source`` is what the room assigned; ``feed`` is the Source whose
    packets go out: the same for a single-layer source, one of its
    ``layers`` for a simulcast camera (the highest not above ``max_layer``
    and the layer policy's choice). A video slot that is already forwarding
    keeps forwarding its old feed until the new one (another layer, another
    speaker) sends a keyframe: the tile never freezes on a switch.

    :meth:`on_packet` is the forwarding path in Python; with the compiled
    module its steady state runs in C for a whole fan-out at once
    (:func:`conference.media.fast_send.compiled_fanout`), on the forwarding
    state kept in C fields of the base class (the same attributes).
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
        self.source: Source | None = None  # what the room assigned
        self.feed: Source | None = None  # what is forwarded (or awaited) now
        self.max_layer = RIDS[0] if name.startswith("thumb-") else RIDS[-1]
        # The layer policy's choice; until it has run, a middle ground for a large tile.
        self.target_layer = RIDS[0] if self.max_layer == RIDS[0] else RIDS[1]
        self.link_paused = False  # no layer fits the subscriber's downlink: nothing goes out
        # The frame rate the layer policy chose (FULL, HALF, BASE) and the highest
        # temporal layer id seen from the feed (0: none, or no T bit: cannot be reduced).
        self.rate = FULL
        self.temporal_layers = 0
        self.temporal_drops = 0  # packets not forwarded for a reduced frame rate
        self._tid_target = ALL_TIDS  # the highest TID wanted
        self._tid_max = ALL_TIDS  # the highest TID forwarded now (changes at safe frames)
        # Whether the temporal filter runs: a reduction is wanted or in force, or
        # drops are remembered. Off, on_packet pays for this one check.
        self._temporal = False
        self._frame_ts = -1  # timestamp of the newest frame the filter decided on
        self._frame_dropped = False
        self._filter_pos = -1  # position (see _in_ahead) of the newest packet filtered
        self._drop_positions: deque[int] = deque()
        self._dropped_frames: deque[int] = deque()  # their timestamps
        self.layer_switches = 0
        self._pending: Source | None = None  # the next feed, once it sends a keyframe
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
        # The current source's highest sequence number forwarded and how far it is
        # past the one we switched at: a packet further behind than that was sent
        # before the switch (its output number is taken). Counting the distance,
        # not comparing with the switch point, keeps this right after 32,768
        # packets of one source, when the numbers have gone half round.
        self._last_in_seq = 0
        self._in_ahead = 0
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
        self._video = kind == "video"
        # The extension's second word without its value (-1: no extension), and
        # whether that value is our send time (video) or the packet's audio level.
        self._ext_word = -1
        self._stamps = False
        self._send_parts: Callable[[bytes, bytes], bool] | None = None
        # Its subscription's pacer while the downlink is thin (video slots only).
        self.pacer: Pacer | None = None
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
        self._ext_word, self._stamps = -1, False
        if self.kind == "audio" and config.audio_level_id is not None:
            self._ext_word = config.audio_level_id << 28  # L=0: one byte, the level
        elif self.kind == "video" and config.abs_send_time_id is not None:
            self._ext_word = (config.abs_send_time_id << 28) | (2 << 24)  # L=2: three bytes
            self._stamps = True
        self._send_parts = _parts_sender(output)
        if self._pending is not None:
            # Nothing went out yet: no picture to hold on to while waiting.
            self._detach(self.feed)
            self.feed, self._pending = self._pending, None
        if self.kind == "video" and self.feed is not None:
            # Ask now that packets can flow: a keyframe that came while the
            # subscriber was still connecting went nowhere.
            self._started_source = False
            self.feed.request_keyframe()

    @property
    def layer(self) -> str | None:
        """The rid forwarded now ("f" for a single-layer source); None if nothing."""
        return self.feed.rid if self.feed is not None else None

    @property
    def withholds_for_link(self) -> bool:
        """Paused for the link with a source to show: what the roll call and /metrics count.

        A slot emptied while paused stays paused (its next source waits for the
        policy to step up rather than burst a keyframe into a thin link), but
        it withholds nothing until a source comes.
        """
        # A paused slot is no sink of its camera, so it is not told the camera ended
        # until the room reroutes: an ended source withholds nothing either.
        return self.link_paused and self.source is not None and not self.source.ended

    @property
    def pending_layer(self) -> str | None:
        """The rid this slot switches to at its next keyframe, if any."""
        return self._pending.rid if self._pending is not None else None

    def assign(self, source: Source | None) -> bool:
        """Feed this slot from ``source`` (None empties it); True if it changed."""
        if source is self.source:
            return False
        if source is not None and source.kind != self.kind:
            raise ValueError(f"cannot put a {source.kind} source in {self.kind} slot {self.name}")
        self.source = source
        self._retarget(self._choose_feed())
        return True

    def set_layer(self, rid: str | None, rate: int = FULL) -> bool:
        """The layer policy's choice: forward ``rid`` at frame rate ``rate`` (None: pause
        for the link); True if changed."""
        changed = (rid is None) != self.link_paused or (
            rid is not None and (rid != self.target_layer or rate != self.rate)
        )
        self.link_paused = rid is None
        if rid is not None:
            self.target_layer = rid
            self.set_rate(rate)
        self._retarget(self._choose_feed())
        return changed

    def set_rate(self, rate: int) -> None:
        """Forward every frame (FULL), about half (HALF) or the base layer only (BASE).

        A reduction takes effect at the next frame; going back up waits for a
        frame the higher layers may start at (TID 0, or the layer sync bit).
        """
        self.rate = rate
        if rate == FULL or self.kind != "video":
            target = ALL_TIDS
        elif rate == HALF and self.temporal_layers >= 2:
            target = 1
        else:
            target = 0
        self._tid_target = target
        if not self._temporal and target != self._tid_max:
            # The filter starts between two packets, maybe mid-frame: the frame
            # that is going out goes out whole, the next one is the first it decides.
            self._temporal = True
            self._frame_ts = (self._max_out_ts - self._ts_offset) & 0xFFFFFFFF
            self._frame_dropped = False
            self._filter_pos = self._in_ahead

    @property
    def forwarded_tid(self) -> int | None:
        """The highest temporal layer id forwarded now; None: all of them."""
        return None if self._tid_max >= ALL_TIDS else self._tid_max

    def sample_temporal(self) -> int:
        """The highest temporal layer id the feed sends, as far as seen; read from the
        last packet sent (the filter, when it runs, reads every frame)."""
        if self._last_payload and self.feed is not None and self.feed.codec == VP8:
            temporal = vp8_temporal(self._last_payload)
            if temporal is None:
                self.temporal_layers = 0
            elif temporal[0] > self.temporal_layers:
                self.temporal_layers = temporal[0]
        return self.temporal_layers

    def chosen_layer(self) -> str | None:
        """The rid this slot takes of its source now (None: no source, or paused)."""
        feed = self._choose_feed()
        return feed.rid if feed is not None else None

    def _choose_feed(self) -> Source | None:
        source = self.source
        if source is None or (self.link_paused and self.kind == "video"):
            return None
        if not source.layers:
            return source
        ceiling = min(self.target_layer, self.max_layer, key=rid_rank)
        rid = pick_layer(source.layers, ceiling)
        return source.layers[rid] if rid is not None else None

    def _retarget(self, feed: Source | None) -> None:
        """Forward ``feed`` from now on; a video slot that shows a picture switches at a keyframe."""
        if feed is not None and feed is self._pending:
            return
        if self._pending is not None:  # a newer choice replaces the one we waited for
            self._detach(self._pending)
            self._pending = None
        if feed is self.feed:
            return
        asks = self.kind == "video" and self.output is not None and self.config is not None
        if feed is None or self.feed is None or not self._started_source or self.kind != "video":
            # Nothing on screen worth keeping (or audio): switch now, as a new slot would.
            self._detach(self.feed)
            self.feed = feed
            self._started_source = False
            if feed is not None:
                feed.add_sink(self)
                if asks:
                    feed.request_keyframe()  # else configure() asks, once packets can flow
            return
        self._pending = feed
        feed.add_sink(self)
        if asks:
            feed.request_keyframe()  # a PLI to that layer's encoder only

    def _detach(self, source: Source | None) -> None:
        if source is not None:
            source.remove_sink(self)

    def close(self) -> None:
        """Detach from the source; the slot sends nothing more."""
        self._detach(self.feed)
        self._detach(self._pending)
        self.feed = self._pending = self.source = None
        self.output = None
        self._send_parts = None
        self.metrics.slots -= 1

    # -- Sink -----------------------------------------------------------------------

    def on_source_ended(self, source: Source) -> None:
        if source is self._pending:
            self._pending = None
        if source is self.feed:
            # The new feed (if we waited for one) starts at its keyframe, as a new slot would.
            self.feed, self._pending = self._pending, None
            self._started_source = False
        if self.source is not None and self.source.ended:
            self.source = None
        elif self.source is not None and source.parent is self.source and self.feed is None:
            # A layer the answer did not take: another layer of the same camera.
            self._retarget(self._choose_feed())

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        if source is not self.feed:
            if source is not self._pending or not packet.keyframe:
                return
            self._switch_to_pending(source)
        send = self._send_parts
        if send is None:
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
        else:
            delta = (packet.sequence_number - self._last_in_seq) & 0xFFFF
            if delta < 0x8000:
                self._in_ahead += delta
                self._last_in_seq = packet.sequence_number
            elif 0x10000 - delta > self._in_ahead:
                # Sent before the point we switched at: its output number is taken.
                return

        if self._temporal:
            forwarded = self._temporal_filter(packet)
            if forwarded is None:
                return
            out_seq, payload = forwarded
        else:
            out_seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
            payload = packet.payload
            if self._munge_picture_id and payload:
                payload = rewrite_vp8_picture_id(payload, self._pid_delta, self._tl0_delta)
        out_ts = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        marker = packet.marker
        ext_word = self._ext_word
        if ext_word < 0:  # no extension negotiated
            header = _RTP_HEADER.pack(0x80, (marker << 7) | self._pt, out_seq, out_ts, self._ssrc)
        elif self._stamps:
            # Our own send time, per subscriber (see _EXT_HEADER).
            header = _EXT_HEADER.pack(
                0x90,
                (marker << 7) | self._pt,
                out_seq,
                out_ts,
                self._ssrc,
                ONE_BYTE_ONE_WORD,
                ext_word | abs_send_time_now(),
            )
        elif packet.audio_level is not None:
            header = _EXT_HEADER.pack(
                0x90,
                (marker << 7) | self._pt,
                out_seq,
                out_ts,
                self._ssrc,
                ONE_BYTE_ONE_WORD,
                ext_word | (packet.audio_level << 16),
            )
        else:
            header = _RTP_HEADER.pack(0x80, (marker << 7) | self._pt, out_seq, out_ts, self._ssrc)
        history = self.history
        if history is not None:
            history.put(out_seq, out_ts, marker, payload)
        pacer = self.pacer
        if pacer is not None:
            # A thin downlink: video waits its turn; the stamp is rewritten on the way out.
            pacer.push(send, header, payload, ext_word if self._stamps else -1)
        elif not send(header, payload):
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
        size = len(payload)
        self.packets_sent += 1
        self.octets_sent += size
        metrics = self.metrics
        metrics.packets_out += 1
        metrics.bytes_out += len(header) + size
        if marker and self._video:
            metrics.frames_out += 1

    def _temporal_filter(self, packet: MediaPacket) -> tuple[int, bytes] | None:
        """A packet's output number and payload at a reduced frame rate; None: dropped.

        A dropped packet takes no output number (the offset moves back one), and
        a dropped frame no picture id, so the subscriber sees neither as loss. A
        late packet is numbered as it would have been in order: its number moves
        forward by the drops after it.
        """
        seq = packet.sequence_number
        position = self._in_ahead - ((self._last_in_seq - seq) & 0xFFFF)
        if position > self._filter_pos:
            self._filter_pos = position
            if packet.timestamp != self._frame_ts:
                self._decide_frame(packet)
            if self._frame_dropped:
                self._seq_offset = (self._seq_offset - 1) & 0xFFFF
                self._drop_positions.append(position)
                self.temporal_drops += 1
                return None
            drops = self._drop_positions
            while drops and position - drops[0] > DROP_MEMORY:
                drops.popleft()
            if not drops and self._tid_max == self._tid_target == ALL_TIDS:
                self._temporal = False  # nothing left to filter or to remember
                self._dropped_frames.clear()
            seq_shift = pid_shift = 0
        else:
            # Late (or a duplicate): its frame's fate was decided when it went by.
            ts = packet.timestamp
            if ts in self._dropped_frames:
                return None
            if self._filter_pos - position > DROP_MEMORY:
                return None  # too late to number rightly (and to be of use)
            drops = self._drop_positions
            seq_shift = sum(1 for dropped in drops if dropped > position)
            pid_shift = sum(
                1 for other in self._dropped_frames if 0 < (other - ts) & 0xFFFFFFFF < 0x80000000
            )
        out_seq = (seq + self._seq_offset + seq_shift) & 0xFFFF
        payload = packet.payload
        if self._munge_picture_id and payload:
            payload = rewrite_vp8_picture_id(payload, self._pid_delta + pid_shift, self._tl0_delta)
        return out_seq, payload

    def _decide_frame(self, packet: MediaPacket) -> None:
        """A new frame: change the temporal level if it is safe here, then keep or drop it."""
        self._frame_ts = packet.timestamp
        feed = self.feed
        temporal = vp8_temporal(packet.payload) if feed is not None and feed.codec == VP8 else None
        if temporal is None:
            # No temporal layers: nothing can be dropped (the policy pauses instead).
            self.temporal_layers = 0
            self._frame_dropped = False
            return
        tid, sync = temporal
        if tid > self.temporal_layers:
            self.temporal_layers = tid
        target = self._tid_target
        if target < self._tid_max:
            self._tid_max = target  # down: at any frame
        elif target > self._tid_max and (tid == 0 or (sync and tid <= target)):
            self._tid_max = target  # up: where the higher layers may start
        drop = tid > self._tid_max
        self._frame_dropped = drop
        if drop:
            self._pid_delta -= 1
            self._munge_picture_id = True
            frames = self._dropped_frames
            frames.append(packet.timestamp)
            if len(frames) > DROPPED_FRAMES_MEMORY:
                frames.popleft()

    def _switch_to_pending(self, source: Source) -> None:
        """The awaited feed sent a keyframe: splice it in, let the old one go."""
        old = self.feed
        self._detach(old)
        if old is not None and old.parent is not None and old.parent is source.parent:
            self.layer_switches += 1
            self.metrics.layer_switches += 1
        self.feed, self._pending = source, None
        self._started_source = False

    def _start_source(self, source: Source, packet: MediaPacket) -> None:
        """Compute the offsets that splice ``source`` onto this slot's stream."""
        self._last_in_seq = packet.sequence_number
        self._in_ahead = 0
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
        # A keyframe starts the new source: every temporal level may start here.
        self._tid_max = self._tid_target
        self._frame_ts = -1
        self._filter_pos = -1
        self._drop_positions.clear()
        self._dropped_frames.clear()
        self._temporal = self._tid_target != ALL_TIDS
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
        if self.link_paused:
            # Paused because the link cannot carry this video: resending it would fill
            # the link we just relieved, and the slot restarts at a keyframe anyway.
            self.metrics.retransmissions_refused += len(lost)
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
            timestamp, marker, payload = entry
            # A retransmission carries its own send time, as libwebrtc stamps it.
            ext = (
                ((ONE_BYTE_ONE_WORD << 32) | self._ext_word | abs_send_time_now()).to_bytes(
                    8, "big"
                )
                if self._stamps
                else b""
            )
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
        if self.feed is not None:
            self.feed.request_keyframe()
        if self._pending is not None:
            self._pending.request_keyframe()


class Subscription:
    """The slots of one subscriber, the RTCP sender reports that describe them,
    and the layer each video slot gets (:mod:`conference.layer_policy`)."""

    def __init__(self, slots: list[Slot], cname: str) -> None:
        self.slots = slots
        self.cname = cname
        self.downlink_bps: int | None = None  # the subscriber's REMB, once it sent one
        self.on_layers_changed: Callable[[], None] | None = None
        self.policy = PolicyState()
        # Whether the policy runs on its own every LAYER_INTERVAL (update_layers()
        # also runs when called); off: slots keep main "h", thumbnails "q".
        self.adaptive_layers = ADAPTIVE_LAYERS
        self._reporter: asyncio.Task[None] | None = None
        self._layers_task: asyncio.Task[None] | None = None
        self._sent_at: float | None = None
        self._sent_bytes = 0
        self._sent_bps = 0.0
        self._audio_bytes = 0  # the audio part of _sent_bytes
        self._audio_bps = 0.0  # the audio part of _sent_bps: what audio really costs
        self.pacing = os.environ.get(PACING_ENV, "on").strip().lower() not in ("off", "0", "no")
        self.pacer: Pacer | None = None  # while the downlink estimate is thin

    @property
    def layer_switches(self) -> int:
        """Switches from one layer of a camera to another, over all slots."""
        return sum(slot.layer_switches for slot in self.slots)

    def start_reports(self, send_rtcp: Callable[[bytes], bool], interval: float = 1.0) -> None:
        """Send SR + SDES for every active slot about once per ``interval``;
        run the layer policy every :data:`LAYER_INTERVAL`."""
        if self._reporter is None:
            self._reporter = asyncio.ensure_future(self._report_loop(send_rtcp, interval))
        if self._layers_task is None and self.adaptive_layers:
            self._layers_task = asyncio.ensure_future(self._layer_loop())

    async def _layer_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(LAYER_INTERVAL)
                try:
                    self.update_layers(time.monotonic())
                except Exception:  # a bug here must not stop the loop for good
                    logger.exception("layer policy failed for %s", self.cname)
        except asyncio.CancelledError:
            pass

    def update_layers(self, now: float) -> bool:
        """Run the layer policy once and apply it; True (and the callback) if anything changed."""
        link = self._link(now)
        video = sorted(
            (s for s in self.slots if s.kind == "video"),
            key=lambda s: (s.name != "main", len(s.name), s.name),  # main, thumb-1, thumb-2...
        )
        views = [
            SlotView(
                s.name,
                s.max_layer,
                _current(s),
                _layer_costs(s.source, now),
                pausable=s.source is not None and len(s.source.layers) > 1,
                current_rate=s.rate,
                temporal=s.sample_temporal(),
                main=s.name == "main",
            )
            for s in video
        ]
        self._pace(link.downlink_bps)
        chosen = choose(views, link, self.policy, now)
        changed = False
        for slot in video:
            if slot.name in chosen:
                choice = chosen[slot.name]
                changed = slot.set_layer(choice.rid, choice.rate) or changed
        if changed and self.on_layers_changed is not None:
            self.on_layers_changed()
        return changed

    def _pace(self, downlink_bps: float | None) -> None:
        """Pace video at the downlink estimate while it is thin; send straight out otherwise."""
        thin = self.pacing and downlink_bps is not None and downlink_bps < PACE_BELOW_BPS
        if thin and downlink_bps is not None:
            if self.pacer is None:
                metrics = self.slots[0].metrics if self.slots else None
                self.pacer = Pacer(downlink_bps * PACE_FACTOR, metrics)
                for slot in self.slots:
                    if slot.kind == "video":
                        slot.pacer = self.pacer
            else:
                self.pacer.set_rate(downlink_bps * PACE_FACTOR)
        elif self.pacer is not None:
            for slot in self.slots:
                slot.pacer = None
            self.pacer.flush()
            self.pacer = None

    def _link(self, now: float) -> LinkView:
        """The downlink estimate, what we sent since the last run, and the loss reported."""
        fresh = [s.report for s in self.slots if now - s.report.updated_at <= REPORT_FRESH]
        rembs = [r.remb_bitrate for r in fresh if r.remb_bitrate is not None]
        if rembs:
            self.downlink_bps = max(rembs)
        sent = sum(s.octets_sent + 12 * s.packets_sent for s in self.slots)
        audio_sent = sum(
            s.octets_sent + 12 * s.packets_sent for s in self.slots if s.kind == "audio"
        )
        if self._sent_at is not None and now > self._sent_at:
            elapsed = now - self._sent_at
            # Averaged over ~SENT_SMOOTHING s: a keyframe's burst is no sign of a thin link.
            weight = min(1.0, elapsed / SENT_SMOOTHING)
            rate = (sent - self._sent_bytes) * 8 / elapsed
            self._sent_bps += (rate - self._sent_bps) * weight
            audio_rate = (audio_sent - self._audio_bytes) * 8 / elapsed
            self._audio_bps += (audio_rate - self._audio_bps) * weight
        self._sent_at, self._sent_bytes, self._audio_bytes = now, sent, audio_sent
        sent_bps = self._sent_bps
        loss = max(
            (
                s.report.fraction_lost
                for s in self.slots
                if s.kind == "video" and s.feed is not None and s.report in fresh
            ),
            default=0.0,
        )
        audio = sum(1 for s in self.slots if s.kind == "audio" and s.source is not None)
        return LinkView(self.downlink_bps, sent_bps, loss, audio, self._audio_bps)

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
        if self._layers_task is not None:
            self._layers_task.cancel()
            self._layers_task = None
        if self.pacer is not None:
            self.pacer.discard()
            self.pacer = None
        for slot in self.slots:
            slot.pacer = None
            slot.close()


def _current(slot: Slot) -> str | None:
    return None if slot.link_paused else slot.chosen_layer()


def _layer_costs(source: Source | None, now: float) -> dict[str, float]:
    """Bits/s of each layer of ``source``: measured, or nominal while not measured."""
    if source is None:
        return {}
    layers = source.layers or {source.rid: source}
    costs: dict[str, float] = {}
    for rid, layer in layers.items():
        measured = layer.bitrate(now)
        costs[rid] = measured if measured is not None else float(NOMINAL_BPS.get(rid, 500_000))
    return costs


def _parts_sender(output: RtpOutput) -> Callable[[bytes, bytes], bool]:
    """``output``'s send of a packet as (header, payload): without joining them if it can.

    :class:`~conference.media.srtp_output.DtlsRtpOutput` copies both parts
    straight into its SRTP buffer (in C when :mod:`conference.media.fast_send`
    is built); any other output gets them joined.
    """
    fastest = getattr(output, "parts_sender", None)
    if fastest is not None:
        return cast(Callable[[bytes, bytes], bool], fastest())
    parts = getattr(output, "send_rtp_parts", None)
    if parts is not None:
        return cast(Callable[[bytes, bytes], bool], parts)
    send_rtp = output.send_rtp
    return lambda header, payload: send_rtp(header + payload)
