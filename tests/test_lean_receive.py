"""A single-stream publisher on the lean receive path still gets REMB, NACKs and receiver reports.

As in ``test_simulcast_receiver``: the receiver is negotiated for real, the
packets are plaintext RTP built by hand, and they go the way the fast receive
path takes them after SRTP (``parse_rtp``, the router, ``receive_fields``);
what the receiver sends is recorded at the DTLS transport's send.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCSessionDescription
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    unpack_remb_fci,
)

from conference.media.fast_receive import _route
from conference.media.forwarding_receiver import ForwardingReceiver
from conference.media.ntp import NTP_EPOCH_OFFSET
from conference.media.rtp_header import extension_ids, parse_rtp
from conference.peer import PeerSession
from conference.sfu import MediaPacket, SfuMetrics, Source
from tests.support.peers import client_pc
from tests.support.simulcast import rtp_packet
from tests.support.slots import video_packets

SSRC, RTX_SSRC = 0x5151, 0x6161
START = 1_800_000_000.0  # Unix seconds of the first arrival


class Recorder:
    """A sink that keeps what its source gave it."""

    def __init__(self) -> None:
        self.got: list[MediaPacket] = []

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.got.append(packet)

    def on_source_ended(self, source: Source) -> None:
        pass


async def negotiated() -> tuple[PeerSession, Any, ForwardingReceiver, list[RtcpPacket]]:
    session = PeerSession(owner="p", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("video")
    pc = client_pc()
    await pc.setRemoteDescription(
        RTCSessionDescription(sdp=await session.create_offer(), type="offer")
    )
    for transceiver in pc.getTransceivers():
        transceiver.direction = "sendonly"
    await pc.setLocalDescription(await pc.createAnswer())
    await session.apply_answer(pc.localDescription.sdp)  # no simulcast: one stream
    transceiver = next(t for t in session.pc.getTransceivers() if t.kind == "video")
    receiver = transceiver.receiver
    assert isinstance(receiver, ForwardingReceiver)
    sent: list[RtcpPacket] = []

    async def send(data: bytes) -> None:  # the network boundary
        sent.extend(RtcpPacket.parse(data))

    receiver.transport._send_rtp = send  # type: ignore[method-assign]
    await receiver.receive(session.pc._RTCPeerConnection__remoteRtp(transceiver))  # type: ignore[attr-defined]
    receiver._set_rtcp_ssrc(0xAAAA)
    return session, pc, receiver, sent


def deliver(receiver: ForwardingReceiver, data: bytes, now: float) -> None:
    """What the fast receive path does with a decrypted packet arriving at ``now``."""
    transport = receiver.transport
    fields = parse_rtp(data, extension_ids(transport._rtp_header_extensions_map))
    assert _route(transport._rtp_router, fields[4], fields[0]) is receiver
    receiver.receive_fields(fields, int((now + NTP_EPOCH_OFFSET) * 1000), now)


async def test_remb_nack_rtx_and_receiver_reports_on_the_lean_path():
    session, pc, receiver, sent = await negotiated()
    try:
        stream = session.sources["video"].recording_layer()
        assert stream is not None
        sink = Recorder()
        stream.add_sink(sink)
        pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "VP8")
        rtx_pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "rtx")
        # 5 s at 30 fps, ~2 packets a frame: REMB starts after 3 s of rate measurements
        frames = video_packets(150, first_seq=0, first_ts=0)
        count = len(frames)
        lost = 1000 + count - 30  # two lost near the end: NACKs look back at most 128 packets
        seq = 1000
        for index, packet in enumerate(frames):
            now = START + packet.timestamp / 90000 + index * 0.0004  # paced
            if seq == lost:
                seq += 2
            sent_at = int((now - START) * (1 << 18)) & 0xFFFFFF  # abs-send-time: 6.18 s
            data = rtp_packet(
                ssrc=SSRC, seq=seq, ts=packet.timestamp, pt=pt, payload=packet.payload,
                abs_send_time=sent_at,
            )  # fmt: skip
            deliver(receiver, data, now)
            seq += 1
        # The first comes back on the RTX stream (its SSRC learned: the only media SSRC).
        repair = lost.to_bytes(2, "big") + frames[lost - 1000].payload
        deliver(receiver, rtp_packet(ssrc=RTX_SSRC, seq=1, ts=0, pt=rtx_pt, payload=repair), now)
        await asyncio.sleep(1.6)  # one RTCP interval of the receiver's own loop (0.5-1.5 s)

        got = [p.sequence_number for p in sink.got]
        assert got[: lost - 1000] == list(range(1000, lost)) and got[-1] == lost
        assert lost + 1 not in got and len(got) == count + 1
        assert sink.got[0].keyframe and not sink.got[1].keyframe

        nacks = [p for p in sent if isinstance(p, RtcpRtpfbPacket) and p.fmt == RTCP_RTPFB_NACK]
        assert [(n.media_ssrc, sorted(n.lost)) for n in nacks] == [(SSRC, [lost, lost + 1])]
        rembs = [p for p in sent if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP]
        assert rembs, "the publisher got no REMB"
        bitrate, ssrcs = unpack_remb_fci(rembs[-1].fci)
        assert bitrate > 0 and ssrcs == [SSRC]
        reports = [r for p in sent if isinstance(p, RtcpRrPacket) for r in p.reports]
        media = [r for r in reports if r.ssrc == SSRC]
        assert media and media[-1].highest_sequence == 1001 + count
        assert media[-1].packets_lost == 2  # the repair came on its own (RTX) stream
        assert receiver.reception_counters() == (count, 2)
    finally:
        await pc.close()
        await session.close()
