"""A simulcast camera's receiver sorts SSRCs into layers by RID / RRID.

The receiver is negotiated for real (PeerSession's offer, an aiortc client's
answer with Chrome's simulcast lines) and started with aiortc's own receive
parameters; the packets are plaintext RTP built by hand and routed by the
transport's router, as the fast receive path does after SRTP. What the
receiver would send (PLI, NACK) is recorded at the DTLS transport's send,
the network boundary.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtpPacket,
)

from conference.media.forwarding_receiver import ForwardingReceiver
from conference.peer import PeerSession
from conference.sfu import MediaPacket, SfuMetrics, Source
from tests.support.simulcast import answer_with_simulcast, rtp_packet
from tests.support.slots import video_packets

Q, H, F, H_RTX = 0x1111, 0x2222, 0x3333, 0x4444


class Recorder:
    """A sink that keeps what each source gave it."""

    def __init__(self) -> None:
        self.got: list[MediaPacket] = []

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        self.got.append(packet)

    def on_source_ended(self, source: Source) -> None:
        pass


async def negotiated() -> tuple[PeerSession, Any, ForwardingReceiver, list[RtcpPacket]]:
    session = PeerSession(owner="p", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("video")
    pc, answer = await answer_with_simulcast(session, await session.create_offer())
    await session.apply_answer(answer)
    transceiver = next(t for t in session.pc.getTransceivers() if t.kind == "video")
    receiver = transceiver.receiver
    assert isinstance(receiver, ForwardingReceiver)
    sent: list[RtcpPacket] = []

    async def send(data: bytes) -> None:  # the network boundary: keep what would go out
        sent.extend(RtcpPacket.parse(data))

    receiver.transport._send_rtp = send  # type: ignore[method-assign]
    # What aiortc does once DTLS is up: the negotiated codecs and extensions.
    await receiver.receive(session.pc._RTCPeerConnection__remoteRtp(transceiver))  # type: ignore[attr-defined]
    return session, pc, receiver, sent


def deliver(receiver: ForwardingReceiver, data: bytes) -> None:
    """What the fast receive path does with a decrypted packet."""
    transport = receiver.transport
    packet = RtpPacket.parse(data, transport._rtp_header_extensions_map)
    routed = transport._rtp_router.route_rtp(packet)
    assert routed is receiver
    receiver.handle_rtp(packet, 1000 + packet.sequence_number)


async def test_layers_are_sorted_by_rid_and_an_ssrc_without_one_waits():
    session, pc, receiver, _sent = await negotiated()
    try:
        camera = session.sources["video"]
        assert camera.codec == "VP8" and all(x.codec == "VP8" for x in camera.layers.values())
        sinks = {rid: Recorder() for rid in camera.layers}
        for rid, layer in camera.layers.items():
            layer.add_sink(sinks[rid])
        vp8 = [p.payload for p in video_packets(3, first_seq=0, first_ts=0)]
        pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "VP8")

        # q's first packets lost their RID (it comes late): held back, not reported.
        deliver(receiver, rtp_packet(ssrc=Q, seq=1, ts=0, pt=pt, payload=vp8[0]))
        assert not sinks["q"].got and Q not in receiver._streams
        for ssrc, rid, seq in ((H, "h", 500), (F, "f", 900), (Q, "q", 2)):
            deliver(receiver, rtp_packet(ssrc=ssrc, seq=seq, ts=0, pt=pt, payload=vp8[0], rid=rid))
        # Learned: later packets need no RID.
        for ssrc, seq in ((H, 501), (F, 901), (Q, 3)):
            deliver(receiver, rtp_packet(ssrc=ssrc, seq=seq, ts=3000, pt=pt, payload=vp8[1]))
        got = {rid: [p.sequence_number for p in sink.got] for rid, sink in sinks.items()}
        assert got == {"q": [2, 3], "h": [500, 501], "f": [900, 901]}
        assert sinks["h"].got[0].keyframe and not sinks["h"].got[1].keyframe
        assert set(receiver._streams) == {Q, H, F}
        assert receiver.reception_counters() == (6, 0)
        assert camera.packets == 0  # the camera itself receives nothing
    finally:
        await pc.close()
        await session.close()


async def test_rtx_repairs_its_own_layer_and_nacks_stay_per_ssrc():
    session, pc, receiver, sent = await negotiated()
    try:
        camera = session.sources["video"]
        sinks = {rid: Recorder() for rid in camera.layers}
        for rid, layer in camera.layers.items():
            layer.add_sink(sinks[rid])
        pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "VP8")
        rtx_pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "rtx")
        payload = video_packets(1, first_seq=0, first_ts=0)[0].payload
        for ssrc, rid, first in ((H, "h", 100), (F, "f", 40000)):
            deliver(
                receiver, rtp_packet(ssrc=ssrc, seq=first, ts=0, pt=pt, payload=payload, rid=rid)
            )
        deliver(
            receiver, rtp_packet(ssrc=H, seq=103, ts=0, pt=pt, payload=payload)
        )  # 101, 102 lost
        deliver(receiver, rtp_packet(ssrc=F, seq=40001, ts=0, pt=pt, payload=payload))  # none lost
        await asyncio.sleep(0.01)
        nacks = [p for p in sent if isinstance(p, RtcpRtpfbPacket) and p.fmt == RTCP_RTPFB_NACK]
        assert [(n.media_ssrc, sorted(n.lost)) for n in nacks] == [(H, [101, 102])]

        # The retransmission of 101 on h's RTX SSRC (RRID "h"): unwrapped into h.
        deliver(
            receiver,
            rtp_packet(
                ssrc=H_RTX,
                seq=7,
                ts=0,
                pt=rtx_pt,
                payload=(101).to_bytes(2, "big") + payload,
                rrid="h",
            ),
        )
        # Unasked (or repeated) retransmissions go nowhere.
        deliver(
            receiver,
            rtp_packet(
                ssrc=H_RTX, seq=8, ts=0, pt=rtx_pt, payload=(101).to_bytes(2, "big") + payload
            ),
        )
        assert [p.sequence_number for p in sinks["h"].got] == [100, 103, 101]
        assert [p.sequence_number for p in sinks["f"].got] == [40000, 40001]
        assert receiver.reception_counters()[0] == 4  # RTX is not counted as received media
    finally:
        await pc.close()
        await session.close()


async def test_a_keyframe_request_reaches_only_that_layers_encoder():
    session, pc, receiver, sent = await negotiated()
    try:
        camera = session.sources["video"]
        pt = next(c.payloadType for c in receiver._codecs.values() if c.name == "VP8")
        payload = video_packets(1, first_seq=0, first_ts=0)[0].payload
        for ssrc, rid in ((Q, "q"), (H, "h"), (F, "f")):
            deliver(receiver, rtp_packet(ssrc=ssrc, seq=1, ts=0, pt=pt, payload=payload, rid=rid))
        camera.layers["f"].request_keyframe()
        camera.layers["q"].request_keyframe()
        await asyncio.sleep(0.01)
        plis = [p for p in sent if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI]
        assert sorted(p.media_ssrc for p in plis) == [Q, F]
    finally:
        await pc.close()
        await session.close()
