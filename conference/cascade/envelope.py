"""Sealed messages on a meeting's cascade channel: HMAC under the cluster key, in order per sender.

The bus is only as trusted as Redis, so every message is ``{"body": JSON,
"mac": hex}`` with HMAC-SHA256 under the cluster key (as node records and
forwarded console commands are). The body names its sender, its room, its
time (at most :data:`MAX_SKEW` off) and the sender's ``epoch`` (its start)
and ``seq``: a receiver keeps, per sender and kind, the highest (epoch, seq)
it applied and drops anything not newer, so a replayed or reordered message
never undoes a newer one. Anything that does not verify is dropped and counted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

MAX_SKEW = 30.0  # seconds a message's time may be off this node's clock
MAX_MESSAGE_BYTES = 1 << 20  # a snapshot of 2,000 sites is about 600 KB
_LABEL = b"conference cascade v1\n"


class Rejected(Exception):
    """A message that is not trusted or not newer; ``reason`` for counting."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, _LABEL + text.encode("utf-8"), hashlib.sha256).hexdigest()


def seal(key: bytes, body: dict[str, Any]) -> dict[str, str]:
    """``body`` (JSON-serialisable) as a sealed envelope."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return {"body": text, "mac": _mac(key, text)}


class Opener:
    """Opens envelopes for one node: checks the seal, the room, the time and the order."""

    def __init__(self, key: bytes, node_id: str) -> None:
        self._key = key
        self.node_id = node_id
        self._last: dict[tuple[str, str, str], tuple[float, int]] = {}
        self.rejected: dict[str, int] = {}

    def open(self, envelope: Any, room_id: str, now: float | None = None) -> dict[str, Any]:
        """The body of a message of ``room_id`` from another node, newer than the last; or Rejected."""
        try:
            return self._open(envelope, room_id, time.time() if now is None else now)
        except Rejected as exc:
            if exc.reason != "own":  # our own messages come back on the channel: not a fault
                self.rejected[exc.reason] = self.rejected.get(exc.reason, 0) + 1
            raise

    def _open(self, envelope: Any, room_id: str, now: float) -> dict[str, Any]:
        if not isinstance(envelope, dict) or set(envelope) != {"body", "mac"}:
            raise Rejected("not sealed")
        text, mac = envelope["body"], envelope["mac"]
        if not isinstance(text, str) or not isinstance(mac, str):
            raise Rejected("not sealed")
        if len(text) > MAX_MESSAGE_BYTES:
            raise Rejected("too large")
        # Compared before the body is parsed: a foreign message is never looked into.
        if not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(self._key, text).encode()):
            raise Rejected("bad seal")
        try:
            body = json.loads(text)
            sender, room, kind = str(body["from"]), str(body["room"]), str(body["kind"])
            at, epoch, seq = float(body["at"]), float(body["epoch"]), int(body["seq"])
        except (ValueError, KeyError, TypeError):
            raise Rejected("malformed") from None
        if sender == self.node_id:
            raise Rejected("own")
        if room != room_id:
            raise Rejected("other room")
        if abs(now - at) > MAX_SKEW:
            raise Rejected("stale")
        key = (sender, kind, room)
        last = self._last.get(key)
        if last is not None and (epoch, seq) <= last:
            raise Rejected("not newer")
        self._last[key] = (epoch, seq)
        return dict(body)

    def forget(self, room_id: str) -> None:
        """Drop what is remembered of a room's senders (the room closed here)."""
        for key in [k for k in self._last if k[2] == room_id]:
            del self._last[key]
