"""The sender that carries a slot: an aiortc ``RTCRtpSender`` fed by a :class:`Slot`.

aiortc's ``RTCRtpSender`` runs an encode loop (which, with no track, wakes up
every 20 ms forever). A forwarder has no encoder: each sending transceiver's
sender has its class swapped for :class:`SlotSender` (``obj.__class__ =
Sub``), whose packets come from its slot through :class:`DtlsRtpOutput`.

aiortc glue: reads the sender's and the transport's private state
(``_ssrc``, ``_register_rtp_sender``, ``_RTCRtpReceiver__...`` of the unused
receiver), which is why ``pyproject.toml`` pins aiortc.
"""

from __future__ import annotations

from typing import cast

from aiortc import RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)
from aiortc.stats import RTCOutboundRtpStreamStats, RTCStatsReport

from conference.media.codecs import primary_codec
from conference.media.ntp import ntp_now
from conference.media.rtcp import round_trip_time
from conference.media.srtp_output import DtlsRtpOutput
from conference.slot import ReceptionReport, Slot, SlotConfig, Subscription

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class SlotSender(RTCRtpSender):
    """An ``RTCRtpSender`` whose packets come from a :class:`Slot`, not an encoder."""

    sfu_slot: Slot
    sfu_subscription: Subscription
    _slot_started: bool

    def attach(self, slot: Slot, subscription: Subscription) -> None:
        """Make this sender carry ``slot``."""
        self.sfu_slot = slot
        self.sfu_subscription = subscription
        self._slot_started = False
        self._last_sr_ntp: dict[int, int] = {}

    async def send(self, parameters: RTCRtpSendParameters) -> None:
        if self._slot_started:
            return
        primary = primary_codec(parameters.codecs)
        if primary is None or primary.payloadType is None:
            return
        rtx = next(
            (
                c
                for c in parameters.codecs
                if is_rtx(c) and c.parameters.get("apt") == primary.payloadType
            ),
            None,
        )
        ext_ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        self.transport._register_rtp_sender(self, parameters)
        output = DtlsRtpOutput(self.transport, self.sfu_slot.metrics)
        self.sfu_slot.configure(
            SlotConfig(
                ssrc=self._ssrc,
                payload_type=primary.payloadType,
                rtx_ssrc=self._rtx_ssrc if rtx is not None else None,
                rtx_payload_type=rtx.payloadType if rtx is not None else None,
                audio_level_id=ext_ids.get(AUDIO_LEVEL_URI),
                abs_send_time_id=ext_ids.get(ABS_SEND_TIME_URI),
            ),
            output,
        )
        self.sfu_subscription.start_reports(output.send_rtcp)
        self._slot_started = True

    async def stop(self) -> None:
        if self._slot_started:
            self.transport._unregister_rtp_sender(self)
            self._slot_started = False

    async def getStats(self) -> RTCStatsReport:
        slot = self.sfu_slot
        report = RTCStatsReport()
        report.add(
            RTCOutboundRtpStreamStats(
                timestamp=clock.current_datetime(),
                type="outbound-rtp",
                id=f"outbound-rtp_{id(self)}",
                ssrc=self._ssrc,
                kind=slot.kind,
                transportId=self.transport._stats_id,
                packetsSent=slot.packets_sent,
                bytesSent=slot.octets_sent,
                trackId=slot.name,
            )
        )
        return report

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        self.handle_rtcp(packet)

    def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        """A subscriber's feedback about this slot: reports, REMB, NACK, PLI. Synchronous."""
        slot = self.sfu_slot
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for block in packet.reports:
                if block.ssrc != self._ssrc:
                    continue
                previous = slot.report
                rtt = round_trip_time(ntp_now(), block.lsr, block.dlsr)
                slot.report = ReceptionReport(
                    fraction_lost=block.fraction_lost / 256.0,
                    packets_lost=block.packets_lost,
                    jitter=block.jitter,
                    round_trip_time=rtt if rtt is not None else previous.round_trip_time,
                    remb_bitrate=previous.remb_bitrate,
                )
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            slot.handle_nack(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            slot.handle_keyframe_request()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self._ssrc in ssrcs:
                slot.report.remb_bitrate = bitrate


def make_slot_sender(sender: RTCRtpSender, slot: Slot, subscription: Subscription) -> SlotSender:
    """Turn an aiortc sender into one that carries ``slot``."""
    sender.__class__ = SlotSender
    slot_sender = cast(SlotSender, sender)
    slot_sender.attach(slot, subscription)
    return slot_sender


def slim_unused_receiver(receiver: RTCRtpReceiver) -> None:
    """Free what a receiver of a send-only transceiver allocates for nothing.

    Every aiortc receiver builds a REMB estimator (~100 KB) and a 512-packet
    jitter buffer, even on a transceiver that only sends; a site has a dozen
    such slots, so a national meeting would hold gigabytes of them. The
    answer's directions are checked (``PeerSession``), so these receivers
    never start.
    """
    state = receiver.__dict__
    state["_RTCRtpReceiver__remote_bitrate_estimator"] = None
    state["_RTCRtpReceiver__nack_generator"] = None
    state["_RTCRtpReceiver__jitter_buffer"] = JitterBuffer(capacity=2)
