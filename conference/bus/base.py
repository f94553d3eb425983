"""The ``EventBus`` protocol: publish JSON messages on channels, subscribe to them.

Delivery is at most once and in order per channel and subscriber, as Redis
pub/sub gives it; a subscriber that is not reading does not hold anyone up
(its messages queue up to a bound, then it is told it fell behind).
"""

from __future__ import annotations

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
