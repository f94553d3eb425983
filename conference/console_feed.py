"""A room's console events on the event bus: the channel name and the ordered publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from conference.bus import EventBus
from conference.rooms.console_events import ConsoleEvent
from conference.tasks import spawn

logger = logging.getLogger(__name__)


def meeting_channel(room_id: str) -> str:
    """The bus channel of a room's console events."""
    return f"meeting:{room_id}"


class ConsoleFeed:
    """Publishes one room's console events on the bus, in order, off the hot path.

    The room calls :meth:`put` from its synchronous code; a task drains the
    queue, so a slow bus (Redis across the network) never holds up the room.
    """

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: asyncio.Queue[ConsoleEvent | None] = asyncio.Queue()
        self.task = spawn(self._drain(), name=f"console-feed-{channel}")

    def put(self, event: ConsoleEvent) -> None:
        """Queue one console event (never blocks)."""
        self.queue.put_nowait(event)

    async def _drain(self) -> None:
        while (event := await self.queue.get()) is not None:
            try:
                await self.bus.publish(self.channel, event.to_wire())
            except Exception:
                logger.exception("publishing on %s failed", self.channel)

    async def close(self) -> None:
        """Publish what is queued, then stop."""
        self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
