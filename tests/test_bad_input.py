"""Bad input on the signaling socket gets a clear error and hurts nobody else."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import aiohttp
import pytest

from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


async def raw_socket(server, room):
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(server.base_url.replace("http", "ws") + f"/ws/{room}")
    return session, ws


async def next_json(ws, timeout: float = 10.0):
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def frames_of(client: SignalingClient) -> int:
    return sum(len(c.frames) for name, c in client.captures.items() if not name.startswith("audio"))


async def test_bad_messages_get_errors_and_the_meeting_carries_on(server, room, clips):
    video, audio = clips
    a = SignalingClient(
        server.base_url,
        room,
        server.token(room, "A"),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    b = SignalingClient(
        server.base_url,
        room,
        server.token(room, "B"),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    await a.connect()
    await b.connect()
    session, ws = await raw_socket(server, room)
    try:
        await a.wait_for(lambda m: m["type"] == "offer")
        await b.wait_for(lambda m: m["type"] == "offer")

        # Before join: anything but join/ping is refused.
        await ws.send_str(json.dumps({"type": "mute", "audio": True, "video": False}))
        assert (await next_json(ws))["code"] == "not-joined"
        # Not JSON.
        await ws.send_str("{not json")
        error = await next_json(ws)
        assert (error["type"], error["code"], error["fatal"]) == ("error", "bad-json", False)
        # Unknown type, missing field, wrong type, extra field.
        for bad in (
            {"type": "dance"},
            {"type": "answer"},
            {"type": "mute", "audio": "yes", "video": 1},
            {"type": "ping", "id": 1, "extra": True},
            [1, 2, 3],
        ):
            await ws.send_str(json.dumps(bad))
            assert (await next_json(ws))["code"] == "invalid-message", bad
        # Binary frames.
        await ws.send_bytes(b"\x00\x01")
        assert (await next_json(ws))["code"] == "invalid-message"
        # Oversized (above the 64 KiB application limit): an error, the socket stays.
        await ws.send_str(json.dumps({"type": "ping", "pad": "x" * 70_000}))
        assert (await next_json(ws))["code"] == "message-too-large"
        await ws.send_str(json.dumps({"type": "ping", "id": 7}))
        assert await next_json(ws) == {"type": "pong", "id": 7}

        # Join, then send an answer that is not SDP: an error, the socket stays.
        await ws.send_str(json.dumps({"type": "join", "token": server.token(room, "C")}))
        assert (await next_json(ws))["type"] == "welcome"
        assert (await next_json(ws))["type"] == "offer"
        await ws.send_str(json.dumps({"type": "answer", "sdp": "v=0\r\nnonsense"}))
        while (message := await next_json(ws))["type"] != "error":
            pass
        assert message["code"] == "invalid-sdp"
        await ws.send_str(
            json.dumps({"type": "ice", "candidate": {"candidate": "candidate:garbage"}})
        )
        while (message := await next_json(ws))["type"] != "error":
            pass
        assert message["code"] == "invalid-sdp"
        await ws.send_str(json.dumps({"type": "join", "token": server.token(room, "C")}))
        while (message := await next_json(ws))["type"] != "error":
            pass
        assert message["code"] == "already-joined"

        # Larger than the hard limit: aiohttp closes that socket with 1009.
        await ws.send_str("x" * (1024 * 1024 + 10))
        while True:
            closing = await ws.receive(timeout=10)
            if closing.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            ):
                break
        assert ws.close_code == 1009

        # A and B never noticed: still in the room, still receiving video.
        before = (await frames_of(a), await frames_of(b))

        async def both_advanced() -> bool:
            return await frames_of(a) > before[0] + 20 and await frames_of(b) > before[1] + 20

        await eventually(both_advanced, timeout=25)
        assert not [m for m in a.messages if m["type"] == "error"]
        async with session.get(f"{server.base_url}/healthz") as health:
            assert (await health.json())["status"] == "ok"
    finally:
        await ws.close()
        await session.close()
        await a.close()
        await b.close()


@pytest.mark.parametrize(
    ("make_token", "code", "close_code"),
    [
        (
            lambda s, r: s.token(r, "X", ttl=timedelta(minutes=1), issued_at=time.time() - 600),
            "token-expired",
            4401,
        ),
        (lambda s, r: s.token(r, "X")[:-3] + "abc", "token-invalid", 4401),
        (lambda s, r: "not-a-token", "token-malformed", 4401),
        (lambda s, r: s.token("khong-ton-tai", "X"), "wrong-room", 4403),
    ],
)
async def test_join_with_bad_token_is_refused(server, room, make_token, code, close_code):
    session, ws = await raw_socket(server, room)
    try:
        await ws.send_str(json.dumps({"type": "join", "token": make_token(server, room)}))
        error = await next_json(ws)
        assert (error["type"], error["code"], error["fatal"]) == ("error", code, True)
        closing = await ws.receive(timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == close_code
    finally:
        await ws.close()
        await session.close()


async def test_join_unknown_room_is_refused(server):
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(server.base_url.replace("http", "ws") + "/ws/khong-ton-tai")
    try:
        await ws.send_str(json.dumps({"type": "join", "token": server.token("khong-ton-tai", "X")}))
        error = await next_json(ws)
        assert (error["code"], error["fatal"]) == ("room-not-found", True)
        await ws.receive(timeout=10)
        assert ws.close_code == 4404
    finally:
        await ws.close()
        await session.close()
