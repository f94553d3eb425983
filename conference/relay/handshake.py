"""How two instances open a relay link: an authenticated handshake and the link's keys.

The initiator sends a HELLO, the responder answers with a HELLO-ACK; each
message carries the sender's node id, its clock (Unix seconds), a fresh
16-byte nonce and a fresh X25519 public key, and is sealed with HMAC-SHA256
under the cluster key (:mod:`conference.cluster.secret`). The ACK's MAC covers
the whole HELLO as well (a transcript), so an ACK answers exactly one HELLO.
A receiver checks the MAC (``hmac.compare_digest``) before it looks at
anything else, then that the clock is within :data:`MAX_CLOCK_SKEW` of its
own; the responder also refuses a HELLO nonce it has already seen (a replayed
HELLO, :class:`NonceCache`).

Both ends then derive the link's keys with HKDF-SHA256: input key material
is the cluster key followed by the X25519 shared secret, the salt is both
nonces, the info names both node ids. Out come one AES-256-GCM key per
direction and a 4-byte session id that tags every datagram of this link.
Because the X25519 keys are thrown away after the handshake, a recording of
a link's traffic cannot be decrypted later even by someone who learns the
cluster key (forward secrecy); without the cluster key nobody can complete a
handshake at all (authentication).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HELLO = 1
HELLO_ACK = 2
VERSION = 1
NONCE_BYTES = 16
PUBLIC_KEY_BYTES = 32
MAC_BYTES = 32
KEY_BYTES = 32  # AES-256-GCM
SESSION_ID_BYTES = 4
MAX_NODE_ID_BYTES = 64
# A handshake whose clock is further than this from ours is refused: it bounds
# how long a recorded HELLO can be replayed, and how long nonces are remembered.
MAX_CLOCK_SKEW = 30.0
_MAC_LABEL = b"conference relay handshake v1\n"
_KDF_LABEL = b"conference relay keys v1\n"
# type, version, clock, nonce, public key; then the node id (length-prefixed), then the MAC.
_FIXED = struct.Struct(f"!BBd{NONCE_BYTES}s{PUBLIC_KEY_BYTES}s")


class HandshakeError(Exception):
    """A handshake message that is not accepted; ``reason`` is a short counter name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hello:
    """One side's handshake message, parsed and verified."""

    kind: int  # HELLO or HELLO_ACK
    node_id: str
    clock: float
    nonce: bytes
    public_key: bytes
    raw: bytes  # the message as sent, for the ACK's transcript MAC


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """What a completed handshake gives one end: its two keys and the session id."""

    send_key: bytes
    receive_key: bytes
    session_id: bytes
    peer_id: str


@dataclass(slots=True)
class Ephemeral:
    """One side's fresh secrets for one handshake: a nonce and an X25519 key pair."""

    nonce: bytes = field(default_factory=lambda: os.urandom(NONCE_BYTES))
    private_key: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    @property
    def public_key(self) -> bytes:
        """The 32 raw bytes of the public key."""
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, _MAC_LABEL + b"".join(parts), hashlib.sha256).digest()


def _encode(kind: int, node_id: str, ephemeral: Ephemeral, clock: float) -> bytes:
    name = node_id.encode("utf-8")
    if not 0 < len(name) <= MAX_NODE_ID_BYTES:
        raise ValueError(f"a node id is 1 to {MAX_NODE_ID_BYTES} bytes")
    fixed = _FIXED.pack(kind, VERSION, clock, ephemeral.nonce, ephemeral.public_key)
    return fixed + bytes([len(name)]) + name


def make_hello(key: bytes, node_id: str, ephemeral: Ephemeral, clock: float | None = None) -> bytes:
    """The initiator's HELLO."""
    body = _encode(HELLO, node_id, ephemeral, time.time() if clock is None else clock)
    return body + _mac(key, body)


def make_ack(
    key: bytes, node_id: str, ephemeral: Ephemeral, hello: Hello, clock: float | None = None
) -> bytes:
    """The responder's answer to ``hello``; its MAC covers ``hello`` too."""
    body = _encode(HELLO_ACK, node_id, ephemeral, time.time() if clock is None else clock)
    return body + _mac(key, hello.raw, body)


def parse(
    data: bytes, key: bytes, answering: Hello | None = None, now: float | None = None
) -> Hello:
    """A verified HELLO (``answering`` None) or the ACK to ``answering``; else HandshakeError."""
    if (
        len(data) < _FIXED.size + 2 + MAC_BYTES
        or len(data) > _FIXED.size + 1 + MAX_NODE_ID_BYTES + MAC_BYTES
    ):
        raise HandshakeError("malformed")
    body, mac = data[:-MAC_BYTES], data[-MAC_BYTES:]
    expected = _mac(key, body) if answering is None else _mac(key, answering.raw, body)
    # The MAC first: nothing of a message from outside the cluster is looked at.
    if not hmac.compare_digest(mac, expected):
        raise HandshakeError("bad_mac")
    kind, version, clock, nonce, public_key = _FIXED.unpack_from(body)
    if version != VERSION or kind != (HELLO if answering is None else HELLO_ACK):
        raise HandshakeError("malformed")
    name_length = body[_FIXED.size]
    name = body[_FIXED.size + 1 :]
    if len(name) != name_length or not name:
        raise HandshakeError("malformed")
    if abs((time.time() if now is None else now) - clock) > MAX_CLOCK_SKEW:
        raise HandshakeError("stale")
    try:
        node_id = name.decode("utf-8")
    except UnicodeDecodeError:
        raise HandshakeError("malformed") from None
    return Hello(kind, node_id, clock, nonce, public_key, bytes(data))


def derive(
    key: bytes,
    ours: Ephemeral,
    hello: Hello,
    ack: Hello,
    initiator: bool,
) -> LinkKeys:
    """The link's keys as seen by one end (``initiator`` says which)."""
    peer = ack if initiator else hello
    shared = ours.private_key.exchange(X25519PublicKey.from_public_bytes(peer.public_key))
    info = _KDF_LABEL + hello.node_id.encode() + b"\0" + ack.node_id.encode()
    material = HKDF(
        algorithm=SHA256(),
        length=2 * KEY_BYTES + SESSION_ID_BYTES,
        salt=hello.nonce + ack.nonce,
        info=info,
    ).derive(key + shared)
    forward, backward = material[:KEY_BYTES], material[KEY_BYTES : 2 * KEY_BYTES]
    session_id = material[2 * KEY_BYTES :]
    if initiator:
        return LinkKeys(forward, backward, session_id, peer.node_id)
    return LinkKeys(backward, forward, session_id, peer.node_id)


class NonceCache:
    """HELLO nonces seen within the clock window: a replayed HELLO is refused."""

    def __init__(self) -> None:
        self._seen: dict[bytes, float] = {}

    def check_and_add(self, nonce: bytes, now: float | None = None) -> bool:
        """True if ``nonce`` is new (and remember it), False if it was seen."""
        if now is None:
            now = time.monotonic()
        if len(self._seen) > 256:
            # Older than twice the window: a HELLO that old is refused as stale anyway.
            cutoff = now - 2 * MAX_CLOCK_SKEW
            self._seen = {n: t for n, t in self._seen.items() if t >= cutoff}
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True
