"""Accounts: password hashing with scrypt (memory-hard) and what a valid account is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from conference.store.base import USERNAME_PATTERN

# scrypt with N=2^15, r=8: 32 MiB and ~0.1 s per hash, so a stolen table costs
# an attacker that much memory per guess. Parameters are stored in the hash,
# so they can be raised later without breaking old passwords.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


class AccountError(ValueError):
    """An account that cannot be created as asked; the message is for people."""


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), for :func:`verify_password`."""
    check_password(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches; constant time in the digest comparison."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def dummy_verify() -> None:
    """Spend the time of a real check, so unknown usernames are not faster to reject."""
    verify_password("x" * MIN_PASSWORD_LENGTH, _DUMMY_HASH)


def check_password(password: str) -> None:
    """Raise :class:`AccountError` for a password we refuse to store."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password must have at most {MAX_PASSWORD_LENGTH} characters")


def check_username(username: str) -> str:
    """Normalise and validate a username (lower case letters, digits, . _ -)."""
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_', '-'"
        )
    return name


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_DUMMY_HASH = "$".join(
    ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(b"0" * 16), _b64(b"0" * 32))
)
