"""Meetings' plate alerts in the SQLite engine (table ``meeting_alerts``)."""

from __future__ import annotations

from collections.abc import Sequence

from conference.store.meeting_alerts import MeetingAlert
from conference.store.sqlite.engine import SqliteAggregate


class SqliteMeetingAlerts(SqliteAggregate):
    """:class:`~conference.store.meeting_alerts.MeetingAlertStore` on SQLite."""

    async def add_meeting_alerts(self, alerts: Sequence[MeetingAlert]) -> None:
        """Insert the batch in one transaction; an alert kept already is left alone."""
        await self._insert_batch(
            "INSERT OR IGNORE INTO meeting_alerts "
            "(meeting_id, event_id, at, checkpoint, plate, reason) VALUES (?, ?, ?, ?, ?, ?)",
            [(a.meeting_id, a.event_id, a.at, a.checkpoint, a.plate, a.reason) for a in alerts],
        )

    async def meeting_alerts(self, meeting_id: str) -> list[MeetingAlert]:
        """The meeting's alerts by time."""
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT meeting_id, event_id, at, checkpoint, plate, reason FROM meeting_alerts "
                "WHERE meeting_id = ? ORDER BY at, event_id",
                (meeting_id,),
            ).fetchall()
        )
        return [MeetingAlert(m, e, float(a), c, p, r) for m, e, a, c, p, r in rows]
