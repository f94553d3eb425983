"""One contract for every EventBus engine: each test runs in-process and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import RedisError

from conference.bus import EventBus
from conference.bus.base import BusSubscription, Message
from conference.bus.redis import RedisBus
from tests.support.redis_keys import unique_prefix
from tests.support.waiting import wait_until

# Only turns a lost message into a failure instead of a hang; asserts no speed.
RECEIVE_TIMEOUT = 10.0


async def subscribed(bus: EventBus, channel: str) -> tuple[BusSubscription, AsyncIterator[Message]]:
    """A ready subscription and the one iterator the test reads it with."""
    subscription = bus.subscribe(channel)
    await subscription.ready()
    return subscription, aiter(subscription)


async def receive(messages: AsyncIterator[Message]) -> Message:
    return await asyncio.wait_for(anext(messages), RECEIVE_TIMEOUT)


async def test_round_trip(any_bus):
    _, messages = await subscribed(any_bus, "room:giao-ban")
    await any_bus.publish("room:giao-ban", {"type": "joined", "site": "167", "n": 1.5})
    assert await receive(messages) == {"type": "joined", "site": "167", "n": 1.5}


async def test_order_is_kept(any_bus):
    _, messages = await subscribed(any_bus, "room:order")
    for n in range(300):
        await any_bus.publish("room:order", {"n": n})
    assert [(await receive(messages))["n"] for _ in range(300)] == list(range(300))


async def test_every_subscriber_gets_its_own_copy(any_bus):
    _, first = await subscribed(any_bus, "room:shared")
    _, second = await subscribed(any_bus, "room:shared")  # the channel is live already
    await any_bus.publish("room:shared", {"sites": ["167"]})
    one = await receive(first)
    one["sites"].append("mutated")
    assert await receive(second) == {"sites": ["167"]}


async def test_channels_are_isolated(any_bus):
    _, a = await subscribed(any_bus, "room:a")
    _, b = await subscribed(any_bus, "room:b")
    await any_bus.publish("room:b", {"to": "b"})
    await any_bus.publish("room:c", {"to": "c"})  # nobody listens: no error
    await any_bus.publish("room:a", {"to": "a"})
    assert await receive(a) == {"to": "a"}
    assert await receive(b) == {"to": "b"}


async def test_close_stops_delivery_and_ends_iteration(any_bus):
    leaving, leaving_messages = await subscribed(any_bus, "room:leave")
    _, staying = await subscribed(any_bus, "room:leave")
    await any_bus.publish("room:leave", {"n": 1})
    await leaving.close()
    await leaving.close()  # twice is harmless
    await any_bus.publish("room:leave", {"n": 2})
    assert await receive(staying) == {"n": 1}
    assert await receive(staying) == {"n": 2}
    # What was queued before close() is still read, then iteration ends.
    rest = await asyncio.wait_for(_drain(leaving_messages), RECEIVE_TIMEOUT)
    assert rest in ([], [{"n": 1}])
    assert {"n": 2} not in rest


async def test_leaving_and_rejoining_at_once(any_bus):
    # The last subscriber leaves and a new one comes straight away: the
    # UNSUBSCRIBE and SUBSCRIBE must reach Redis in that order.
    first, _ = await subscribed(any_bus, "room:again")
    await first.close()
    _, messages = await subscribed(any_bus, "room:again")
    await any_bus.publish("room:again", {"back": True})
    assert await receive(messages) == {"back": True}


async def test_vietnamese_text_survives(any_bus):
    _, messages = await subscribed(any_bus, "phòng:định-hóa")
    text = "Điểm cầu Xã Linh Thông — họp giao ban quý IV, ưu tiên “khẩn” ✓"
    await any_bus.publish("phòng:định-hóa", {"title": text, "nested": {"tên": [text, "ạ"]}})
    assert await receive(messages) == {"title": text, "nested": {"tên": [text, "ạ"]}}


async def test_a_reader_that_falls_behind_is_told(any_bus, monkeypatch):
    limit = 5
    monkeypatch.setattr("conference.bus.base.SUBSCRIBER_QUEUE_LIMIT", limit)
    slow, slow_messages = await subscribed(any_bus, "room:busy")
    _, fast = await subscribed(any_bus, "room:busy")
    assert not slow.lagged
    for n in range(limit + 3):
        await any_bus.publish("room:busy", {"n": n})
        assert await receive(fast) == {"n": n}  # one reader's lag is nobody else's
    await wait_until(lambda: slow.lagged, timeout=RECEIVE_TIMEOUT, interval=0.01)
    assert [(await receive(slow_messages))["n"] for _ in range(limit)] == list(range(limit))
    # The overflow was dropped; what comes next is delivered again.
    await any_bus.publish("room:busy", {"n": "after"})
    assert await receive(slow_messages) == {"n": "after"}
    assert slow.lagged  # stays set: the reader must resynchronise


async def test_closing_the_bus_ends_every_subscription(any_bus):
    _, a = await subscribed(any_bus, "room:x")
    _, b = await subscribed(any_bus, "room:y")
    await any_bus.close()
    assert await asyncio.wait_for(_drain(a), RECEIVE_TIMEOUT) == []
    assert await asyncio.wait_for(_drain(b), RECEIVE_TIMEOUT) == []


# -- Redis only: what one process cannot show ----------------------------------------


async def test_redis_nodes_talk_through_the_server(redis_url):
    prefix = unique_prefix()
    node_a, node_b, stranger = (
        RedisBus(redis_url, prefix),
        RedisBus(redis_url, prefix),
        RedisBus(redis_url, unique_prefix()),  # another deployment on the same server
    )
    try:
        _, on_b = await subscribed(node_b, "room:1")
        _, on_stranger = await subscribed(stranger, "room:1")
        await node_a.publish("room:1", {"from": "a"})
        assert await receive(on_b) == {"from": "a"}
        await stranger.publish("room:1", {"from": "stranger"})
        await node_a.publish("room:1", {"from": "a", "n": 2})
        assert await receive(on_b) == {"from": "a", "n": 2}  # prefixes keep them apart
        assert await receive(on_stranger) == {"from": "stranger"}
    finally:
        for bus in (node_a, node_b, stranger):
            await bus.close()


async def test_redis_subscribe_without_a_server_fails_and_ends():
    bus = RedisBus("redis://127.0.0.1:1/0", unique_prefix())  # nobody listens on port 1
    try:
        subscription = bus.subscribe("room:1")
        with pytest.raises(RedisError):
            await asyncio.wait_for(subscription.ready(), 60)
        assert await asyncio.wait_for(_drain(aiter(subscription)), RECEIVE_TIMEOUT) == []
    finally:
        await bus.close()


async def _drain(messages: AsyncIterator[Message]) -> list[Message]:
    return [message async for message in messages]
