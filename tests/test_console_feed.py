"""A room's console events on the bus: lost while Redis is out, then the whole state."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from conference.console_feed import ConsoleFeed
from conference.rooms.console_events import ConsoleState, LockChanged, StateChanged
from tests.support.waiting import wait_until


class OutageBus:
    """Records what is published; refuses while ``down``, as RedisBus does with Redis out."""

    def __init__(self) -> None:
        self.down = False
        self.published: list[dict[str, Any]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self.down:
            raise RedisConnectionError("Connection refused")
        self.published.append(message)


def whole_state(locked: bool) -> StateChanged:
    return StateChanged(
        state=ConsoleState(
            room={"id": "r", "name": "Họp"},
            sites=[],
            tiers=[],
            hands=[],
            floor=None,
            spotlight=None,
            speaker=None,
            locked=locked,
            recording=False,
            open=True,
            present=0,
        )
    )


async def test_events_lost_in_an_outage_are_followed_by_the_whole_state(caplog):
    bus = OutageBus()
    feed = ConsoleFeed(bus, "meeting:r")  # type: ignore[arg-type]
    locked = {"now": False}
    feed.resync = lambda: whole_state(locked["now"])
    try:
        feed.put(LockChanged(locked=False))
        await wait_until(lambda: len(bus.published) == 1)

        bus.down = True
        with caplog.at_level(logging.WARNING, logger="conference.console_feed"):
            locked["now"] = True
            feed.put(LockChanged(locked=True))  # lost
            feed.put(LockChanged(locked=True))  # lost too
            await asyncio.sleep(0.1)
        assert caplog.text.count("are being lost") == 1  # once per outage
        assert len(bus.published) == 1

        # Back, with the room quiet: the whole state goes out without a new event.
        bus.down = False
        await wait_until(lambda: len(bus.published) == 2)
        assert bus.published[1]["type"] == "state"
        assert bus.published[1]["state"]["locked"] is True
    finally:
        await feed.close()
