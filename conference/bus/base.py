"""The ``EventBus`` protocol: publish JSON messages on channels, subscribe to them.

Delivery is at most once and in order per channel and subscriber, as Redis
pub/sub gives it; a subscriber that is not reading does not hold anyone up
(its messages queue up to a bound, then it is told it fell behind).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol

Message = dict[str, Any]

# A subscriber that falls this far behind loses the messages beyond it (see ``lagged``).
SUBSCRIBER_QUEUE_LIMIT = 10_000


class BusSubscription(Protocol):
    """Messages of one channel, as they are published after ``subscribe``."""

    channel: str
    lagged: bool  # True once messages were dropped because the reader fell behind

    def __aiter__(self) -> AsyncIterator[Message]:
        """Iterate messages until :meth:`close`."""
        ...

    async def ready(self) -> None:
        """Wait until the subscription is active (messages published after this arrive)."""
        ...

    async def close(self) -> None:
        """Stop receiving; iteration ends."""
        ...


class QueuedSubscription:
    """A subscriber's bounded queue of one channel: what both engines' subscriptions share.

    The engine calls :meth:`deliver` for each message of the channel; the
    reader iterates. A reader that falls :data:`SUBSCRIBER_QUEUE_LIMIT`
    messages behind loses the rest and is marked ``lagged``.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.lagged = False
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._closed = False

    def deliver(self, message: Message) -> None:
        """Queue ``message`` for the reader (dropped once closed or too far behind)."""
        if self._closed:
            return
        # Read at call time, so a test can lower the bound with monkeypatch.
        if self._queue.qsize() >= SUBSCRIBER_QUEUE_LIMIT:
            self.lagged = True
            return
        self._queue.put_nowait(message)

    def _stop(self) -> None:
        """Deliver nothing more; iteration ends after the messages already queued."""
        self._closed = True
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Message]:
        """Messages in the order they were published, until the subscription is closed."""
        while True:
            message = await self._queue.get()
            if message is None:
                return
            yield message


class EventBus(Protocol):
    """Publish/subscribe between the parts of the service (and between nodes)."""

    async def publish(self, channel: str, message: Message) -> None:
        """Send ``message`` (JSON-serialisable) to every current subscriber of ``channel``."""
        ...

    def subscribe(self, channel: str) -> BusSubscription:
        """Start receiving ``channel``; await ``ready()`` before relying on it."""
        ...

    async def close(self) -> None:
        """Close every subscription and the connection."""
        ...
