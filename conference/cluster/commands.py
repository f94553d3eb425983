"""Console commands follow the meeting's home: a console on one node runs them at another.

A host's console may open on any node: its roll call already comes over the
bus (Redis pub/sub, shared by every node). A command, though, needs the live
room, which only the meeting's home has. So a node whose room is not open
here sends the command to the node holding the meeting's home lease, on that
node's channel ``node-commands:NODE``, and waits (up to
:data:`REPLY_TIMEOUT`) for the answer on a channel of its own.

The bus is only as trusted as Redis, and the home acts for an account it
did not see log in, so every envelope is sealed with the cluster key (HMAC
over the body, as node records are), names its sender and its receiver,
carries its time (at most :data:`MAX_SKEW` seconds off) and a nonce seen only
once. The home loads the account from the store and checks again that it may
run this meeting's console before it runs anything; what the sender checked
is not taken on trust. Anything else on the channel is dropped and counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conference.bus import EventBus
from conference.permissions import Forbidden, Principal
from conference.ratelog import RateLimitedLog
from conference.redis_client import UNREACHABLE
from conference.rooms.console_events import (
    CommandDone,
    CommandReply,
    RecordingCommanded,
    SitesMuted,
    VoteCommanded,
)
from conference.store import AccountStore
from conference.tasks import pause, spawn

logger = logging.getLogger(__name__)
DROPPED_LOG = RateLimitedLog(logger)  # anyone who can write to Redis could flood it

CHANNEL = "node-commands:"
REPLY_TIMEOUT = 5.0
MAX_SKEW = 30.0  # seconds an envelope's time may be off this node's clock
NONCES_KEPT = 4096
_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # between attempts to subscribe while Redis is out

_REPLIES: dict[str, type[CommandReply]] = {
    "done": CommandDone,
    "muted": SitesMuted,
    "recording": RecordingCommanded,
    "vote": VoteCommanded,
}
_REPLY_KINDS = {cls: kind for kind, cls in _REPLIES.items()}

# Runs a command at the live room here (never forwarding it again): (principal,
# meeting id, command, site, the command's own arguments: a chat's text...).
RunHere = Callable[[Principal, str, str, str | None, Mapping[str, Any]], Awaitable[CommandReply]]


class CommandRelay:
    """Sends console commands to a meeting's home and runs those sent here."""

    def __init__(
        self,
        bus: EventBus,
        key: bytes,
        node_id: str,
        home_of: Callable[[str], Awaitable[str | None]],
        accounts: AccountStore,
    ) -> None:
        self.bus = bus
        self._key = key
        self.node_id = node_id
        self._home_of = home_of  # room id -> the node holding its home lease, if any
        self._accounts = accounts
        self.run_here: RunHere | None = None  # set by the composition root
        self._nonces: OrderedDict[str, float] = OrderedDict()
        self.forwarded_total = 0
        self.served_total = 0
        self.rejected_total = 0  # envelopes dropped: bad seal, stale, replayed, not ours

    # -- sealing ----------------------------------------------------------------------------

    def _seal(self, body: dict[str, Any]) -> dict[str, str]:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        mac = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return {"body": text, "mac": mac}

    def _open(self, envelope: Any) -> dict[str, Any] | None:
        """The body of a sealed envelope for this node, or None (dropped and counted)."""
        try:
            text, mac = envelope["body"], envelope["mac"]
            expected = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(str(mac), expected):
                raise ValueError("bad seal")
            body = json.loads(text)
            if body["to"] != self.node_id or abs(time.time() - float(body["at"])) > MAX_SKEW:
                raise ValueError("not ours, or stale")
            nonce = str(body["nonce"])
            if nonce in self._nonces:
                raise ValueError("replayed")
        except (KeyError, TypeError, ValueError) as exc:
            self.rejected_total += 1
            DROPPED_LOG.log("cluster commands: dropped an envelope (%s)", exc)
            return None
        self._nonces[nonce] = time.monotonic()
        while len(self._nonces) > NONCES_KEPT:
            self._nonces.popitem(last=False)
        return body

    def _body(self, to: str, **fields: Any) -> dict[str, Any]:
        return {
            "from": self.node_id,
            "to": to,
            "at": time.time(),
            "nonce": secrets.token_hex(16),
            **fields,
        }

    # -- sending ----------------------------------------------------------------------------

    async def forward(
        self,
        principal: Principal,
        meeting_id: str,
        room_id: str,
        command: str,
        site: str | None,
        args: Mapping[str, Any] | None = None,
    ) -> CommandReply:
        """Run ``command`` at the meeting's home; its reply, or Forbidden as it was refused.

        ``args`` (a chat's ``text``, a vote's ``question``...) travel as the
        console socket validated them; the home checks them again.
        """
        home = await self._home_of(room_id)
        if home is None or home == self.node_id:
            raise Forbidden("room-not-open", "the meeting room is not open")
        reply_channel = f"{CHANNEL}{self.node_id}:reply:{secrets.token_hex(8)}"
        subscription = self.bus.subscribe(reply_channel)
        try:
            await subscription.ready()
            body = self._body(
                home,
                reply_to=reply_channel,
                username=principal.username,
                meeting=meeting_id,
                command=command,
                site=site,
                args=dict(args or {}),
            )
            await self.bus.publish(f"{CHANNEL}{home}", self._seal(body))
            self.forwarded_total += 1
            answer = await asyncio.wait_for(
                self._first_reply(subscription, home), timeout=REPLY_TIMEOUT
            )
        except TimeoutError as exc:
            raise Forbidden(
                "home-not-answering", f"the meeting's home node {home!r} did not answer"
            ) from exc
        finally:
            await subscription.close()
        if "error" in answer:
            error = answer["error"]
            raise Forbidden(str(error.get("code", "internal")), str(error.get("message", "")))
        kind = _REPLIES.get(str(answer.get("kind")), CommandDone)
        return kind.model_validate(answer.get("reply") or {})

    async def _first_reply(self, subscription: Any, home: str) -> dict[str, Any]:
        async for envelope in subscription:
            body = self._open(envelope)
            if body is not None and body.get("from") == home:
                return body
        raise TimeoutError("the reply channel closed")

    # -- serving ----------------------------------------------------------------------------

    async def serve(self) -> None:
        """Run the commands other nodes send here, for as long as this node lives.

        If the channel cannot be subscribed (Redis out at start-up, or when a
        subscription is made again), it is tried again with backoff; once
        subscribed, the bus itself subscribes again after a reconnection.
        """
        failures = 0
        while True:
            subscription = self.bus.subscribe(f"{CHANNEL}{self.node_id}")
            try:
                await subscription.ready()
                if failures:
                    logger.info("cluster commands: serving again (%d failed attempts)", failures)
                    failures = 0
                async for envelope in subscription:
                    body = self._open(envelope)
                    if body is not None:
                        # One slow command (a recording starting) must not hold up the next.
                        spawn(self._serve_one(body), name="cluster-command")
                return  # the bus closed (shutting down)
            except UNREACHABLE as exc:
                if not failures:  # one warning per outage, not per attempt
                    logger.warning(
                        "cluster commands: cannot subscribe (%s); other nodes' console "
                        "commands wait until Redis answers",
                        exc,
                    )
                failures += 1
            finally:
                await subscription.close()
            await pause(_RETRY_DELAYS[min(failures, len(_RETRY_DELAYS)) - 1])

    async def _serve_one(self, body: dict[str, Any]) -> None:
        reply: dict[str, Any]
        try:
            user = await self._accounts.get_user(str(body["username"]))
            if user is None or self.run_here is None:
                raise Forbidden("not-your-meeting", "only the meeting's hosts run its console")
            site = body.get("site")
            args = body.get("args")
            result = await self.run_here(
                Principal.of(user),
                str(body["meeting"]),
                str(body["command"]),
                None if site is None else str(site),
                args if isinstance(args, dict) else {},
            )
            reply = {"kind": _REPLY_KINDS.get(type(result), "done"), "reply": result.to_wire()}
            self.served_total += 1
        except Forbidden as exc:
            reply = {"error": {"code": exc.code, "message": exc.message}}
        except Exception:
            logger.exception("cluster commands: %s failed", body.get("command"))
            reply = {"error": {"code": "internal", "message": "the command failed"}}
        answer = self._body(str(body["from"]), **reply)
        try:
            await self.bus.publish(str(body["reply_to"]), self._seal(answer))
        except Exception:
            logger.exception("cluster commands: could not answer %s", body.get("from"))
