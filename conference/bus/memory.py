"""The in-process event bus: one asyncio queue per subscriber."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from conference.bus import base
from conference.bus.base import Message


class MemorySubscription:
    """One subscriber's queue of one channel."""

    def __init__(self, bus: MemoryBus, channel: str) -> None:
        self.channel = channel
        self.lagged = False
        self._bus = bus
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._closed = False

    def deliver(self, message: Message) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= base.SUBSCRIBER_QUEUE_LIMIT:  # read now: tests lower it
            self.lagged = True
            return
        self._queue.put_nowait(message)

    async def ready(self) -> None:
        return None  # active from the moment it exists

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            yield message

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._remove(self)
            self._queue.put_nowait(None)


class MemoryBus:
    """:class:`conference.bus.EventBus` inside one process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[MemorySubscription]] = {}

    async def publish(self, channel: str, message: Message) -> None:
        # A JSON round trip, so that subscribers get what Redis would give them
        # and nobody shares a mutable object with the publisher.
        wire = json.dumps(message, ensure_ascii=False)
        for subscription in list(self._subscribers.get(channel, ())):
            subscription.deliver(json.loads(wire))

    def subscribe(self, channel: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channel)
        self._subscribers.setdefault(channel, []).append(subscription)
        return subscription

    def _remove(self, subscription: MemorySubscription) -> None:
        subscribers = self._subscribers.get(subscription.channel, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers:
            self._subscribers.pop(subscription.channel, None)

    async def close(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                await subscription.close()
