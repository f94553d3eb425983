"""The in-process event bus: one asyncio queue per subscriber."""

from __future__ import annotations

import json

from conference.bus.base import Message, QueuedSubscription


class MemorySubscription(QueuedSubscription):
    """One subscriber's queue of one channel."""

    def __init__(self, bus: MemoryBus, channel: str) -> None:
        super().__init__(channel)
        self._bus = bus

    async def ready(self) -> None:
        return None  # active from the moment it exists

    async def close(self) -> None:
        if not self._closed:
            self._bus._remove(self)
            self._stop()


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
