"""Service state in the SQLite engine (table ``meta``)."""

from __future__ import annotations

from conference.store.sqlite.engine import SqliteAggregate


class SqliteMeta(SqliteAggregate):
    """:class:`~conference.store.meta.MetaStore` on SQLite."""

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )
