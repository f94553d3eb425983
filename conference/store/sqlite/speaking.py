"""Meetings' speaking intervals in the SQLite engine (table ``speaking``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from conference.store.speaking import SpeakingInterval
from conference.store.sqlite.engine import SqliteAggregate


class SqliteSpeaking(SqliteAggregate):
    """:class:`~conference.store.speaking.SpeakingStore` on SQLite."""

    async def add_speaking(self, intervals: Sequence[SpeakingInterval]) -> None:
        """Insert the batch in one transaction."""
        if not intervals:
            return
        rows = [(i.meeting_id, i.site, i.name, i.start, i.end) for i in intervals]

        def write(conn: sqlite3.Connection) -> None:
            # The connection autocommits: one explicit transaction makes the
            # batch one write (and one fsync), not one per interval.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO speaking (meeting_id, site, name, start, end_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def meeting_speaking(self, meeting_id: str) -> list[SpeakingInterval]:
        """The meeting's intervals by start."""
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT meeting_id, site, name, start, end_at FROM speaking "
                "WHERE meeting_id = ? ORDER BY start, site, end_at",
                (meeting_id,),
            ).fetchall()
        )
        return [SpeakingInterval(m, s, n, float(a), float(b)) for m, s, n, a, b in rows]
