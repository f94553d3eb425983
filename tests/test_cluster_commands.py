"""Console commands sent between nodes: only sealed, fresh, unreplayed envelopes are run.

Two relays on one in-process bus (the same protocol as Redis pub/sub), a real
SQLite store for the accounts; the home's "live room" is a function that
records what it ran. The end-to-end path (a console on one node muting a site
at another) is in tests/test_nodes.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from conference.bus import MemoryBus
from conference.cluster.commands import CHANNEL, CommandRelay
from conference.permissions import Forbidden, Principal
from conference.rooms.console_events import CommandReply, SitesMuted, VoteCommanded
from conference.store import AccountRole, SqliteStore, User
from tests.support.waiting import eventually, wait_until

KEY = b"k" * 32


async def homes(room_id: str) -> str | None:
    return "home"


@pytest.fixture
async def relays(store: SqliteStore):
    await store.create_user(
        User("host.dinhhoa", "Định Hóa", AccountRole.HOST, None, "x", time.time())
    )
    bus = MemoryBus()
    ran: list[tuple[str, str, str, str | None]] = []
    arguments: list[dict[str, Any]] = []

    async def run_here(
        principal: Principal, meeting: str, command: str, site: str | None, args: Mapping[str, Any]
    ) -> CommandReply:
        if command == "vote-open":
            arguments.append(dict(args))
            return VoteCommanded(vote="v1")
        if command == "remove":
            raise Forbidden("cannot-remove", "the host site cannot be removed")
        ran.append((principal.username, meeting, command, site))
        return SitesMuted(muted=[site or ""])

    home = CommandRelay(bus, KEY, "home", homes, store)
    home.run_here = run_here
    other = CommandRelay(bus, KEY, "other", homes, store)
    serving = asyncio.ensure_future(home.serve())
    await asyncio.sleep(0)  # subscribed
    yield bus, home, other, ran, arguments
    serving.cancel()
    await bus.close()


HOST = Principal("host.dinhhoa", "Định Hóa", AccountRole.HOST, "167")


async def test_a_command_runs_at_the_home_and_its_reply_or_refusal_comes_back(relays):
    _bus, home, other, ran, _arguments = relays
    reply = await other.forward(HOST, "meeting-1", "room-1", "mute", "05536")
    assert reply == SitesMuted(muted=["05536"])
    assert ran == [("host.dinhhoa", "meeting-1", "mute", "05536")]
    with pytest.raises(Forbidden) as refused:
        await other.forward(HOST, "meeting-1", "room-1", "remove", "167")
    assert refused.value.code == "cannot-remove"
    # An account the home does not know is refused there, whatever the sender checked.
    stranger = Principal("nobody", "?", AccountRole.ADMIN, None)
    with pytest.raises(Forbidden) as unknown:
        await other.forward(stranger, "meeting-1", "room-1", "mute", "05536")
    assert unknown.value.code == "not-your-meeting"
    assert home.served_total == 1 and other.forwarded_total == 3


async def test_a_commands_own_arguments_travel_to_the_home(relays):
    """A vote put from a console at another node: its question and options reach the home."""
    _bus, _home, other, _ran, arguments = relays
    args = {"question": "Thông qua?", "options": ["Đồng ý", "Không"], "secret": True}
    reply = await other.forward(HOST, "meeting-1", "room-1", "vote-open", None, args)
    assert reply == VoteCommanded(vote="v1")
    assert arguments == [args]


async def test_forged_stale_misaddressed_and_replayed_envelopes_are_dropped(relays):
    bus, home, other, ran, _arguments = relays
    body = other._body(
        "home",
        reply_to="r",
        username="host.dinhhoa",
        meeting="m",
        command="mute",
        site="05536",
    )
    sealed = other._seal(body)
    channel = f"{CHANNEL}home"
    await bus.publish(channel, {"body": sealed["body"], "mac": "0" * 64})  # forged
    await bus.publish(channel, CommandRelay(bus, b"z" * 32, "x", homes, None)._seal(body))  # type: ignore[arg-type]
    stale = dict(body, at=time.time() - 120, nonce="n-stale")
    await bus.publish(channel, other._seal(stale))
    elsewhere = dict(body, to="another-node", nonce="n-else")
    await bus.publish(channel, other._seal(elsewhere))
    await bus.publish(channel, {"no": "envelope"})
    await bus.publish(channel, sealed)  # the one good envelope
    await bus.publish(channel, sealed)  # and its replay

    async def settled() -> bool:
        return home.rejected_total == 6 and len(ran) == 1

    await eventually(settled, timeout=10)
    assert ran == [("host.dinhhoa", "m", "mute", "05536")]
    assert json.loads(sealed["body"])["to"] == "home"


async def test_a_home_that_does_not_answer_is_said_so(relays):
    bus, _home, _other, _ran, _arguments = relays

    async def elsewhere(room_id: str) -> str | None:
        return "gone"

    lonely = CommandRelay(bus, KEY, "lonely", elsewhere, None)  # type: ignore[arg-type]
    with pytest.raises(Forbidden) as silent:
        await lonely.forward(HOST, "m", "r", "mute", "05536")
    assert silent.value.code == "home-not-answering"

    async def nobody(room_id: str) -> str | None:
        return None

    closed = CommandRelay(bus, KEY, "lonely", nobody, None)  # type: ignore[arg-type]
    with pytest.raises(Forbidden) as not_open:
        await closed.forward(HOST, "m", "r", "mute", "05536")
    assert not_open.value.code == "room-not-open"


class FlakyBus(MemoryBus):
    """A bus that cannot subscribe for its first ``failures`` attempts (Redis out at start)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def subscribe(self, channel: str):  # type: ignore[no-untyped-def]
        subscription = super().subscribe(channel)
        if channel.startswith(CHANNEL) and self.failures > 0:
            self.failures -= 1

            async def refused() -> None:
                raise RedisConnectionError("Connection refused")

            subscription.ready = refused  # type: ignore[method-assign]
        return subscription


async def test_a_node_serves_commands_once_the_bus_can_subscribe(store: SqliteStore, caplog):
    """Redis out when the node starts: serving is tried again, not given up."""
    await store.create_user(
        User("host.dinhhoa", "Định Hóa", AccountRole.HOST, None, "x", time.time())
    )
    bus = FlakyBus(failures=3)
    ran: list[str] = []

    async def run_here(
        principal: Principal, meeting: str, command: str, site: str | None, args: Mapping[str, Any]
    ) -> CommandReply:
        ran.append(command)
        return SitesMuted(muted=[site or ""])

    home = CommandRelay(bus, KEY, "home", homes, store)
    home.run_here = run_here
    other = CommandRelay(bus, KEY, "other", homes, store)
    with caplog.at_level(logging.WARNING, logger="conference.cluster.commands"):
        serving = asyncio.ensure_future(home.serve())
        try:
            await wait_until(lambda: bus.failures == 0)
            assert not serving.done()

            async def answered() -> bool:
                try:
                    reply = await other.forward(HOST, "m1", "room-1", "mute", "05536")
                except Forbidden:
                    return False  # not subscribed yet: the home did not answer
                return isinstance(reply, SitesMuted)

            assert await eventually(answered)
            assert ran and ran[-1] == "mute"
            assert caplog.text.count("cannot subscribe") == 1  # once per outage
        finally:
            serving.cancel()
            await bus.close()
