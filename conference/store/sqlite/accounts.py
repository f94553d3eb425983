"""Accounts and logins in the SQLite engine (tables ``users``, ``logins``)."""

from __future__ import annotations

import sqlite3

from conference.store.accounts import AccountRole, Login, User, login_key
from conference.store.errors import Conflict, NotFound, StoreError
from conference.store.sqlite.engine import SqliteAggregate


class SqliteAccounts(SqliteAggregate):
    """:class:`~conference.store.accounts.AccountStore` on SQLite."""

    async def create_user(self, user: User) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO users (username, display_name, role, unit_code, password_hash, "
                    "created_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _user_row(user),
                )
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc) or "PRIMARY" in str(exc):
                    raise Conflict(f"username {user.username!r} is already taken") from exc
                raise StoreError(f"unit {user.unit_code!r} does not exist") from exc

        await self._run(insert)

    async def get_user(self, username: str) -> User | None:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)
            ).fetchone()
        )
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_USER_COLUMNS} FROM users ORDER BY username"
            ).fetchall()
        )
        return [_user(r) for r in rows]

    async def update_user(self, user: User) -> None:
        def update(conn: sqlite3.Connection) -> int:
            row = _user_row(user)
            try:
                return self._update_user_row(conn, row)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"unit {user.unit_code!r} does not exist") from exc

        if not await self._run(update):
            raise NotFound(f"no user {user.username!r}")

    @staticmethod
    def _update_user_row(conn: sqlite3.Connection, row: tuple[object, ...]) -> int:
        return int(
            conn.execute(
                "UPDATE users SET display_name = ?, role = ?, unit_code = ?, password_hash = ?, "
                "created_at = ?, disabled = ? WHERE username = ?",
                (*row[1:], row[0]),
            ).rowcount
        )

    async def create_login(self, login: Login) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO logins (id, username, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        login_key(login.id),
                        login.username,
                        login.csrf_token,
                        login.created_at,
                        login.expires_at,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"login for unknown user {login.username!r} or duplicate id"
                ) from exc

        await self._run(insert)

    async def get_login(self, login_id: str, now: float) -> Login | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT username, csrf_token, created_at, expires_at FROM logins "
                "WHERE id = ? AND expires_at > ?",
                (login_key(login_id), now),
            ).fetchone()
        )
        return None if row is None else Login(login_id, *row)

    async def delete_login(self, login_id: str) -> None:
        await self._run(
            lambda conn: conn.execute("DELETE FROM logins WHERE id = ?", (login_key(login_id),))
        )


_USER_COLUMNS = "username, display_name, role, unit_code, password_hash, created_at, disabled"


def _user_row(user: User) -> tuple[object, ...]:
    return (
        user.username,
        user.display_name,
        user.role.value,
        user.unit_code,
        user.password_hash,
        user.created_at,
        int(user.disabled),
    )


def _user(row: tuple) -> User:
    return User(row[0], row[1], AccountRole(row[2]), row[3], row[4], row[5], bool(row[6]))
