"""Signed, expiring join tokens.

A token is a compact JWS (HS256) so that any WHIP/WHEP client can carry it as
``Authorization: Bearer <token>``. Only HS256 is accepted: a header naming any
other algorithm (``none`` included) is refused before the signature is looked
at.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, ValidationError

from conference import client_json

_HEADER = {"alg": "HS256", "typ": "JWT"}
_MAX_TOKEN_CHARS = 4096
_CLOCK_SKEW_SECONDS = 30


class Role(StrEnum):
    """What a site may do in a room."""

    HOST = "host"
    PARTICIPANT = "participant"
    VIEWER = "viewer"

    @property
    def publishes(self) -> bool:
        """Whether this role sends camera and microphone."""
        return self is not Role.VIEWER


class TokenError(Exception):
    """A token that cannot be used; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenClaims(BaseModel):
    """What a join token grants."""

    room: str = Field(min_length=1, max_length=64)
    sub: str = Field(min_length=1, max_length=64, description="site id")
    name: str = Field(min_length=1, max_length=120)
    role: Role
    iat: int
    exp: int
    jti: str = Field(min_length=8, max_length=64)
    nbf: int | None = Field(None, description="not before: a scheduled meeting's opening")
    mtg: str | None = Field(None, max_length=64, description="the scheduled meeting it is for")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    """Strict base64url (RFC 7515): its alphabet only, no padding, canonical.

    Python's decoder skips characters outside the alphabet and ignores the
    unused low bits of the last character, so many strings would decode to
    the same signature; a token has exactly one spelling.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _sign(secret: bytes, signing_input: bytes) -> bytes:
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def issue_token(
    secret: bytes,
    *,
    room: str,
    name: str,
    role: Role = Role.PARTICIPANT,
    ttl: timedelta = timedelta(hours=8),
    site_id: str | None = None,
    now: float | None = None,
    not_before: float | None = None,
    expires_at: float | None = None,
    meeting: str | None = None,
) -> str:
    """Sign a token for one site in one room, valid for ``ttl`` (or until ``expires_at``)."""
    issued = int(time.time() if now is None else now)
    claims = TokenClaims(
        room=room,
        sub=site_id or secrets.token_hex(8),
        name=name.strip(),
        role=role,
        iat=issued,
        exp=int(expires_at) if expires_at is not None else issued + int(ttl.total_seconds()),
        jti=secrets.token_hex(8),
        nbf=int(not_before) if not_before is not None else None,
        mtg=meeting,
    )
    header = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64(claims.model_dump_json().encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64(_sign(secret, signing_input))}"


def verify_token(secret: bytes, token: str, *, now: float | None = None) -> TokenClaims:
    """Return the claims of a valid token or raise :class:`TokenError`."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise TokenError("token-malformed", "token is missing or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token-malformed", "token must have three dot-separated parts")
    try:
        header = client_json.loads(_unb64(parts[0]))  # the client's bytes: depth-limited
        signature = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("token-malformed", "token is not valid base64url JSON") from exc
    if header != _HEADER:
        raise TokenError("token-invalid", "only HS256 tokens are accepted")
    expected = _sign(secret, f"{parts[0]}.{parts[1]}".encode("ascii"))
    if not hmac.compare_digest(expected, signature):
        raise TokenError("token-invalid", "token signature does not match")
    try:
        claims = TokenClaims.model_validate_json(_unb64(parts[1]))
    except (ValidationError, ValueError) as exc:
        raise TokenError("token-malformed", "token claims are not valid") from exc
    moment = time.time() if now is None else now
    if claims.exp < moment - _CLOCK_SKEW_SECONDS:
        raise TokenError("token-expired", "token has expired")
    if claims.iat > moment + _CLOCK_SKEW_SECONDS:
        raise TokenError("token-invalid", "token was issued in the future")
    if claims.nbf is not None and claims.nbf > moment + _CLOCK_SKEW_SECONDS:
        opens = time.strftime("%H:%M %d/%m/%Y", time.localtime(claims.nbf))
        raise TokenError("token-not-yet-valid", f"the meeting room opens at {opens}")
    return claims


_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``8h``, ``2d``, ``1h30m`` into a timedelta."""
    compact = text.strip().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 8h, 2d)")
    total = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(compact))
    if total <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=total)
