"""LeanUnprotect (conference/media/srtp_input.py) against pylibsrtp's own unprotect."""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest

from conference.media.srtp_input import LeanUnprotect


def _pair(key: bytes) -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    sender = pylibsrtp.Session(
        policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    )
    receiver = pylibsrtp.Session(
        policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    )
    return sender, receiver


def test_lean_unprotect_reads_what_pylibsrtp_reads_and_refuses_what_it_refuses() -> None:
    key = os.urandom(30)
    sender, reference = _pair(key)
    lean = LeanUnprotect(_pair(key)[1])
    payload = os.urandom(1400)
    for seq in range(40):
        plain = struct.pack("!BBHII", 0x80, 96, seq, seq * 3000, 0x4321) + payload[: 200 + seq]
        protected = sender.protect(plain)
        assert lean(protected) == reference.unprotect(protected) == plain
    tampered = bytearray(sender.protect(struct.pack("!BBHII", 0x80, 96, 99, 0, 0x4321) + payload))
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error):
        lean(bytes(tampered))
    with pytest.raises(pylibsrtp.Error):  # a replayed packet, as libsrtp refuses it
        lean(protected)
    with pytest.raises(ValueError):
        lean(b"\x80" * 70_000)  # larger than any datagram
