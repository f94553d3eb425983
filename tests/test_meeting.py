"""Integration: sites join the real server over WebSocket with aiortc peers."""

from __future__ import annotations

import pytest

from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=90, gop=30), encode_opus(2.0)


def site(
    server: ServerProcess, room: str, name: str, clips, thumbnails: int = 8
) -> SignalingClient:
    video, audio = clips
    return SignalingClient(
        server.base_url,
        room,
        server.token(room, name),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
        thumbnails=thumbnails,
    )


def frames_from(client: SignalingClient, slot: str) -> int:
    capture = client.captures.get(slot)
    return len(capture.frames) if capture else 0


async def test_three_sites_see_and_hear_each_other(server, room, clips):
    sites = [site(server, room, n, clips) for n in ("Tỉnh", "Huyện Định Hóa", "Xã Yên Bình")]
    try:
        for s in sites:
            await s.connect()
            await s.wait_for(lambda m: m["type"] == "offer")
        # Every site gets the two others in its video slots, and both in audio slots.
        ids = [
            (await s.wait_for(lambda m: m["type"] == "welcome"))["participant"]["id"] for s in sites
        ]

        def sees_others(index: int) -> bool:
            assignments = sites[index].current_slots()
            video = {v for k, v in assignments.items() if not k.startswith("audio") and v}
            audio = {v for k, v in assignments.items() if k.startswith("audio") and v}
            others = set(ids) - {ids[index]}
            return video == others and audio == others

        await wait_until(lambda: all(sees_others(i) for i in range(3)))

        def receiving(index: int) -> bool:
            client = sites[index]
            assignments = client.current_slots()
            return all(
                frames_from(client, slot) >= 10
                for slot, who in assignments.items()
                if who is not None
            )

        await wait_until(lambda: all(receiving(i) for i in range(3)))

        # The second site leaves; the others keep receiving from the remaining one.
        await sites[1].send({"type": "leave"})
        bye = await sites[1].wait_for(lambda m: m["type"] == "bye")
        assert bye["reason"] == "left"
        for index in (0, 2):
            left = await sites[index].wait_for(
                lambda m: m["type"] == "participant-left" and m["id"] == ids[1]
            )
            assert left["reason"] == "left"
        await wait_until(lambda: ids[1] not in sites[0].current_slots().values())
        remaining = {0: ids[2], 2: ids[0]}

        def video_from(i: int) -> int:
            return sum(
                frames_from(sites[i], s)
                for s, who in sites[i].current_slots().items()
                if who == remaining[i] and not s.startswith("audio")
            )

        # "Keeps receiving": 20 more frames arrive. Waited for, not timed: a
        # loaded machine can drop a packet and its retransmission, and aiortc's
        # jitter buffer then holds frames back for ~128 packets before a PLI.
        before = {i: video_from(i) for i in remaining}
        for i in remaining:
            await wait_until(lambda i=i: video_from(i) > before[i] + 20)
    finally:
        for s in sites:
            await s.close()


async def test_new_site_does_not_renegotiate_others(server, room, clips):
    first = site(server, room, "Điểm cầu 1", clips)
    second = site(server, room, "Điểm cầu 2", clips)
    try:
        await first.connect()
        await first.wait_for(lambda m: m["type"] == "offer")
        await second.connect()
        await second.wait_for(lambda m: m["type"] == "offer")
        await first.wait_for(lambda m: m["type"] == "participant-joined")
        await wait_until(lambda: frames_from(first, "main") >= 5)
        assert len(first.of_type("offer")) == 1, "joining must not send the first site a new offer"
    finally:
        await first.close()
        await second.close()
