"""Recording control: starting and stopping a room's recording, auto-record and retention.

A conference :class:`~conference.extensions.Extension`: the composition root
registers it, and the conference calls it as rooms open and close, without
importing the recorder.
"""

from __future__ import annotations

import asyncio
import logging
import time

from conference.console_commands import CommandContext, CommandResult, ConsoleCommands
from conference.extensions import Extension, PeriodicTask
from conference.live_rooms import LiveRooms
from conference.rooms.console_events import ConsoleWarning, RecordingCommanded
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.settings import Settings
from conference.store import Meeting
from recorder.library import delete_expired
from recorder.manifest import Manifest, RecordingStatus, UnitEntry
from recorder.session import RoomRecorder, new_recording_id, recover_interrupted
from recorder.writer import DropCount

logger = logging.getLogger(__name__)

RETENTION_SECONDS = 86400  # how often old recordings are looked for


def new_manifest(
    room: Room, meeting: Meeting | None, by: str | None, zone: str = "UTC"
) -> Manifest:
    """The manifest a recording of ``room`` starts with: the meeting and its invited units."""
    entries = [e for e in room.roll_call.entries.values() if e.invited]
    return Manifest(
        id=new_recording_id(room.id, zone),
        room_id=room.id,
        room_name=room.name,
        meeting_id=meeting.id if meeting else None,
        meeting_title=meeting.title if meeting else None,
        meeting_start=meeting.start if meeting else None,
        meeting_end=meeting.end if meeting else None,
        host_site=meeting.host_site if meeting else None,
        units=[
            UnitEntry(code=e.unit_code, name=e.name, type=e.unit_type, depth=e.depth)
            for e in entries
            if e.unit_code
        ],
        invited_sites=[e.site_id for e in entries],
        started_at=round(time.time(), 3),
        started_by=by,
    )


class RecordingControl(Extension):
    """The recorders of the live rooms: one per room at most."""

    def __init__(self, settings: Settings, live: LiveRooms) -> None:
        self.settings = settings
        self.live = live
        self.recorders: dict[str, RoomRecorder] = {}  # room id -> its running recorder
        self.drops = DropCount()  # frames every recording dropped since the start (/metrics)

    def start(self) -> None:
        """Mark recordings a crash cut short as interrupted."""
        interrupted = recover_interrupted(self.settings.recordings_dir)
        if interrupted:
            logger.warning(
                "marked %d recording(s) interrupted: %s", len(interrupted), ", ".join(interrupted)
            )

    def periodic(self) -> dict[str, PeriodicTask]:
        """Retention, at start and then daily."""
        return {"retention": self._retention}

    def add_commands(self, commands: ConsoleCommands) -> None:
        """``record-start`` and ``record-stop`` on the host console."""
        commands.add("record-start", self._record_start)
        commands.add("record-stop", self._record_stop)

    def site_joined(self, room: Room, participant: Participant) -> None:
        """Auto-record runs from the first site in to the meeting's end (at the meeting's home)."""
        if room.carrier:
            return  # the home records the whole meeting, this copy's sites relayed there
        meeting = self.live.meeting(room.id)
        if meeting is not None and meeting.auto_record and room.id not in self.recorders:
            self.start_recording(room, "auto")

    async def room_closing(self, room: Room, reason: str) -> None:
        """A closing room's recording ends with it."""
        await self.stop_recording(room.id, reason=f"room-{reason}")

    async def shutdown(self) -> None:
        """Every recording ends, complete (its files finished before the process ends)."""
        await asyncio.gather(
            *(self.stop_recording(room_id, reason="shutdown") for room_id in list(self.recorders))
        )

    def start_recording(self, room: Room, by: str | None) -> RoomRecorder:
        """Record every track of ``room`` from now on (no-op if it already records)."""
        existing = self.recorders.get(room.id)
        if existing is not None and not existing.stopped:
            return existing
        manifest = new_manifest(room, self.live.meeting(room.id), by, self.settings.timezone)
        recorder = RoomRecorder(
            self.settings.recordings_dir / manifest.id,
            manifest,
            self.settings.recording_min_free_mb * 1024 * 1024,
            on_stopped=self._recording_stopped,
            drops=self.drops,
        )
        self.recorders[room.id] = recorder
        room.observers.append(recorder)
        screen = room.presentation_source()
        if screen is not None:
            # A presentation under way when recording starts is recorded too (and large).
            recorder.event("presenting", screen.owner)
        for participant in room.participants.values():
            recorder.participant_joined(participant)
        recorder.start()
        room.set_recording(True)
        return recorder

    async def stop_recording(self, room_id: str, reason: str = "stopped") -> Manifest | None:
        """Stop a room's recording (complete) and wait for its files; None if it was not recording.

        A recording already stopping is waited for too (shutdown must not end
        the process before its files are finished), but counts as not recording.
        """
        recorder = self.recorders.get(room_id)
        if recorder is None:
            return None
        already = recorder.stopped
        manifest = await recorder.stop(RecordingStatus.COMPLETE, reason)
        return None if already else manifest

    def _recording_stopped(self, recorder: RoomRecorder) -> None:
        room_id = recorder.manifest.room_id
        # Its files took a moment to finish: a new recording may have started meanwhile.
        current = self.recorders.get(room_id) is recorder
        if current:
            del self.recorders[room_id]
        room = self.live.get(room_id)
        if room is not None:
            if recorder in room.observers:
                room.observers.remove(recorder)
            if current:
                room.set_recording(False, recorder.manifest.stop_reason)
            if recorder.manifest.status is RecordingStatus.STOPPED_LOW_DISK:
                room.publish(
                    ConsoleWarning(
                        code="recording-low-disk",
                        message="recording stopped: the disk is almost full",
                    )
                )

    async def _record_start(self, c: CommandContext) -> CommandResult:
        recorder = self.start_recording(c.room, c.principal.username)
        return RecordingCommanded(recording=recorder.manifest.id)

    async def _record_stop(self, c: CommandContext) -> CommandResult:
        stopped = await self.stop_recording(c.room.id, reason="stopped-by-host")
        return RecordingCommanded(recording=stopped.id if stopped else None)

    async def _retention(self) -> None:
        """Delete recordings older than the retention period, at start and then daily."""
        while True:
            days = self.settings.recording_retention_days
            if days > 0:
                try:
                    removed = await asyncio.to_thread(  # deleting hours of tracks takes a while
                        delete_expired, self.settings.recordings_dir, time.time() - days * 86400
                    )
                    if removed:
                        logger.info("retention: deleted %d recording(s)", len(removed))
                except Exception:
                    logger.exception("retention pass failed")
            await asyncio.sleep(RETENTION_SECONDS)
