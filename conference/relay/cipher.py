"""A relay link's datagrams after the handshake: AES-256-GCM with counters and a replay window.

A datagram is ``DATA (1 byte) | session id (4) | counter (8) | ciphertext + 16-byte tag``;
the first 13 bytes are the GCM associated data, so they cannot be altered
either. Each direction has its own key (:mod:`.handshake`) and counts its own
datagrams from 0: the counter is the GCM nonce (never reused under one key:
a link is closed long before 2^64 datagrams) and the receiver's replay window
(:class:`ReplayWindow`) refuses a counter it has already accepted or one
that is older than the window. The window is checked before the (costlier)
decryption and moved only after the tag checked out, so a forged datagram
cannot move it.

Why this is an equivalent of DTLS-SRTP for a link between two instances:
confidentiality (AES-GCM, the cipher SRTP's AEAD profiles use), integrity and
origin authentication of every datagram (the GCM tag under a key only the two
ends hold), replay protection (the window, as SRTP's), and a key per link and
direction, derived from a handshake authenticated with the cluster key and
mixed with an ephemeral X25519 exchange, so a link's keys are never those of
another link, and recorded traffic stays secret if the cluster key leaks
later (forward secrecy). What it does not do: no certificates (a node is
trusted because it holds the cluster key, as for node records; any holder
can impersonate any node id), no re-keying within a link (a link is
re-established instead), and the sizes and timing of packets are visible.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conference.relay.handshake import LinkKeys

DATA = 3
REPLAY_WINDOW = 1024  # datagrams; reordering on one path is far less
_HEADER = struct.Struct("!B4sQ")
HEADER_BYTES = _HEADER.size
TAG_BYTES = 16
OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES
_NONCE_PAD = b"\0\0\0\0"
_FULL = (1 << REPLAY_WINDOW) - 1


class Rejected(Exception):
    """A datagram that is not accepted; ``reason`` is a short counter name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplayWindow:
    """Counters accepted so far: the highest and a bit mask of the window below it."""

    __slots__ = ("_mask", "highest")

    def __init__(self) -> None:
        self.highest = -1
        self._mask = 0  # bit i: counter highest - i accepted

    def fresh(self, counter: int) -> bool:
        """Whether ``counter`` may be accepted (not seen, not older than the window)."""
        if counter > self.highest:
            return True
        age = self.highest - counter
        return age < REPLAY_WINDOW and not (self._mask >> age) & 1

    def accept(self, counter: int) -> None:
        """Record ``counter`` as accepted (after its tag checked out)."""
        if counter > self.highest:
            shift = counter - self.highest
            if shift >= REPLAY_WINDOW:
                self._mask = 1
            else:
                self._mask = ((self._mask << shift) | 1) & _FULL
            self.highest = counter
        else:
            self._mask |= 1 << (self.highest - counter)


class LinkCipher:
    """Seals outgoing and opens incoming datagrams of one established link."""

    def __init__(self, keys: LinkKeys) -> None:
        self.session_id = keys.session_id
        self._seal = AESGCM(keys.send_key).encrypt
        self._open = AESGCM(keys.receive_key).decrypt
        self._counter = 0
        self.window = ReplayWindow()

    def seal(self, plaintext: bytes) -> bytes:
        """One datagram carrying ``plaintext``."""
        counter = self._counter
        self._counter = counter + 1
        header = _HEADER.pack(DATA, self.session_id, counter)
        return header + self._seal(_NONCE_PAD + header[5:], plaintext, header)

    def open(self, datagram: bytes) -> bytes:
        """The plaintext of ``datagram``, or :class:`Rejected` (never anything else)."""
        if len(datagram) < OVERHEAD_BYTES or datagram[0] != DATA:
            raise Rejected("malformed")
        _, session_id, counter = _HEADER.unpack_from(datagram)
        if session_id != self.session_id:
            raise Rejected("other_session")
        if not self.window.fresh(counter):
            raise Rejected("replayed")
        header = datagram[:HEADER_BYTES]
        try:
            plaintext = self._open(_NONCE_PAD + header[5:], datagram[HEADER_BYTES:], header)
        except InvalidTag:
            raise Rejected("bad_tag") from None
        self.window.accept(counter)
        return plaintext
