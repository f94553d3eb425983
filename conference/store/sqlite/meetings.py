"""Meetings and invitations in the SQLite engine (tables ``meetings``, ``invitations``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from conference.store.errors import Conflict, MeetingNotFound, StoreError
from conference.store.meetings import Meeting
from conference.store.sqlite.engine import SqliteAggregate


class SqliteMeetings(SqliteAggregate):
    """:class:`~conference.store.meetings.MeetingStore` on SQLite."""

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        await self._run(lambda conn: self._write_meeting(conn, meeting, site_ids, replace=False))

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        await self._run(lambda conn: self._write_meeting(conn, meeting, site_ids, replace=True))

    @staticmethod
    def _write_meeting(
        conn: sqlite3.Connection, meeting: Meeting, site_ids: Sequence[str], replace: bool
    ) -> None:
        if meeting.end <= meeting.start:
            raise StoreError("a meeting must end after it starts")
        conn.execute("BEGIN IMMEDIATE")  # the overlap check and the write are one step
        try:
            exists = conn.execute("SELECT 1 FROM meetings WHERE id = ?", (meeting.id,)).fetchone()
            if replace and not exists:
                raise MeetingNotFound(f"no meeting {meeting.id!r}")
            if not replace and exists:
                raise Conflict(f"meeting {meeting.id!r} already exists")
            if meeting.cancelled_at is None:
                clash = conn.execute(
                    "SELECT id, title FROM meetings WHERE host_site = ? AND id != ? AND cancelled_at IS NULL "
                    'AND start < ? AND "end" > ? ORDER BY start LIMIT 1',
                    (meeting.host_site, meeting.id, meeting.end, meeting.start),
                ).fetchone()
                if clash is not None:
                    raise Conflict(
                        f"the host site already has a meeting at that time: {clash[1]!r} ({clash[0]})"
                    )
            row = _meeting_row(meeting)
            if replace:
                conn.execute(
                    'UPDATE meetings SET title = ?, agenda = ?, start = ?, "end" = ?, host_site = ?, '
                    "created_by = ?, room_id = ?, created_at = ?, auto_record = ?, cancelled_at = ? "
                    "WHERE id = ?",
                    (*row[1:], row[0]),
                )
                conn.execute("DELETE FROM invitations WHERE meeting_id = ?", (meeting.id,))
            else:
                conn.execute(
                    'INSERT INTO meetings (id, title, agenda, start, "end", host_site, created_by, '
                    "room_id, created_at, auto_record, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            conn.executemany(
                "INSERT INTO invitations (meeting_id, site_id, position) VALUES (?, ?, ?)",
                [(meeting.id, site, index) for index, site in enumerate(dict.fromkeys(site_ids))],
            )
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"meeting refers to an unknown site: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def get_meeting(self, meeting_id: str) -> Meeting:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
        )
        if row is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        return _meeting(row)

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        rows = await self._run(
            lambda conn: conn.execute(
                f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE start < ? AND "end" > ? ORDER BY start, id',
                (start_to, start_from),
            ).fetchall()
        )
        return [_meeting(r) for r in rows]

    async def invitations(self, meeting_id: str) -> list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT site_id FROM invitations WHERE meeting_id = ? ORDER BY position",
                (meeting_id,),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        rows = await self._run(
            lambda conn: conn.execute(
                f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE start < ? AND "end" > ? AND '
                "(host_site = ? OR id IN (SELECT meeting_id FROM invitations WHERE site_id = ?)) "
                "ORDER BY start, id",
                (start_to, start_from, site_id, site_id),
            ).fetchall()
        )
        return [_meeting(r) for r in rows]


_MEETING_COLUMNS = 'id, title, agenda, start, "end", host_site, created_by, room_id, created_at, auto_record, cancelled_at'


def _meeting_row(meeting: Meeting) -> tuple[object, ...]:
    return (
        meeting.id,
        meeting.title,
        meeting.agenda,
        meeting.start,
        meeting.end,
        meeting.host_site,
        meeting.created_by,
        meeting.room_id,
        meeting.created_at,
        int(meeting.auto_record),
        meeting.cancelled_at,
    )


def _meeting(row: tuple) -> Meeting:
    return Meeting(
        id=row[0],
        title=row[1],
        agenda=row[2],
        start=row[3],
        end=row[4],
        host_site=row[5],
        created_by=row[6],
        room_id=row[7],
        created_at=row[8],
        auto_record=bool(row[9]),
        cancelled_at=row[10],
    )
