"""A room's console events on the event bus: the channel name and the ordered publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from conference.bus import EventBus
from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import ConsoleEvent, StateChanged
from conference.tasks import spawn

logger = logging.getLogger(__name__)

# While events are being lost, the whole state is tried this often when the room
# is quiet: it reaches the consoles as soon as Redis is back.
RESYNC_PROBE_SECONDS = 2.0


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
        # The room's whole state as an event (set by the room's owner): published
        # after events were lost, so that every console, on any node, catches up.
        self.resync: Callable[[], ConsoleEvent] | None = None
        self.closed = False
        self.task = spawn(self._drain(), name=f"console-feed-{channel}")

    def put(self, event: ConsoleEvent) -> None:
        """Queue one console event (never blocks); dropped once the feed is closed."""
        if not self.closed:
            self.queue.put_nowait(event)

    async def _drain(self) -> None:
        failing = False  # events were lost and the consoles not told yet
        while True:
            if failing and self.resync is not None:
                try:
                    event: ConsoleEvent | None = await asyncio.wait_for(
                        self.queue.get(), RESYNC_PROBE_SECONDS
                    )
                except TimeoutError:
                    event = self.resync()  # nothing new: the whole state is due anyway
            else:
                event = await self.queue.get()
            if event is None:
                return
            published = await self._publish(event, warn=not failing)
            if published and failing:
                failing = False
                logger.info("console events on %s are published again", self.channel)
                if self.resync is not None and not isinstance(event, StateChanged):
                    await self._publish(self.resync(), warn=True)
            elif not published:
                failing = True

    async def _publish(self, event: ConsoleEvent, warn: bool) -> bool:
        """Publish one event; False if it is lost (the bus cannot reach Redis)."""
        try:
            await self.bus.publish(self.channel, event.to_wire())
        except UNREACHABLE as exc:
            if warn:  # once per outage, not once per event
                logger.warning(
                    "console events on %s are being lost: the bus is unreachable (%s); "
                    "the whole state follows when it is back",
                    self.channel,
                    exc,
                )
            return False
        except Exception:
            logger.exception("publishing on %s failed", self.channel)
        return True

    async def close(self) -> None:
        """Publish what is queued, then stop."""
        self.closed = True
        self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
