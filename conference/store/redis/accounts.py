"""Accounts and logins in the Redis engine: ``P users`` (hash) and ``P session:<sha256>`` (strings)."""

from __future__ import annotations

import json
import math
from typing import Any

from conference.store.accounts import AccountRole, Login, User, login_key
from conference.store.errors import Conflict, NotFound, StoreError
from conference.store.redis.engine import CHUNK, Raw, RedisAggregate, RedisEngine, dump, glob_escape

# Logins used to be kept under their raw ids (P login:<id>); the first login
# call of a process deletes what is left of them, once per database.
_HASHED_LOGINS_DONE = "schema:hashed-logins"

# Replace a hash field only if it is there (update_user must not create).
_REPLACE_FIELD_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisAccounts(RedisAggregate):
    """:class:`~conference.store.accounts.AccountStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._users = engine.key("users")
        self._units = engine.key("units")  # an account's unit must exist
        self._replace_field_script = self._redis.register_script(_REPLACE_FIELD_LUA)
        self._raw_logins_swept = False

    def _login_key(self, login_id: str) -> str:
        return f"{self.prefix}session:{login_key(login_id)}"

    async def create_user(self, user: User) -> None:
        """Store a new account; :class:`Conflict` if the username is taken."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hexists(self._users, user.username)
            pipe.hexists(self._units, user.unit_code or "")
            taken, unit_known = await pipe.execute()
        if taken:
            raise Conflict(f"username {user.username!r} is already taken")
        if user.unit_code is not None and not unit_known:
            raise StoreError(f"unit {user.unit_code!r} does not exist")
        # HSETNX settles a race between two creations of the same name.
        if not await self._redis.hsetnx(self._users, user.username, _user_json(user)):
            raise Conflict(f"username {user.username!r} is already taken")

    async def get_user(self, username: str) -> User | None:
        """The account, or None."""
        raw = await self._redis.hget(self._users, username)
        return None if raw is None else _user(raw)

    async def list_users(self) -> list[User]:
        """Every account, by username."""
        users = [_user(raw) for raw in await self._redis.hvals(self._users)]
        return sorted(users, key=lambda user: user.username)

    async def update_user(self, user: User) -> None:
        """Replace an existing account; :class:`NotFound` if there is none."""
        if user.unit_code is not None and not await self._redis.hexists(
            self._units, user.unit_code
        ):
            raise StoreError(f"unit {user.unit_code!r} does not exist")
        replaced = await self._replace_field_script(
            keys=[self._users], args=[user.username, _user_json(user)]
        )
        if not replaced:
            raise NotFound(f"no user {user.username!r}")

    async def _sweep_raw_logins(self) -> None:
        """Delete logins kept under raw ids by older versions (their users log in again)."""
        if self._raw_logins_swept:
            return
        if not await self._redis.hexists(self.engine.meta, _HASHED_LOGINS_DONE):
            pattern = glob_escape(self.prefix) + "login:*"
            batch: list[str] = []
            async for key in self._redis.scan_iter(match=pattern, count=CHUNK):
                batch.append(key)
                if len(batch) >= CHUNK:
                    await self._redis.delete(*batch)
                    batch.clear()
            if batch:
                await self._redis.delete(*batch)
            await self._redis.hset(self.engine.meta, _HASHED_LOGINS_DONE, "1")
        self._raw_logins_swept = True

    async def create_login(self, login: Login) -> None:
        """Store a logged-in session; Redis drops it by itself once it expires."""
        await self._sweep_raw_logins()
        if not await self._redis.hexists(self._users, login.username):
            raise StoreError(f"no user {login.username!r} to log in")
        record = dump(
            {
                "username": login.username,
                "csrf_token": login.csrf_token,
                "created_at": login.created_at,
                "expires_at": login.expires_at,
            }
        )
        # The TTL only reclaims memory; get_login still compares with ``now``.
        # PXAT wants a positive integer: round up so Redis never drops it early.
        expiry: dict[str, Any] = {}
        if math.isfinite(login.expires_at):
            expiry["pxat"] = max(1, math.ceil(login.expires_at * 1000))
        if not await self._redis.set(self._login_key(login.id), record, nx=True, **expiry):
            raise Conflict("a login with this id already exists")

    async def get_login(self, login_id: str, now: float) -> Login | None:
        """The session if it exists and ``expires_at > now``."""
        await self._sweep_raw_logins()
        raw = await self._redis.get(self._login_key(login_id))
        if raw is None:
            return None
        record = json.loads(raw)
        login = Login(
            id=login_id,
            username=record["username"],
            csrf_token=record["csrf_token"],
            created_at=float(record["created_at"]),
            expires_at=float(record["expires_at"]),
        )
        return login if login.expires_at > now else None

    async def delete_login(self, login_id: str) -> None:
        """Forget a session (logout); no error if unknown."""
        await self._redis.delete(self._login_key(login_id))


def _user_json(user: User) -> str:
    return dump(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "unit_code": user.unit_code,
            "password_hash": user.password_hash,
            "created_at": user.created_at,
            "disabled": user.disabled,
        }
    )


def _user(raw: Raw) -> User:
    record = json.loads(raw)
    return User(
        username=record["username"],
        display_name=record["display_name"],
        role=AccountRole(record["role"]),
        unit_code=record["unit_code"],
        password_hash=record["password_hash"],
        created_at=float(record["created_at"]),
        disabled=bool(record["disabled"]),
    )
