"""A meeting's roll call as last saved: :class:`AttendanceRecord` and :class:`AttendanceStore`.

The record outlives the meeting's room, so the attendance of a closed
meeting (and a room reopened after a restart) reads it back. Older versions
kept it as a JSON document in the store's ``meta`` under
:data:`LEGACY_META_PREFIX` + meeting id; both engines convert those (SQLite in
a migration, Redis on first read) with :func:`legacy_record`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)

LEGACY_META_PREFIX = "attendance:"  # + meeting id: where older versions kept the record


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    """A meeting's roll call when it was saved, and what its host decided.

    ``sites`` are the roll call's rows (``RollCall.snapshot()``); ``room`` is
    what the host decided that must outlive the room (``Room.host_state()``:
    lock, removals, mutes).
    """

    meeting_id: str
    saved_at: float  # unix seconds
    sites: list[dict[str, Any]] = field(default_factory=list)
    room: dict[str, Any] = field(default_factory=dict)


class AttendanceStore(Protocol):
    """One saved roll call per meeting."""

    async def save_attendance(self, record: AttendanceRecord) -> None:
        """Keep ``record`` as its meeting's roll call, replacing the one saved before."""
        ...

    async def get_attendance(self, meeting_id: str) -> AttendanceRecord | None:
        """The meeting's saved roll call, or None if none was saved."""
        ...


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_columns(record: AttendanceRecord) -> tuple[str, float, str, str]:
    """The record as a row: meeting id, saved at, and the rows and host decisions as JSON."""
    return (record.meeting_id, record.saved_at, _json(record.sites), _json(record.room))


def record_from_columns(row: tuple[str, float, str, str]) -> AttendanceRecord:
    """A row of :func:`record_columns` read back."""
    return AttendanceRecord(row[0], float(row[1]), json.loads(row[2]), json.loads(row[3]))


def record_json(record: AttendanceRecord) -> str:
    """The record as one JSON document (UTF-8 text, as the engines keep their documents)."""
    return _json(
        {
            "meeting_id": record.meeting_id,
            "saved_at": record.saved_at,
            "sites": record.sites,
            "room": record.room,
        }
    )


def record_from_json(text: str) -> AttendanceRecord:
    """A record written by :func:`record_json`."""
    data = json.loads(text)
    return AttendanceRecord(
        meeting_id=str(data["meeting_id"]),
        saved_at=float(data["saved_at"]),
        sites=list(data["sites"]),
        room=dict(data["room"]),
    )


def legacy_record(meeting_id: str, text: str) -> AttendanceRecord | None:
    """A record older versions kept in ``meta``, read by their rules (None: unreadable).

    The document was ``{"meeting", "saved_at", "sites", "room"}``; a missing
    or empty ``room`` is no host decision.
    """
    try:
        saved = json.loads(text)
        rows, saved_at = saved["sites"], float(saved["saved_at"])
        host_state = saved.get("room") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("the saved roll call of meeting %s is unreadable", meeting_id)
        return None
    if not isinstance(rows, list) or not isinstance(host_state, dict):
        return None
    return AttendanceRecord(meeting_id, saved_at, rows, host_state)
