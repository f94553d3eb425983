"""The receiver that forwards: an aiortc ``RTCRtpReceiver`` feeding a :class:`Source`.

aiortc is built to terminate media: every ``RTCRtpReceiver`` reassembles
frames in a jitter buffer and starts a decoder thread. A forwarding server
wants neither, so each receiving transceiver's receiver has its class swapped
for :class:`ForwardingReceiver` (``obj.__class__ = Sub``): the instance keeps
the state aiortc initialised (ICE, DTLS, SRTP, RTCP routing), only the
behaviour changes.

A simulcast camera's receiver gets one SSRC per layer (and one RTX SSRC per
layer), all routed here by payload type. It sorts them by the RID / RRID
header extensions into the camera's layer Sources, each SSRC an
:class:`Inbound` with its own NACK generator: the browser writes the RID only
until our first receiver report about that SSRC, so an SSRC is learned from
its first packets and nothing is reported about it before that.

aiortc glue: reads the receiver's name-mangled private state
(``_RTCRtpReceiver__codecs``...), which is why ``pyproject.toml`` pins aiortc.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from aiortc import RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
)

# Imported for its effect: aiortc's own estimators (which this receiver
# replaces, but the slow path of other receivers uses) must be the bounded ones.
from conference.media import bounded_estimators  # noqa: F401
from conference.media.codecs import is_keyframe, primary_codec
from conference.media.nack_tracker import NackTracker
from conference.media.ntp import (
    NTP_EPOCH_OFFSET,
    abs_send_time_bytes,
    arrival_clock_ms,
    ntp_from_unix,
)
from conference.media.reception_stats import ReceptionStatistics
from conference.media.remb_estimator import RembEstimator
from conference.media.rtp_header import RtpFields, fields_of

# Imported for its effect: the RID/RRID header extensions must be negotiated
# and parsed for the layers to be told apart.
from conference.media import simulcast  # noqa: F401  # isort: skip
from conference.sfu import SINGLE_LAYER, MediaPacket, Source
from conference.tasks import spawn

MEDIA = -1  # a payload type that carries media, not retransmissions
UNUSABLE_RTX = -2  # RTX whose apt names no codec we receive: only padding to us


@dataclass(slots=True)
class Inbound:
    """One SSRC of a simulcast camera: which layer it carries, and how."""

    source: Source  # the layer's Source
    rtx: bool  # a retransmission stream (RFC 4588)
    media_ssrc: int  # the SSRC it repairs (its own for a media stream)
    nack: NackTracker | None  # per media SSRC: each has its own sequence numbers


class ForwardingReceiver(RTCRtpReceiver):
    """An ``RTCRtpReceiver`` that hands packets to a :class:`Source` undecoded.

    It keeps what a good receiver owes the publisher: RTCP receiver reports,
    REMB bandwidth estimates, NACKs for lost packets and RTX unwrapping, but
    starts no decoder thread and builds no frames.
    """

    sfu_source: Source

    def attach(self, source: Source) -> None:
        """Make this receiver feed ``source``."""
        self.sfu_source = source
        source.keyframe_requester = self.request_keyframe
        # aiortc's private containers, looked up once: they live as long as the receiver.
        state = self.__dict__
        self._codecs: dict[int, RTCRtpCodecParameters] = state["_RTCRtpReceiver__codecs"]
        self._rtx_ssrcs: dict[int, int] = state["_RTCRtpReceiver__rtx_ssrc"]
        self._streams: dict[int, Any] = state["_RTCRtpReceiver__remote_streams"]
        # aiortc gives a video receiver a REMB estimator and a NACK generator,
        # an audio one neither; ours take their places, fed from plain ints.
        video = state["_RTCRtpReceiver__nack_generator"] is not None
        self._remb = RembEstimator() if video else None
        self._nacks = NackTracker() if video else None
        self._repairs: dict[int, int] = {}  # payload type -> MEDIA, UNUSABLE_RTX or RTX's apt
        self._layered = False
        self._single = source  # where a single stream's packets go
        self._inbound: dict[int, Inbound] = {}
        self._layer_ssrcs: dict[str, int] = {}  # rid -> its media SSRC, once learned

    def use_layers(self, rids: Iterable[str]) -> dict[str, Source]:
        """Receive a simulcast camera: one layer Source per rid, made now.

        Called with the offer that asks for them, before the site joins its
        room: slots and the recorder find the layers from the start.
        """
        layers = self.sfu_source.add_layers(rids)
        self.sfu_source.layers_settled = False
        for rid, layer in layers.items():
            layer.keyframe_requester = partial(self._request_layer_keyframe, rid)
        self._layered = bool(layers)
        return layers

    def settle_layers(self, rids: list[str]) -> None:
        """The answer said which layers come (``[]``: one stream, no simulcast).

        Layers it did not take end. Without simulcast the one stream feeds
        the ``f`` layer, as a single-layer source counts as ``f``: whoever
        already took the camera keeps getting its packets.
        """
        camera = self.sfu_source
        camera.layers_settled = True
        if not camera.layers:
            return
        camera.keep_layers(rids or [SINGLE_LAYER])
        if not rids and SINGLE_LAYER in camera.layers:
            self._layered = False
            self._single = camera.layers[SINGLE_LAYER]
            self._single.keyframe_requester = self.request_keyframe

    def _request_layer_keyframe(self, rid: str) -> None:
        # A PLI to that layer's SSRC only: the other encoders go on as they were.
        ssrc = self._layer_ssrcs.get(rid)
        if ssrc is not None:
            spawn(self._send_rtcp_pli(ssrc))

    def _private(self, name: str) -> Any:
        return self.__dict__[f"_RTCRtpReceiver__{name}"]

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        # Same as RTCRtpReceiver.receive minus the decoder thread.
        if self._private("started"):
            return
        for codec in parameters.codecs:
            if codec.payloadType is not None:
                self._codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                self._rtx_ssrcs[encoding.rtx.ssrc] = encoding.ssrc
        primary = primary_codec(parameters.codecs)
        if primary is not None:
            self.sfu_source.codec = primary.name
            for layer in self.sfu_source.layers.values():
                layer.codec = primary.name
        self.transport._register_rtp_receiver(self, parameters)
        self.__dict__["_RTCRtpReceiver__rtcp_task"] = asyncio.ensure_future(self._run_rtcp())
        self.__dict__["_RTCRtpReceiver__started"] = True

    def reception_counters(self) -> tuple[int, int]:
        """(packets received, packets lost) from the publisher so far, RTX streams excluded."""
        received = lost = 0
        for ssrc, stream in self._streams.items():
            if ssrc in self._rtx_ssrcs:
                continue
            received += stream.packets_received
            lost += max(stream.packets_lost, 0)
        return received, lost

    def request_keyframe(self) -> None:
        """Send a PLI for the publisher's current SSRC (every layer's, for a camera)."""
        if self._layered:
            for ssrc in self._layer_ssrcs.values():
                spawn(self._send_rtcp_pli(ssrc))
            return
        for ssrc in list(self._streams):
            if ssrc in self._rtx_ssrcs:
                continue
            spawn(self._send_rtcp_pli(ssrc))

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        # Sender reports feed RR's LSR/DLSR; a BYE must not end the source:
        # the peer connection's state says when the publisher is gone.
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            source: Source | None = self._single
            if self._layered:
                inbound = self._inbound.get(packet.ssrc)
                source = inbound.source if inbound is not None else None
            if source is None:
                return  # an SSRC whose layer we do not know yet: no report about it either
            source.sender_report = (
                (info.ntp_timestamp >> 32)
                - NTP_EPOCH_OFFSET
                + (info.ntp_timestamp & 0xFFFFFFFF) / 2**32,
                info.rtp_timestamp,
            )
            await super()._handle_rtcp_packet(packet)

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        # The slow path (through aioice's queue and the DTLS task): same work.
        # Restamped, whatever the caller's clock: the estimator sees one clock.
        self.handle_rtp(packet, arrival_clock_ms())

    def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """Account for, and forward, a packet aiortc parsed. Synchronous."""
        self.receive_fields(fields_of(packet), arrival_time_ms, time.time())

    def _repaired(self, payload_type: int, codec: RTCRtpCodecParameters) -> int:
        """What a payload type carries: :data:`MEDIA`, or the payload type its RTX repairs.

        :data:`UNUSABLE_RTX` for RTX whose ``apt`` names no codec we take.
        Worked out once per payload type (``is_rtx`` splits the MIME type).
        """
        repaired = self._repairs.get(payload_type)
        if repaired is None:
            repaired = MEDIA
            if is_rtx(codec):
                apt = codec.parameters.get("apt")
                repaired = apt if isinstance(apt, int) and apt in self._codecs else UNUSABLE_RTX
            self._repairs[payload_type] = repaired
        return repaired

    def receive_fields(self, fields: RtpFields, arrival_ms: int, now: float) -> None:
        """Account for one packet, ask for what was lost, and forward it. Synchronous.

        ``fields`` as :func:`conference.media.rtp_header.parse_rtp` reads them;
        ``arrival_ms`` on the estimator's clock, ``now`` in Unix seconds (jitter).
        """
        if not self._enabled:
            return
        pt, marker, seq, timestamp, ssrc, payload, padding, abs_send_time, level, _, _ = fields
        codec = self._codecs.get(pt)
        if codec is None:
            return
        if self._layered:
            self._receive_layer(fields, arrival_ms, now, codec)
            return

        if abs_send_time is not None and self._remb is not None:
            self._estimate(abs_send_time, arrival_ms, len(payload) + padding, ssrc)
        streams = self._streams
        stream = streams.get(ssrc)
        if stream is None:
            stream = streams[ssrc] = ReceptionStatistics(codec.clockRate)
        stream.count(seq, timestamp, now)

        nacks = self._nacks
        repaired = self._repaired(pt, codec)
        if repaired != MEDIA:
            original_ssrc = self._rtx_ssrcs.get(ssrc)
            if original_ssrc is None:
                # Chrome does not always signal the RTX SSRC: learn it from the
                # only media SSRC we receive.
                media = [s for s in streams if s != ssrc]
                if len(media) != 1:
                    return
                original_ssrc = self._rtx_ssrcs[ssrc] = media[0]
            if len(payload) < 2 or repaired == UNUSABLE_RTX:
                return  # RTX padding used for bandwidth probing
            seq = (payload[0] << 8) | payload[1]  # the original sequence number (RFC 4588)
            payload = payload[2:]
            ssrc = original_ssrc
            if nacks is not None and seq not in nacks.missing:
                return  # a retransmission we did not ask for, or already have
        if nacks is not None and nacks.add(seq):
            spawn(self._send_rtcp_nack(ssrc, sorted(nacks.missing)))
        self._push(self._single, seq, timestamp, marker, payload, level, now)

    def _receive_layer(
        self, fields: RtpFields, arrival_ms: int, now: float, codec: RTCRtpCodecParameters
    ) -> None:
        """``receive_fields`` for a simulcast camera: per SSRC, into its layer."""
        pt, marker, seq, timestamp, ssrc, payload, padding, abs_send_time, level, rid, rrid = fields
        inbound = self._inbound.get(ssrc)
        if inbound is None:
            inbound = self._learn(ssrc, rid, rrid, codec)
            if inbound is None:
                return  # no RID yet: held back, and no receiver report about it
        if abs_send_time is not None and self._remb is not None:
            self._estimate(abs_send_time, arrival_ms, len(payload) + padding, ssrc)
        streams = self._streams
        stream = streams.get(ssrc)
        if stream is None:
            stream = streams[ssrc] = ReceptionStatistics(codec.clockRate)
        stream.count(seq, timestamp, now)
        if inbound.rtx:
            if len(payload) < 2 or self._repaired(pt, codec) == UNUSABLE_RTX:
                return  # RTX padding used for bandwidth probing
            media = self._inbound.get(inbound.media_ssrc)
            nacks = media.nack if media is not None else None
            seq = (payload[0] << 8) | payload[1]
            payload = payload[2:]
            ssrc = inbound.media_ssrc
            if nacks is None or seq not in nacks.missing:
                return  # a retransmission we did not ask for, or already have
        else:
            nacks = inbound.nack
        if nacks is not None and nacks.add(seq):
            spawn(self._send_rtcp_nack(ssrc, sorted(nacks.missing)))
        self._push(inbound.source, seq, timestamp, marker, payload, level, now)

    def _learn(
        self, ssrc: int, rid: str | None, rrid: str | None, codec: RTCRtpCodecParameters
    ) -> Inbound | None:
        """Which layer a new SSRC carries, from its RID (media) or RRID (RTX); None: not yet."""
        layers = self.sfu_source.layers
        if is_rtx(codec):
            media_ssrc = self._layer_ssrcs.get(rrid) if rrid is not None else None
            if rrid is None or media_ssrc is None:
                return None  # its media stream must be known first
            inbound = Inbound(layers[rrid], True, media_ssrc, None)
            self._rtx_ssrcs[ssrc] = media_ssrc
        else:
            if rid is None or rid not in layers:
                return None
            old = self._layer_ssrcs.get(rid)
            if old is not None:
                # The layer's encoder restarted with a new SSRC: forget the old one.
                self._inbound.pop(old, None)
                self._streams.pop(old, None)
            inbound = Inbound(layers[rid], False, ssrc, NackTracker())
            self._layer_ssrcs[rid] = ssrc
        self._inbound[ssrc] = inbound
        return inbound

    def _estimate(self, abs_send_time: int, arrival_ms: int, size: int, ssrc: int) -> None:
        """Feed the REMB estimator; send a REMB when it has a new estimate."""
        assert self._remb is not None
        remb = self._remb.add(arrival_ms, abs_send_time, size, ssrc)
        if remb is not None:
            rtcp_ssrc = self._private("rtcp_ssrc")
            if rtcp_ssrc is not None:
                spawn(
                    self._send_rtcp(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(*remb),
                        )
                    )
                )

    def _push(
        self,
        source: Source,
        seq: int,
        timestamp: int,
        marker: int,
        payload: bytes,
        level: int | None,
        now: float,
    ) -> None:
        """Hand one packet, parsed once, to ``source``'s sinks."""
        ntp = ntp_from_unix(now)
        source.push(
            MediaPacket(
                sequence_number=seq,
                timestamp=timestamp,
                marker=marker,
                payload=payload,
                keyframe=is_keyframe(source.codec, payload) if source.kind == "video" else True,
                audio_level=level,
                arrival=time.monotonic(),
                abs_send_time=abs_send_time_bytes(ntp),
                ntp=ntp,
            )
        )


def make_forwarding_receiver(receiver: RTCRtpReceiver, source: Source) -> ForwardingReceiver:
    """Turn an aiortc receiver into one that feeds ``source``."""
    receiver.__class__ = ForwardingReceiver
    forwarding = cast(ForwardingReceiver, receiver)
    forwarding.attach(source)
    return forwarding
