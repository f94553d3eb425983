"""Upward invitations in the SQLite engine (table ``grants``)."""

from __future__ import annotations

import sqlite3

from conference.store.errors import StoreError
from conference.store.grants import Grant
from conference.store.sqlite.engine import SqliteAggregate


class SqliteGrants(SqliteAggregate):
    """:class:`~conference.store.grants.GrantStore` on SQLite."""

    async def add_grant(self, grant: Grant) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO grants (unit_code, grantee_unit, granted_by, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(unit_code, grantee_unit) DO NOTHING",
                    (grant.unit_code, grant.grantee_unit, grant.granted_by, grant.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError("a grant must name two known units") from exc

        await self._run(insert)

    async def remove_grant(self, unit_code: str, grantee_unit: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM grants WHERE unit_code = ? AND grantee_unit = ?",
                (unit_code, grantee_unit),
            )
        )

    async def grants_to(self, grantee_unit: str) -> list[Grant]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT unit_code, grantee_unit, granted_by, created_at FROM grants WHERE grantee_unit = ? "
                "ORDER BY unit_code",
                (grantee_unit,),
            ).fetchall()
        )
        return [Grant(*r) for r in rows]

    async def grants_from(self, unit_code: str) -> list[Grant]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT unit_code, grantee_unit, granted_by, created_at FROM grants WHERE unit_code = ? "
                "ORDER BY grantee_unit",
                (unit_code,),
            ).fetchall()
        )
        return [Grant(*r) for r in rows]
