"""A meeting's roll call kept in the store, so the record outlives the live room."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from conference.invitations import invited_sites
from conference.redis_client import UNREACHABLE
from conference.rooms.roll_call import RollCall
from conference.rooms.room import Room
from conference.store import AttendanceRecord, Meeting, Store

logger = logging.getLogger(__name__)

ATTENDANCE_SAVE_SECONDS = 30.0  # at most this often while sites come and go; always at the end

SavedRollCall = tuple[list[dict[str, Any]], float, dict[str, Any]]


class Attendance:
    """Saves a meeting room's roll call and host decisions, and reads them back."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._saved: dict[str, tuple[Any, float, int]] = {}  # room: (what, when, arrivals)
        # When the saved copy a room took back was saved (0: there was none), by room.
        self._restored: dict[str, float] = {}
        # Final roll calls of rooms that closed while the store was out of reach
        # (a Redis outage), by meeting: written by :meth:`save_pending` once it answers.
        self.pending: dict[str, AttendanceRecord] = {}
        self._store_down = False  # one warning per outage, not one per pass

    def opened(self, room: Room, restored_from: float = 0.0) -> None:
        """``room`` was opened (and restored from the copy saved at ``restored_from``, if any).

        What it holds now is what the store holds: only a change made here is
        saved. A copy of the meeting's room that no site ever joins (another
        process or node opened it, e.g. by the schedule, while the meeting's
        sites are at its home) must not overwrite the home's roll call with
        its own empty or older one when it closes.
        """
        self._saved[room.id] = (self._revision(room), float("-inf"), room.roll_call.arrivals)
        self._restored[room.id] = restored_from

    def untouched(self, room: Room) -> bool:
        """Whether nothing happened in ``room`` here since it opened (a copy; see :meth:`opened`)."""
        last = self._saved.get(room.id)
        return last is not None and last[1] == float("-inf") and last[0] == self._revision(room)

    async def newer_than_restored(self, room: Room, meeting: Meeting) -> SavedRollCall | None:
        """The meeting's saved roll call if it was saved after the one ``room`` took back.

        A copy opened here by the schedule while the meeting's home was another
        node holds what the store held then; when this node takes the meeting
        over (the home died), the home's later saves are the meeting's record.
        """
        saved = await self.saved(meeting)
        if saved is None or saved[1] <= self._restored.get(room.id, 0.0):
            return None
        return saved

    @staticmethod
    def _revision(room: Room) -> tuple[int, str]:
        return room.roll_call.revision, json.dumps(room.host_state())

    async def save(self, room: Room, meeting: Meeting, final: bool = False) -> None:
        """Keep ``room``'s roll call (of ``meeting``) in the store.

        Saved when it changed, at most every :data:`ATTENDANCE_SAVE_SECONDS`
        while the meeting runs (a crash loses at most that much), and at once
        when the room closes (``final``). A site's first join is saved at the
        next call (the scheduler's pass, every 2 s) whatever the throttle: when
        the meeting's home dies, the node that takes it over restores the saved
        copy, and a site that arrived in the last 30 s would otherwise count
        as first come when it reconnected there. Arrivals are bounded by the
        invited sites, so this adds at most one save per pass while they come.
        """
        revision = self._revision(room)
        now = time.monotonic()
        last = self._saved.get(room.id)
        if last is not None and last[0] == revision:
            if final:
                self._saved.pop(room.id, None)
            return
        arrivals = room.roll_call.arrivals
        if (
            last is not None
            and not final
            and now - last[1] < ATTENDANCE_SAVE_SECONDS
            and arrivals == last[2]
        ):
            return
        record = AttendanceRecord(
            meeting_id=meeting.id,
            saved_at=time.time(),
            sites=room.roll_call.snapshot(),
            room=room.host_state(),
        )
        try:
            if final:
                record = await self._with_sites_saved_elsewhere(record)
            await self.store.save_attendance(record)
        except Exception as exc:
            # A store that fails must not keep a room from closing. While the room
            # lives, the next pass retries; a closed room's roll call waits here.
            if final:
                self.pending[meeting.id] = record
                self._saved.pop(room.id, None)
            if isinstance(exc, UNREACHABLE):
                self._down(exc)
            else:
                logger.exception("saving the roll call of meeting %s failed", meeting.id)
            return
        self._up()
        self.pending.pop(meeting.id, None)  # superseded
        self._saved[room.id] = (revision, now, arrivals)
        if final:
            self._saved.pop(room.id, None)
            self._restored.pop(room.id, None)

    async def _with_sites_saved_elsewhere(self, record: AttendanceRecord) -> AttendanceRecord:
        """``record`` and every site the stored roll call has that ``record`` lacks.

        A room's final save replaces the meeting's record. Another node may have
        saved sites this room never saw: after a Redis outage longer than a
        lease the meeting ran in two halves, each with its own sites, and the
        half that closes last would otherwise erase the other's attendance. So
        the final save keeps every site either side recorded (for a site both
        saw, this room's row: the later one). Read once per room, at its close.
        """
        stored = await self.store.get_attendance(record.meeting_id)
        if stored is None:
            return record
        ours = {row.get("site_id") for row in record.sites}
        missing = [row for row in stored.sites if row.get("site_id") not in ours]
        if not missing:
            return record
        logger.warning(
            "meeting %s: the saved roll call had %d site(s) this room never saw "
            "(another node ran the meeting too); kept them",
            record.meeting_id,
            len(missing),
        )
        return AttendanceRecord(
            meeting_id=record.meeting_id,
            saved_at=record.saved_at,
            sites=[*record.sites, *missing],
            room=record.room,
        )

    async def save_pending(self) -> None:
        """Write the final roll calls kept while the store was out (see :attr:`pending`)."""
        for meeting_id, record in list(self.pending.items()):
            try:
                # A final roll call, kept while the store was out: it merges as at the close.
                await self.store.save_attendance(await self._with_sites_saved_elsewhere(record))
            except UNREACHABLE as exc:
                self._down(exc)
                return
            self._up()
            if self.pending.get(meeting_id) is record:
                del self.pending[meeting_id]
            logger.info("roll call of meeting %s saved after the store came back", meeting_id)

    def _down(self, exc: Exception) -> None:
        if not self._store_down:
            self._store_down = True
            logger.warning(
                "roll calls cannot be saved: the store is unreachable (%s); "
                "kept in memory and saved when it answers",
                exc,
            )

    def _up(self) -> None:
        if self._store_down:
            self._store_down = False
            logger.info("roll calls are saved again")

    async def saved(self, meeting: Meeting) -> SavedRollCall | None:
        """A meeting's saved roll call: its rows, when it was saved, the host's decisions."""
        # One not written yet (the store was out when its room closed) is the latest.
        record = self.pending.get(meeting.id) or await self.store.get_attendance(meeting.id)
        if record is None:
            return None
        return record.sites, record.saved_at, record.room

    async def roll_call(self, meeting: Meeting, live: Room | None) -> tuple[RollCall, bool]:
        """A meeting's roll call: the live room's, else as saved, else every site not joined.

        The flag says whether the room is live (present times still grow).
        """
        if live is not None:
            return live.roll_call, True
        roll_call = RollCall(await invited_sites(self.store, meeting))
        saved = await self.saved(meeting)
        if saved is not None:
            roll_call.restore(saved[0], saved[1])
        return roll_call, False
