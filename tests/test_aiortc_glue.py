"""The pieces of the aiortc glue that stand in for library calls on the hot path."""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest

from conference.media.srtp_output import LeanProtect


def _session(key: bytes) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    return pylibsrtp.Session(policy=policy)


def test_lean_protect_writes_what_pylibsrtp_writes() -> None:
    key = os.urandom(30)
    reference, lean = _session(key), LeanProtect(_session(key))
    payload = os.urandom(1180)
    for seq in range(50):
        packet = struct.pack("!BBHII", 0x80, 96, seq, seq * 3000, 0x1234) + payload[: 100 + seq]
        assert lean(packet) == reference.protect(packet)
    big = struct.pack("!BBHII", 0x80, 96, 99, 0, 0x1234) + os.urandom(1500)
    assert lean(big) == reference.protect(big)  # any datagram-sized packet has room
    with pytest.raises(ValueError):
        lean(b"\x80" * 70_000)  # no UDP datagram could carry it
