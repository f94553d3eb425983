"""Simulcast end to end in-process: real aiortc peers, ICE, DTLS and SRTP.

A publisher answers the server's offer with ``a=simulcast:send q;h;f`` and
sends three layers (three SSRCs carrying the RID extension, built by hand:
aiortc cannot send simulcast); a subscriber's "main" slot takes "f" and its
"thumb-1" slot "q", and the frames that reach the subscriber are byte for
byte the frames of those layers.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCSessionDescription
from aiortc.codecs.vpx import Vp8Encoder

from conference.peer import PeerSession, SlotLayout
from conference.sfu import SfuMetrics
from tests.support.media import encode_vp8
from tests.support.peers import capture_frames, client_pc
from tests.support.simulcast import answer_with_simulcast, rtp_packet

SIZES = {"q": (160, 120), "h": (320, 240), "f": (640, 480)}
SSRCS = {"q": 0x51, "h": 0x52, "f": 0x53}


async def wait_for(check, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not reached")


async def test_main_gets_f_and_a_thumbnail_gets_q_from_a_three_layer_publisher():
    metrics = SfuMetrics()
    publisher = PeerSession(owner="p", metrics=metrics, ice_servers=[], video_codec="vp8")
    camera = publisher.add_publish("video")
    viewer = PeerSession(owner="v", metrics=metrics, ice_servers=[], video_codec="vp8")
    main, thumb = viewer.add_slots(SlotLayout(main=1, thumbnails=1, audio=0))
    client, pc = None, client_pc()
    try:
        client, answer = await answer_with_simulcast(publisher, await publisher.create_offer())
        await publisher.apply_answer(answer)
        assert list(camera.layers) == ["q", "h", "f"]

        await pc.setRemoteDescription(RTCSessionDescription(await viewer.create_offer(), "offer"))
        captures = {}
        for transceiver in pc.getTransceivers():
            name = next(n for n, mid in viewer.slot_mids.items() if mid == transceiver.mid)
            captures[name] = capture_frames(transceiver.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        await viewer.apply_answer(pc.localDescription.sdp)
        await asyncio.wait_for(publisher.connected.wait(), 20)
        await asyncio.wait_for(viewer.connected.wait(), 20)

        for slot in (main, thumb):
            slot.assign(camera)
            slot.set_layer("f")  # the policy's ceiling; a thumbnail stays at q
        assert (main.layer, thumb.layer) == ("f", "q")

        sender = next(t for t in client.getTransceivers() if t.kind == "video")
        pt = next(c.payloadType for c in sender._codecs if c.name == "VP8")
        transport = sender.sender.transport
        clips = {rid: encode_vp8(frames=40, width=w, height=h) for rid, (w, h) in SIZES.items()}
        seqs = dict.fromkeys(SIZES, 1000)
        for index in range(40):
            for rid, clip in clips.items():
                parts = Vp8Encoder._packetize(clip.payloads[index], picture_id=index)
                for part, payload in enumerate(parts):
                    data = rtp_packet(
                        ssrc=SSRCS[rid],
                        seq=seqs[rid],
                        ts=index * 3000,
                        pt=pt,
                        payload=payload,
                        marker=int(part == len(parts) - 1),
                        rid=rid,
                    )
                    seqs[rid] += 1
                    await transport._send_rtp(data)
            await asyncio.sleep(0.01)

        await wait_for(lambda: len(captures["main"].frames) >= 30)
        await wait_for(lambda: len(captures["thumb-1"].frames) >= 30)
        for name, rid in (("main", "f"), ("thumb-1", "q")):
            got = set(captures[name].digests)
            assert got <= set(clips[rid].digests), name  # every frame from its layer
            for other in set(SIZES) - {rid}:
                assert not got & set(clips[other].digests), (name, other)
        assert camera.wanted_layers() == ["q", "f"]
        assert camera.layers["h"].packets > 0 and not camera.layers["h"].sinks
    finally:
        if client is not None:
            await client.close()
        await pc.close()
        await publisher.close()
        await viewer.close()
