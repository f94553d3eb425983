"""Accounts and browser logins: records and the :class:`AccountStore` protocol."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountRole(StrEnum):
    """What an account may do (see ``conference/permissions.py``)."""

    ADMIN = "admin"
    HOST = "host"  # convenes meetings for its unit's subtree
    SITE = "site"  # a unit's meeting room
    VIEWER = "viewer"
    OPERATOR = "operator"  # checkpoint cameras


@dataclass(frozen=True, slots=True)
class User:
    """An account."""

    username: str
    display_name: str
    role: AccountRole
    unit_code: str | None  # scope of a host, room of a site account
    password_hash: str
    created_at: float
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Login:
    """A browser's logged-in session (the cookie holds its id).

    Engines keep only :func:`login_key` of the id, never the id itself: a copy
    of the store (a backup, a readable file) opens no session.
    """

    id: str
    username: str
    csrf_token: str
    created_at: float
    expires_at: float


def login_key(login_id: str) -> str:
    """What an engine stores in place of a login id: its SHA-256, in hex."""
    return hashlib.sha256(login_id.encode("utf-8", "surrogatepass")).hexdigest()


class AccountStore(Protocol):
    """Accounts and their logged-in sessions."""

    async def create_user(self, user: User) -> None:
        """Store a new account; :class:`~conference.store.errors.Conflict` if the username is taken."""
        ...

    async def get_user(self, username: str) -> User | None:
        """The account, or None."""
        ...

    async def list_users(self) -> list[User]:
        """Every account, by username."""
        ...

    async def update_user(self, user: User) -> None:
        """Replace an existing account; :class:`~conference.store.errors.NotFound` if there is none."""
        ...

    async def create_login(self, login: Login) -> None:
        """Store a logged-in session."""
        ...

    async def get_login(self, login_id: str, now: float) -> Login | None:
        """The session if it exists and has not expired at ``now``."""
        ...

    async def delete_login(self, login_id: str) -> None:
        """Forget a session (logout); no error if unknown."""
        ...
