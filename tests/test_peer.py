"""Peer sessions in-process: no decoder threads, and H.264 rooms forward H.264."""

from __future__ import annotations

import asyncio
import re
import threading

from aiortc import RTCSessionDescription

from conference.peer import PeerSession, SlotLayout
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.sfu import SfuMetrics
from conference.tokens import Role
from tests.support.media import PacketTrack, encode_h264, encode_opus, encode_vp8, h264_nal_units
from tests.support.peers import capture_frames, client_pc


async def connect(session: PeerSession, publish: dict) -> tuple:
    offer = await session.create_offer()
    pc = client_pc()
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    captures = {}
    for transceiver in pc.getTransceivers():
        kind = next((k for k, mid in session.publish_mids.items() if mid == transceiver.mid), None)
        if kind is not None:
            transceiver.sender.replaceTrack(publish[kind])
            transceiver.direction = "sendonly"
        else:
            slot = next(n for n, mid in session.slot_mids.items() if mid == transceiver.mid)
            captures[slot] = capture_frames(transceiver.receiver)
    await pc.setLocalDescription(await pc.createAnswer())
    await session.apply_answer(pc.localDescription.sdp)
    return pc, captures


async def meeting(codec: str, clip_factory) -> tuple[list, list, Room]:
    metrics = SfuMetrics()
    room = Room("r", "Phòng", codec)
    peers = []
    for index in range(2):
        session = PeerSession(owner=f"s{index}", metrics=metrics, ice_servers=[], video_codec=codec)
        session.add_publish("audio")
        session.add_publish("video")
        session.add_slots(SlotLayout(thumbnails=1, audio=1))
        video = clip_factory()
        pc, captures = await connect(
            session, {"video": PacketTrack(video), "audio": PacketTrack(encode_opus(1))}
        )
        room.join(
            Participant(
                id=f"s{index}",
                name=f"S{index}",
                role=Role.PARTICIPANT,
                sources=session.sources,
                slots=session.slots,
            )
        )
        peers.append((session, pc, captures, video))
    return peers, [p[0] for p in peers], room


async def close(peers) -> None:
    for session, pc, _, _ in peers:
        await pc.close()
        await session.close()


async def wait_frames(peers, slot: str, count: int) -> None:
    for _ in range(200):
        if all(len(p[2][slot].frames) >= count for p in peers):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("frames did not arrive")


async def test_forwarding_starts_no_decoder_threads():
    before = {t.name for t in threading.enumerate()}
    peers, sessions, room = await meeting("vp8", lambda: encode_vp8(frames=60))
    try:
        await wait_frames(peers, "main", 20)
        # The test's own aiortc clients start decoder threads; the server's receivers must not.
        server_receivers = [
            t.receiver
            for s in sessions
            for t in s.pc.getTransceivers()
            if t.currentDirection == "recvonly"
        ]
        assert len(server_receivers) == 4
        for receiver in server_receivers:
            assert receiver.__dict__["_RTCRtpReceiver__decoder_thread"] is None
        decoders = [
            t for t in threading.enumerate() if t.name.endswith("-decoder") and t.name not in before
        ]
        client_receivers = sum(
            1
            for _, pc, _, _ in peers
            for t in pc.getTransceivers()
            if t.currentDirection == "recvonly"
        )
        assert len(decoders) <= client_receivers
    finally:
        await close(peers)
        await room.close()


async def test_h264_room_forwards_h264_nal_units_unchanged():
    peers, sessions, room = await meeting("h264", lambda: encode_h264(frames=60))
    try:
        assert all(
            "H264" in s.pc.localDescription.sdp and "VP8" not in s.pc.localDescription.sdp
            for s in sessions
        )
        await wait_frames(peers, "main", 20)
        for index, (_, _, captures, _) in enumerate(peers):
            sent = peers[1 - index][3]
            sent_units = {u for payload in sent.payloads for u in h264_nal_units(payload)}
            got = [u for frame in captures["main"].frames for u in h264_nal_units(frame)]
            assert got and set(got) <= sent_units
    finally:
        await close(peers)
        await room.close()


async def test_answer_that_sends_on_a_slot_is_refused():
    from conference.peer import SdpError

    session = PeerSession(owner="s", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("video")
    session.add_slots(SlotLayout(thumbnails=0, audio=1))
    offer = await session.create_offer()
    pc = client_pc()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        # A hand-made answer that wants to push media into the slots too.
        forged = pc.localDescription.sdp.replace("a=recvonly", "a=sendrecv")
        try:
            await session.apply_answer(forged)
        except SdpError as exc:
            assert "may not be" in str(exc)
        else:
            raise AssertionError("answer was accepted")
        assert session.pc.signalingState == "have-local-offer"  # nothing applied
    finally:
        await pc.close()
        await session.close()


async def test_nack_without_rtx_resends_the_same_packet():
    from conference.sfu import MediaPacket, Source
    from conference.slot import Slot, SlotConfig

    sent: list[bytes] = []

    class Output:
        def send_rtp(self, data: bytes) -> bool:
            sent.append(data)
            return True

        def send_rtcp(self, data: bytes) -> bool:
            return True

    metrics = SfuMetrics()
    slot = Slot("main", "video", metrics)
    slot.configure(SlotConfig(ssrc=7, payload_type=96), Output())
    source = Source(source_id="a", owner="a", kind="video", metrics=metrics)
    source.codec = "VP8"
    slot.assign(source)
    frame = encode_vp8(frames=1).payloads[0]
    from aiortc.codecs.vpx import Vp8Encoder

    for index, payload in enumerate(Vp8Encoder._packetize(frame, picture_id=1)):
        source.push(MediaPacket(index, 0, 0, payload, index == 0, None, 0.0, b"\0\0\0"))
    second = sent[1]
    slot.handle_nack([int.from_bytes(second[2:4], "big")])
    assert sent[-1] == second
    assert slot.history is not None and metrics.retransmissions == 1


async def test_subscriber_keyframe_request_reaches_the_publisher_throttled():
    # One keyframe per 5 s loop: a natural keyframe would cancel the deferred request.
    peers, sessions, room = await meeting("vp8", lambda: encode_vp8(frames=150, gop=300))
    try:
        await wait_frames(peers, "main", 10)
        publisher_pc = peers[0][1]
        video_sender = next(
            t.sender
            for t in publisher_pc.getTransceivers()
            if t.kind == "video" and t.direction == "sendonly"
        )
        requests: list[float] = []
        video_sender._send_keyframe = lambda: requests.append(asyncio.get_running_loop().time())
        await asyncio.sleep(1.2)  # past the throttle window of the join's own request
        # The second site's main slot shows the first site: it asks for keyframes, three times.
        subscriber_pc = peers[1][1]
        main_mid = sessions[1].slot_mids["main"]
        receiver = next(t.receiver for t in subscriber_pc.getTransceivers() if t.mid == main_mid)
        ssrc = next(iter(receiver.__dict__["_RTCRtpReceiver__remote_streams"]))
        for _ in range(3):
            await receiver._send_rtcp_pli(ssrc)
        for _ in range(40):
            if len(requests) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        # Three PLIs within a second become one request now and one deferred a second later.
        assert len(requests) == 2
        assert requests[1] - requests[0] >= 0.9
    finally:
        await close(peers)
        await room.close()


async def test_subscriber_nack_and_reports_reach_the_slot():
    """RTCP from a subscriber (taken off the socket synchronously) lands on its slot."""
    peers, sessions, room = await meeting("vp8", lambda: encode_vp8(frames=60, gop=30))
    try:
        await wait_frames(peers, "main", 10)
        subscriber_pc = peers[1][1]
        main_mid = sessions[1].slot_mids["main"]
        receiver = next(t.receiver for t in subscriber_pc.getTransceivers() if t.mid == main_mid)
        ssrc = next(iter(receiver.__dict__["_RTCRtpReceiver__remote_streams"]))
        slot = next(s for s in sessions[1].slots if s.name == "main")
        metrics = slot.metrics
        retransmitted = metrics.retransmissions
        recent = (slot._max_out_seq - 3) & 0xFFFF  # still in the send history
        await receiver._send_rtcp_nack(ssrc, [recent])
        for _ in range(50):
            if metrics.retransmissions > retransmitted:
                break
            await asyncio.sleep(0.1)
        assert metrics.retransmissions == retransmitted + 1
        # aiortc's receiver reports about once a second: the slot learns the loss and RTT.
        for _ in range(50):
            if slot.report.round_trip_time is not None:
                break
            await asyncio.sleep(0.1)
        assert slot.report.round_trip_time is not None and slot.report.fraction_lost >= 0
    finally:
        await close(peers)
        await room.close()


def opus_fmtp(sdp: str) -> list[str]:
    """The ``a=fmtp`` parameters given to each Opus payload type, one per Opus ``a=rtpmap``."""
    found = []
    for payload_type in re.findall(r"a=rtpmap:(\d+) opus/48000/2", sdp, re.IGNORECASE):
        match = re.search(rf"a=fmtp:{payload_type} ([^\r\n]*)", sdp)
        found.append(match.group(1) if match else "")
    return found


async def test_offer_asks_opus_senders_for_in_band_fec_and_dtx_and_changes_nothing_else():
    session = PeerSession(owner="s", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("audio")
    session.add_publish("video")
    session.add_slots(SlotLayout(thumbnails=1, audio=1))
    try:
        offer = await session.create_offer()
        # One publish and one slot section carry Opus; each asks for FEC.
        assert opus_fmtp(offer) == ["minptime=10;useinbandfec=1;usedtx=1"] * 2
        added = [line for line in offer.split("\r\n") if "useinbandfec" in line]
        # The camera's simulcast lines are the other addition (test_simulcast_sdp.py).
        rest = [
            line
            for line in offer.split("\r\n")
            if "useinbandfec" not in line and not line.startswith(("a=rid:", "a=simulcast:"))
        ]
        assert len(added) == 2 and rest == str(session.pc.localDescription.sdp).split("\r\n")
    finally:
        await session.close()


async def test_whip_answer_asks_the_publisher_for_opus_fec_and_dtx():
    session = PeerSession(owner="w", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    pc = client_pc()
    try:
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await session.answer_publish_offer(pc.localDescription.sdp)
        assert opus_fmtp(answer) == ["minptime=10;useinbandfec=1;usedtx=1"]
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))  # aiortc takes it
    finally:
        await pc.close()
        await session.close()
