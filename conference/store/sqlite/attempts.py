"""Attempt counters in the SQLite engine (table ``attempts``)."""

from __future__ import annotations

import sqlite3

from conference.store.attempts import Attempt, Backoff, backoff_wait
from conference.store.sqlite.engine import SqliteAggregate


class SqliteAttempts(SqliteAggregate):
    """:class:`~conference.store.attempts.AttemptStore` on SQLite."""

    async def take_attempt(self, key: str, now: float, backoff: Backoff) -> Attempt:
        def take(conn: sqlite3.Connection) -> Attempt:
            # IMMEDIATE: the read and the write hold the file's write lock
            # together, so other processes' attempts wait instead of racing.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM attempts WHERE expires_at <= ?", (now,))
                row = conn.execute(
                    "SELECT count, next_at FROM attempts WHERE key = ?", (key,)
                ).fetchone()
                count, next_at = (0, 0.0) if row is None else (int(row[0]), float(row[1]))
                if now < next_at:
                    conn.execute("COMMIT")
                    return Attempt(False, count, next_at - now)
                count += 1
                wait = backoff_wait(backoff, count)
                conn.execute(
                    "INSERT INTO attempts (key, count, next_at, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET count = excluded.count, "
                    "next_at = excluded.next_at, expires_at = excluded.expires_at",
                    (key, count, now + wait, now + max(backoff.window, wait)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return Attempt(True, count, wait)

        return await self._run(take)

    async def return_attempt(self, key: str, forget: bool = False) -> None:
        sql = (
            "DELETE FROM attempts WHERE key = ?"
            if forget
            else "UPDATE attempts SET count = max(count - 1, 0) WHERE key = ?"
        )
        await self._run(lambda conn: conn.execute(sql, (key,)))
