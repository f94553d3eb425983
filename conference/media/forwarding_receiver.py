"""The receiver that forwards: an aiortc ``RTCRtpReceiver`` feeding a :class:`Source`.

aiortc is built to terminate media: every ``RTCRtpReceiver`` reassembles
frames in a jitter buffer and starts a decoder thread. A forwarding server
wants neither, so each receiving transceiver's receiver has its class swapped
for :class:`ForwardingReceiver` (``obj.__class__ = Sub``): the instance keeps
the state aiortc initialised (ICE, DTLS, SRTP, RTCP routing), only the
behaviour changes.

aiortc glue: reads the receiver's name-mangled private state
(``_RTCRtpReceiver__codecs``...), which is why ``pyproject.toml`` pins aiortc.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from aiortc import RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

# Imported for its effect: the estimators this receiver feeds (aiortc's REMB
# estimator and NACK generator) must be the bounded ones.
from conference.media import bounded_estimators  # noqa: F401
from conference.media.codecs import is_keyframe, primary_codec
from conference.media.ntp import NTP_EPOCH_OFFSET, abs_send_time_bytes, arrival_clock_ms, ntp_now
from conference.sfu import MediaPacket, Source
from conference.tasks import spawn


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
        self._estimator: Any = state["_RTCRtpReceiver__remote_bitrate_estimator"]
        self._nacks: Any = state["_RTCRtpReceiver__nack_generator"]

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
        """Send a PLI for the publisher's current SSRC."""
        for ssrc in list(self._streams):
            if ssrc in self._rtx_ssrcs:
                continue
            spawn(self._send_rtcp_pli(ssrc))

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        # Sender reports feed RR's LSR/DLSR; a BYE must not end the source:
        # the peer connection's state says when the publisher is gone.
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            self.sfu_source.sender_report = (
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
        """Account for one packet, ask for what was lost, and forward it. Synchronous."""
        if not self._enabled:
            return
        codecs = self._codecs
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return

        estimator = self._estimator
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = self._private("rtcp_ssrc")
            if rtcp_ssrc is not None and remb is not None:
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

        streams = self._streams
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)

        nack_generator = self._nacks
        if is_rtx(codec):
            original_ssrc = self._rtx_ssrcs.get(packet.ssrc)
            if original_ssrc is None:
                # Chrome does not always signal the RTX SSRC: learn it from the
                # only media SSRC we receive.
                media = [s for s in streams if s != packet.ssrc]
                if len(media) != 1:
                    return
                original_ssrc = self._rtx_ssrcs[packet.ssrc] = media[0]
            apt = codec.parameters.get("apt")
            if len(packet.payload) < 2 or not isinstance(apt, int) or apt not in codecs:
                return  # RTX padding used for bandwidth probing
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            if nack_generator is not None and packet.sequence_number not in nack_generator.missing:
                return  # a retransmission we did not ask for, or already have
        if nack_generator is not None and nack_generator.add(packet):
            spawn(self._send_rtcp_nack(packet.ssrc, sorted(nack_generator.missing)))

        level = packet.extensions.audio_level
        source = self.sfu_source
        ntp = ntp_now()
        source.push(
            MediaPacket(
                sequence_number=packet.sequence_number,
                timestamp=packet.timestamp,
                marker=packet.marker,
                payload=packet.payload,
                keyframe=is_keyframe(source.codec, packet.payload)
                if source.kind == "video"
                else True,
                audio_level=None
                if level is None
                else (0x80 if level[0] else 0) | (level[1] & 0x7F),
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
