"""A node's record in Redis: what it says (typed), and its seal (HMAC-SHA256).

Stored as ``{"body": "<the record as JSON>", "mac": "<hex>"}``. Anybody who can
write to Redis can write a record, so a reader trusts one only when its MAC
checks out under the cluster key, it parses, it names the key it sits under,
and its heartbeat is recent; anything else is rejected, never half-used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conference.cluster.advertise import NODE_ID_PATTERN, AdvertiseError, check_advertise

# A record larger than this is not one of ours: it is not even parsed.
MAX_RECORD_BYTES = 4096
# A record whose heartbeat is older than this is stale even if its key lives
# (a replayed old record); generous, for clocks of different machines.
MAX_HEARTBEAT_AGE = 60.0
_MAC_LABEL = b"conference node record v1\n"


class RejectedRecord(Exception):
    """A node record that is not trusted; ``reason`` says why (for logs and counts)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NodeLoad(BaseModel):
    """How busy a node is, over its last heartbeat interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_percent: float = Field(ge=0, le=100_000)
    sites: int = Field(ge=0, le=10_000_000)
    packets_per_s: float = Field(ge=0, le=1e9)
    rooms: int = Field(ge=0, le=10_000_000)


class NodeRecord(BaseModel):
    """One live node: who, where sites reach it, since when, its last heartbeat and load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=NODE_ID_PATTERN)
    advertise: str = Field(max_length=512)
    started_at: float = Field(ge=0)
    heartbeat_at: float = Field(ge=0)
    load: NodeLoad
    # The machine a worker of ``serve --workers N`` runs on: the supervisor's node id
    # (``--node-id``, else HOSTNAME-PORT). A placement rule naming it reaches the
    # machine's workers. None for a node that is a whole process of its own.
    machine: str | None = Field(None, pattern=NODE_ID_PATTERN)

    def answers_to(self, name: str) -> bool:
        """Whether a placement rule naming ``name`` means this node."""
        return name in (self.id, self.machine)

    @field_validator("advertise")
    @classmethod
    def _base_url(cls, value: str) -> str:
        try:
            return check_advertise(value)
        except AdvertiseError as exc:
            raise ValueError(str(exc)) from None


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, _MAC_LABEL + body.encode("utf-8"), hashlib.sha256).hexdigest()


def seal(record: NodeRecord, key: bytes) -> str:
    """``record`` as the text stored in Redis, with its MAC."""
    body = record.model_dump_json()
    return json.dumps({"body": body, "mac": _mac(key, body)}, separators=(",", ":"))


def unseal(raw: str | bytes, key: bytes, node_id: str, now: float | None = None) -> NodeRecord:
    """The record stored as ``raw`` under ``node_id``'s key, or :class:`RejectedRecord`."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RejectedRecord("too large")
    try:
        outer = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RejectedRecord("not JSON") from None
    if not isinstance(outer, dict) or set(outer) != {"body", "mac"}:
        raise RejectedRecord("not a sealed record")
    body, mac = outer["body"], outer["mac"]
    if not isinstance(body, str) or not isinstance(mac, str):
        raise RejectedRecord("not a sealed record")
    # Compared before anything in the body is looked at: a foreign record is never parsed.
    if not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(key, body).encode("ascii")):
        raise RejectedRecord("bad MAC (another cluster key, or forged)")
    try:
        record = NodeRecord.model_validate_json(body)
    except ValidationError:
        raise RejectedRecord("invalid record") from None
    if record.id != node_id:
        raise RejectedRecord("the record names another node than its key")
    age = (time.time() if now is None else now) - record.heartbeat_at
    if age > MAX_HEARTBEAT_AGE:
        raise RejectedRecord("stale heartbeat")
    return record
