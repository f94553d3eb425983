"""Signed, expiring join tokens."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from conference.tokens import Role, TokenError, issue_token, parse_duration, verify_token

SECRET = b"k" * 32


def test_round_trip_keeps_the_claims():
    token = issue_token(
        SECRET,
        room="abcd-efgh",
        name="Xã Yên Bình",
        role=Role.HOST,
        ttl=timedelta(hours=2),
        now=1_000_000,
    )
    claims = verify_token(SECRET, token, now=1_000_100)
    assert (claims.room, claims.name, claims.role) == ("abcd-efgh", "Xã Yên Bình", Role.HOST)
    assert claims.exp - claims.iat == 7200


def test_expired_token_is_refused():
    token = issue_token(SECRET, room="r-1", name="A", ttl=timedelta(minutes=5), now=1_000_000)
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token, now=1_000_000 + 301 + 30)
    assert err.value.code == "token-expired"


def test_other_key_or_changed_claims_are_refused():
    token = issue_token(SECRET, room="r-1", name="A")
    with pytest.raises(TokenError) as err:
        verify_token(b"z" * 32, token)
    assert err.value.code == "token-invalid"
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "host"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, f"{header}.{forged}.{signature}")
    assert err.value.code == "token-invalid"


def test_alg_none_is_refused_before_the_signature():
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = issue_token(SECRET, room="r-1", name="A").split(".")[1]
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, f"{header}.{payload}.")
    assert err.value.code == "token-invalid"


@pytest.mark.parametrize("junk", ["", "a.b", "a.b.c.d", "!!!.???.***", "x" * 5000])
def test_garbage_is_malformed(junk):
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, junk)
    assert err.value.code == "token-malformed"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("8h", 28800), ("2d", 172800), ("1h30m", 5400), ("1w", 604800)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "8", "h", "8x", "-1h", "0s", "8h garbage"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_meeting_window_bounds_the_token():
    token = issue_token(
        SECRET,
        room="m-1",
        name="Xã",
        site_id="05506",
        meeting="m-1",
        not_before=10_000,
        expires_at=20_000,
        now=5_000,
    )
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token, now=9_000)
    assert err.value.code == "token-not-yet-valid"
    claims = verify_token(SECRET, token, now=10_000)
    assert (claims.mtg, claims.sub, claims.exp) == ("m-1", "05506", 20_000)
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token, now=20_100)
    assert err.value.code == "token-expired"
