"""Meetings' speaking intervals in the SQLite engine (table ``speaking``)."""

from __future__ import annotations

from collections.abc import Sequence

from conference.store.speaking import SpeakingInterval
from conference.store.sqlite.engine import SqliteAggregate


class SqliteSpeaking(SqliteAggregate):
    """:class:`~conference.store.speaking.SpeakingStore` on SQLite."""

    async def add_speaking(self, intervals: Sequence[SpeakingInterval]) -> None:
        """Insert the batch in one transaction."""
        await self._insert_batch(
            "INSERT INTO speaking (meeting_id, site, name, start, end_at) VALUES (?, ?, ?, ?, ?)",
            [(i.meeting_id, i.site, i.name, i.start, i.end) for i in intervals],
        )

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
