"""The several-node event bus: Redis pub/sub, one connection per bus.

Every subscription of one bus shares one pub/sub connection: a channel is
SUBSCRIBEd when its first local subscriber arrives and UNSUBSCRIBEd when its
last one leaves, and one reader task hands each message, in the order Redis
sent it, to the queues of the channel's local subscribers. SUBSCRIBE and
UNSUBSCRIBE go out through one worker task in the order ``subscribe()`` and
``close()`` were called, so that a quick leave-and-rejoin cannot reach Redis
the other way round (which would leave the rejoined subscriber deaf).

Messages are JSON text (UTF-8, not ASCII-escaped) on channel ``prefix +
channel``. Delivery is at most once: what is published while the connection
is down is lost (``publish`` raises within seconds), and every subscription
is then marked ``lagged`` so that its reader knows to resynchronise: when
the connection drops, and again when Redis confirms the channel's
subscription after the reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from conference.bus.base import Message, QueuedSubscription
from conference.redis_client import fast_failing
from conference.tasks import pause

if TYPE_CHECKING:
    from conference.bus.base import BusSubscription, EventBus

log = logging.getLogger(__name__)

# Pauses between reconnection attempts of the reader: short at first (a
# restarted Redis is back within a second), then every 2 s: one attempt costs
# one refused connection, and the bus is live again at most 2 s after Redis
# (with 5 s here, a 5-second outage took 2.3 s more to catch up).
_RECONNECT_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)


class RedisSubscription(QueuedSubscription):
    """One subscriber's queue of one channel (see :class:`conference.bus.BusSubscription`)."""

    def __init__(self, bus: RedisBus, channel: str) -> None:
        super().__init__(channel)
        self._bus = bus
        # Set once Redis confirmed the SUBSCRIBE this subscriber waits for, or
        # once it ended (closed, or the SUBSCRIBE could not be sent: _error).
        self._ready = asyncio.Event()
        self._error: BaseException | None = None

    def _end(self, error: BaseException | None = None) -> None:
        """Stop delivery and iteration (the bus already forgot this subscriber)."""
        if self._closed:
            return
        self._error = error
        self._ready.set()
        self._stop()

    async def ready(self) -> None:
        """Wait until Redis confirmed the subscription (at once if it already was).

        Raises the Redis error if the SUBSCRIBE could not be sent; the
        subscription is then closed.
        """
        await self._ready.wait()
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        """Stop receiving; iteration ends after the messages already queued."""
        if not self._closed:
            self._bus._remove(self)
            self._end()


_Command = tuple[Literal["subscribe", "unsubscribe"], str, list[RedisSubscription]]


class RedisBus:
    """:class:`conference.bus.EventBus` over Redis pub/sub, shared by several nodes.

    ``url`` is a redis-py URL; channel names get ``prefix`` in front, so that
    several deployments (or test runs) can share one server.
    """

    def __init__(self, url: str, prefix: str = "conference:") -> None:
        self.prefix = prefix
        self._wire_prefix = prefix.encode()
        # Bytes in, bytes out: channel names and payloads are decoded here. Two
        # clients: PUBLISH fails within seconds while Redis is out (a caller
        # never hangs on it), the pub/sub reader waits for messages unbounded.
        self._redis: Redis = fast_failing(url, command_timeout=None)
        self._publisher: Redis = fast_failing(url)
        self._pubsub: PubSub | None = None
        self._closed = False
        # Local subscribers by channel (without the prefix).
        self._channels: dict[str, list[RedisSubscription]] = {}
        # Channels whose latest SUBSCRIBE Redis confirmed: a new subscriber
        # there is ready at once.
        self._confirmed: set[str] = set()
        # Per channel, the subscribers waiting on each SUBSCRIBE sent and not
        # yet confirmed, oldest first: Redis confirms in the order it is asked.
        self._pending: dict[str, deque[list[RedisSubscription]]] = {}
        # The waiters of the SUBSCRIBE queued last for a channel, which a
        # newcomer joins while that SUBSCRIBE is on its way.
        self._joining: dict[str, list[RedisSubscription]] = {}
        self._commands: asyncio.Queue[_Command] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.reconnect_attempts_total = 0
        self.resubscribed_total = 0  # channels subscribed again after a reconnection

    async def publish(self, channel: str, message: Message) -> None:
        """Send ``message`` (JSON-serialisable) to every current subscriber of ``channel``."""
        wire = json.dumps(message, ensure_ascii=False)
        await self._publisher.publish(self.prefix + channel, wire)

    def subscribe(self, channel: str) -> RedisSubscription:
        """Start receiving ``channel``; await ``ready()`` before relying on it.

        Must be called from the event loop (the SUBSCRIBE is sent by a task).
        """
        if self._closed:
            raise RuntimeError("the event bus is closed")
        subscription = RedisSubscription(self, channel)
        subscribers = self._channels.get(channel)
        if subscribers is None:
            self._channels[channel] = [subscription]
            waiters = [subscription]
            self._joining[channel] = waiters
            self._send(("subscribe", channel, waiters))
        else:
            subscribers.append(subscription)
            if channel in self._confirmed:
                subscription._ready.set()
            else:
                self._joining[channel].append(subscription)
        return subscription

    def _remove(self, subscription: RedisSubscription) -> None:
        subscribers = self._channels.get(subscription.channel, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers and subscription.channel in self._channels:
            del self._channels[subscription.channel]
            self._confirmed.discard(subscription.channel)
            self._joining.pop(subscription.channel, None)
            if not self._closed:
                self._send(("unsubscribe", subscription.channel, []))

    def _send(self, command: _Command) -> None:
        self._commands.put_nowait(command)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), name="redis-bus-commands"
            )

    async def _work(self) -> None:
        """Send SUBSCRIBE / UNSUBSCRIBE one at a time, in the order asked."""
        while True:
            verb, channel, waiters = await self._commands.get()
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            wire = self.prefix + channel
            if verb == "unsubscribe":
                try:
                    await self._pubsub.unsubscribe(wire)
                except RedisError as exc:
                    # redis-py may subscribe it again after a reconnection;
                    # messages of a channel nobody here reads are dropped,
                    # so that costs only some traffic.
                    log.warning("UNSUBSCRIBE %s failed: %s", wire, exc)
                continue
            # Registered before sending: the reader may see the confirmation
            # before this task runs again.
            pending = self._pending.setdefault(channel, deque())
            pending.append(waiters)
            try:
                await self._pubsub.subscribe(wire)
            except RedisError as exc:
                log.warning("SUBSCRIBE %s failed: %s", wire, exc)
                pending.remove(waiters)
                for subscription in list(waiters):
                    self._remove(subscription)
                    subscription._end(exc)
                continue
            if self._reader is None:
                self._reader = asyncio.get_running_loop().create_task(
                    self._read(self._pubsub), name="redis-bus-reader"
                )

    async def _read(self, pubsub: PubSub) -> None:
        """Hand every message to its channel's subscribers; reconnect on failure.

        redis-py subscribes the channels again when it reconnects (inside
        ``get_message``); :meth:`_dispatch` marks their subscribers ``lagged``
        once Redis confirms, so that they resynchronise from that moment on.
        """
        failures = 0
        while True:
            try:
                reply = await pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
                if failures == 0:  # once per outage, not per attempt
                    log.warning("event bus: connection to Redis lost (%s); reconnecting", exc)
                failures += 1
                self.reconnect_attempts_total += 1
                self._mark_lagged(self._channels)
                await pause(delay)
                continue
            except Exception:
                # A bug, not the network: end every subscription so that their
                # readers see the end instead of waiting forever.
                log.exception("event bus reader failed; closing its subscriptions")
                for subscribers in list(self._channels.values()):
                    for subscription in list(subscribers):
                        self._remove(subscription)
                        subscription._end()
                raise
            if failures:
                log.info("event bus: connected to Redis again after %d attempt(s)", failures)
                failures = 0
            if reply is not None:
                self._dispatch(reply)

    def _mark_lagged(self, channels: Iterable[str]) -> None:
        """Whatever was published on ``channels`` meanwhile is gone: tell their readers."""
        for channel in channels:
            for subscription in self._channels.get(channel, ()):
                subscription.lagged = True

    def _dispatch(self, reply: dict[str, object]) -> None:
        kind = reply.get("type")
        raw_channel = reply.get("channel")
        if not isinstance(raw_channel, bytes) or not raw_channel.startswith(self._wire_prefix):
            return
        channel = raw_channel[len(self._wire_prefix) :].decode("utf-8", errors="replace")
        if kind == "subscribe":
            pending = self._pending.get(channel)
            if not pending:
                # redis-py subscribed again after a reconnection: messages flow
                # from here on, those published before are lost.
                self.resubscribed_total += 1
                self._mark_lagged([channel])
                return
            waiters = pending.popleft()
            if not pending:
                del self._pending[channel]
                # No later SUBSCRIBE on its way: newcomers need not wait.
                if channel in self._channels:
                    self._confirmed.add(channel)
                    self._joining.pop(channel, None)
            for subscription in waiters:
                subscription._ready.set()
        elif kind == "message":
            data = reply.get("data")
            if not isinstance(data, bytes):
                return
            for subscription in list(self._channels.get(channel, ())):
                try:
                    # Parsed for each subscriber: nobody shares a mutable object.
                    message = json.loads(data)
                except ValueError:
                    log.warning("dropped a message on %s that is not JSON", channel)
                    return
                if isinstance(message, dict):
                    subscription.deliver(message)

    async def close(self) -> None:
        """Close every subscription, then the connections."""
        if self._closed:
            return
        self._closed = True
        for subscribers in list(self._channels.values()):
            for subscription in list(subscribers):
                subscription._end()
        self._channels.clear()
        for task in (self._worker, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose(close_connection_pool=True)
        await self._publisher.aclose(close_connection_pool=True)


if TYPE_CHECKING:

    def _conforms(
        bus: RedisBus, subscription: RedisSubscription
    ) -> tuple[EventBus, BusSubscription]:
        """Makes mypy check both classes against their protocols."""
        return bus, subscription
