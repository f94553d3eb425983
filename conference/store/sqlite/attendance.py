"""Saved roll calls in the SQLite engine (table ``attendance``, see migration 9)."""

from __future__ import annotations

import sqlite3

from conference.store.attendance import AttendanceRecord, record_columns, record_from_columns
from conference.store.sqlite.engine import SqliteAggregate


class SqliteAttendance(SqliteAggregate):
    """:class:`~conference.store.attendance.AttendanceStore` on SQLite."""

    async def save_attendance(self, record: AttendanceRecord) -> None:
        """Replace the meeting's saved roll call with ``record``."""
        columns = record_columns(record)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO attendance (meeting_id, saved_at, sites, room) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(meeting_id) DO UPDATE SET saved_at = excluded.saved_at, "
                "sites = excluded.sites, room = excluded.room",
                columns,
            )

        await self._run(write)

    async def get_attendance(self, meeting_id: str) -> AttendanceRecord | None:
        """The meeting's saved roll call, or None."""
        found = await self._run(
            lambda conn: conn.execute(
                "SELECT meeting_id, saved_at, sites, room FROM attendance WHERE meeting_id = ?",
                (meeting_id,),
            ).fetchone()
        )
        return None if found is None else record_from_columns(found)
