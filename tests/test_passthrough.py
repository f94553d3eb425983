"""Passthrough: what subscribers get is byte-identical to what publishers sent."""

from __future__ import annotations

import asyncio

from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient, whip_publish


async def test_frames_are_forwarded_byte_identical(server, room):
    video = encode_vp8(frames=90, gop=30)
    audio = encode_opus(1.8)
    sent_video: set[str] = set()
    import hashlib

    def remember(data: bytes, _at: float) -> None:
        sent_video.add(hashlib.sha1(data).hexdigest())

    token = server.token(room, "Điểm cầu phát", site_id="publisher")
    pc, response, body = await whip_publish(
        server.base_url, room, token, [PacketTrack(video, on_send=remember), PacketTrack(audio)]
    )
    assert response.status == 201, body
    viewers = [
        SignalingClient(server.base_url, room, server.token(room, f"Xem {i}"), publish={})
        for i in range(2)
    ]
    try:
        for viewer in viewers:
            await viewer.connect()
            await viewer.wait_for(lambda m: m["type"] == "offer")
        deadline = asyncio.get_running_loop().time() + 20
        while any(
            len(v.captures["main"].frames) < 60 or len(v.captures["audio-1"].frames) < 40
            for v in viewers
        ):
            assert asyncio.get_running_loop().time() < deadline, "not enough frames arrived"
            await asyncio.sleep(0.2)
        for viewer in viewers:
            got_video = viewer.captures["main"].digests
            got_audio = viewer.captures["audio-1"].digests
            # Every frame received is one the publisher sent, bit for bit...
            assert set(got_video) <= video.digests
            assert set(got_audio) <= audio.digests
            # ...and the stream starts on a keyframe, so it is decodable.
            first = viewer.captures["main"].frames[0]
            assert not first[0] & 0x01, "first forwarded VP8 frame is not a keyframe"
            assert set(got_video) <= sent_video
    finally:
        for viewer in viewers:
            await viewer.close()
        await pc.close()
