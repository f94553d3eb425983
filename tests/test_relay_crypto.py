"""The relay handshake and datagram protection, without sockets."""

from __future__ import annotations

import pytest

from conference.relay import handshake
from conference.relay.cipher import REPLAY_WINDOW, LinkCipher, Rejected, ReplayWindow

KEY = b"c" * 32


def _handshake(
    key_initiator: bytes = KEY, key_responder: bytes = KEY
) -> tuple[handshake.LinkKeys, handshake.LinkKeys]:
    mine, theirs = handshake.Ephemeral(), handshake.Ephemeral()
    hello = handshake.parse(handshake.make_hello(key_initiator, "node-a", mine), key_responder)
    raw_ack = handshake.make_ack(key_responder, "node-b", theirs, hello)
    ack = handshake.parse(raw_ack, key_initiator, answering=hello)
    return (
        handshake.derive(key_initiator, mine, hello, ack, initiator=True),
        handshake.derive(key_responder, theirs, hello, ack, initiator=False),
    )


def test_both_ends_derive_matching_keys_and_each_link_its_own() -> None:
    a, b = _handshake()
    assert a.send_key == b.receive_key and a.receive_key == b.send_key
    assert a.send_key != a.receive_key and a.session_id == b.session_id
    assert (a.peer_id, b.peer_id) == ("node-b", "node-a")
    again, _ = _handshake()
    assert again.send_key != a.send_key and again.session_id != a.session_id
    sealed = LinkCipher(a).seal(b"media")
    assert LinkCipher(b).open(sealed) == b"media"
    with pytest.raises(Rejected, match="other_session"):
        LinkCipher(again).open(sealed)


def test_a_hello_under_another_key_is_refused() -> None:
    with pytest.raises(handshake.HandshakeError, match="bad_mac"):
        _handshake(key_initiator=b"d" * 32)


def test_an_ack_answers_only_its_own_hello() -> None:
    first = handshake.parse(handshake.make_hello(KEY, "node-a", handshake.Ephemeral()), KEY)
    second = handshake.parse(handshake.make_hello(KEY, "node-a", handshake.Ephemeral()), KEY)
    ack = handshake.make_ack(KEY, "node-b", handshake.Ephemeral(), first)
    assert handshake.parse(ack, KEY, answering=first).node_id == "node-b"
    with pytest.raises(handshake.HandshakeError, match="bad_mac"):
        handshake.parse(ack, KEY, answering=second)


def test_an_old_or_future_hello_is_refused_and_a_seen_nonce_too() -> None:
    ephemeral = handshake.Ephemeral()
    raw = handshake.make_hello(KEY, "node-a", ephemeral, clock=1_000_000.0)
    assert handshake.parse(raw, KEY, now=1_000_000.0 + handshake.MAX_CLOCK_SKEW - 1)
    for now in (1_000_000.0 + handshake.MAX_CLOCK_SKEW + 1, 1_000_000.0 - 31):
        with pytest.raises(handshake.HandshakeError, match="stale"):
            handshake.parse(raw, KEY, now=now)
    cache = handshake.NonceCache()
    assert cache.check_and_add(ephemeral.nonce)
    assert not cache.check_and_add(ephemeral.nonce)


@pytest.mark.parametrize("cut", [0, 10, 60])
def test_truncated_or_altered_hellos_are_refused(cut: int) -> None:
    raw = bytearray(handshake.make_hello(KEY, "node-a", handshake.Ephemeral()))
    if cut:
        raw = raw[:cut]
    else:
        raw[20] ^= 1
    with pytest.raises(handshake.HandshakeError):
        handshake.parse(bytes(raw), KEY)


def test_replay_window() -> None:
    window = ReplayWindow()
    for counter in (0, 2, 1, 5):
        assert window.fresh(counter)
        window.accept(counter)
    assert not window.fresh(1) and not window.fresh(5)
    assert window.fresh(3) and window.fresh(4)
    window.accept(5 + REPLAY_WINDOW)
    assert not window.fresh(5)  # too old now: refused even though never seen
    assert window.fresh(6 + REPLAY_WINDOW)
    window.accept(10**12)  # a jump far ahead costs nothing
    assert not window.fresh(10**12) and window.fresh(10**12 - 1)


def test_a_datagram_is_opened_once_and_only_unaltered() -> None:
    a, b = _handshake()
    sender, receiver = LinkCipher(a), LinkCipher(b)
    first, second = sender.seal(b"one"), sender.seal(b"two")
    assert receiver.open(second) == b"two"
    altered = bytearray(first)
    altered[-1] ^= 1
    with pytest.raises(Rejected, match="bad_tag"):
        receiver.open(bytes(altered))
    # A forged datagram did not move the window: the real one still opens (late, in order).
    assert receiver.open(first) == b"one"
    with pytest.raises(Rejected, match="replayed"):
        receiver.open(first)
    with pytest.raises(Rejected, match="malformed"):
        receiver.open(first[:20])
    # Our own datagram sent back to us does not open: the directions have their own keys.
    with pytest.raises(Rejected, match="bad_tag"):
        sender.open(sender.seal(b"echo"))
