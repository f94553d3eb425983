"""Recording one room: a file per published track, a manifest, a disk-space guard.

Nothing here waits for the disk on the event loop: track files are written
by their writer threads (:mod:`recorder.writer`) and the manifest is saved
on a worker thread. The manifest reaches the disk before any track file is
created (the writers wait for :attr:`RoomRecorder.ready`), and the final
one only after every track file is finished, so what a crash leaves is
always described by the manifest next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conference.private_files import private_dir
from conference.rooms.participant import Participant
from conference.rooms.presenting import SCREEN
from recorder.manifest import (
    Event,
    Manifest,
    RecordingStatus,
    TrackEntry,
    manifest_bytes,
    read_manifest,
    write_manifest,
    write_manifest_bytes,
)
from recorder.track import ClockOffset, TrackRecorder
from recorder.writer import DropCount

logger = logging.getLogger(__name__)

SAVE_SECONDS = 2.0  # the manifest on disk is at most this old
DISK_CHECK_SECONDS = 5.0
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def new_recording_id(room_id: str, zone: str = "UTC") -> str:
    """Sortable by time (in the service's time zone), unique, safe as a directory name."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    stamp = datetime.now(ZoneInfo(zone)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{_SAFE.sub('', room_id)[:24]}-{secrets.token_hex(3)}"


class RoomRecorder:
    """Writes every track of a room while it records; the room calls its hooks."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        min_free_bytes: int,
        on_stopped: Callable[[RoomRecorder], None] | None = None,
        drops: DropCount | None = None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.min_free_bytes = min_free_bytes
        self.stopped = False
        self._on_stopped = on_stopped
        self._drops = drops  # shared by the process's recordings: /metrics adds them up
        self._tracks: dict[str, dict[str, TrackRecorder]] = {}  # site -> kind -> recorder
        self._offsets: dict[str, ClockOffset] = {}
        self._files: dict[str, int] = {}  # "site-kind" -> files made so far
        self._presenters: set[str] = set()  # sites whose presentation was shown
        self._dirty = True
        self._task: asyncio.Task[None] | None = None
        self._every: list[TrackRecorder] = []  # closed ones too: stop waits for their files
        self._stopping: asyncio.Future[None] | None = None
        # Set once the first manifest is on disk; track files are made only after it.
        self.ready = threading.Event()
        # The periodic save waits for the disk (fsync) on a thread, not on the
        # event loop; numbered snapshots keep an older one from landing last.
        self._write_lock = threading.Lock()
        self._snapshots = 0
        self._on_disk = 0
        private_dir(directory)  # recordings are for the library's users, not the machine's

    def start(self) -> None:
        """Start saving the manifest (the first copy at once) and watching the disk."""
        self.event("recording-started", data={"by": self.manifest.started_by})
        self._task = asyncio.ensure_future(self._run())

    # -- room hooks -------------------------------------------------------------------

    def participant_joined(self, participant: Participant) -> None:
        """A site came in: record its tracks (a rejoin gets new files)."""
        self.event("join", participant.id, {"name": participant.name})
        self.media_changed(participant)

    def media_changed(self, participant: Participant) -> None:
        """Its sources may have appeared (after its answer): start recording them."""
        if self.stopped:
            return
        current = self._tracks.setdefault(participant.id, {})
        for kind, published in participant.sources.items():
            source = published.recording_layer()  # a simulcast camera: one of its layers
            if source is None:
                continue  # its answer will say which layers come (media_changed again)
            if kind == SCREEN and participant.id not in self._presenters:
                # Every page has a screen section: only what a site presented (the room
                # let it, and its media flowed) is recorded, not what it sent unasked.
                continue
            recorder = current.get(kind)
            if recorder is not None and recorder.source is source and not recorder.closed:
                continue
            if recorder is not None:
                recorder.close()
            current[kind] = self._record(participant, kind, source)

    def participant_left(self, participant: Participant, reason: str) -> None:
        """A site went away: finish its files."""
        self.event("leave", participant.id, {"reason": reason})
        for recorder in self._tracks.pop(participant.id, {}).values():
            recorder.close()

    def event(
        self, kind: str, site_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        """Note something that happened (floor, speaker, mute, plate...)."""
        if self.stopped:
            return
        if kind == "presenting" and site_id is not None:
            self._presenters.add(site_id)
        self.manifest.events.append(
            Event(at=round(time.time(), 3), type=kind, site_id=site_id, data=data or {})
        )
        self._dirty = True

    def _record(self, participant: Participant, name: str, source: Any) -> TrackRecorder:
        """A file for the source ``name`` (``audio``, ``video``, ``screen``) of a site."""
        key = f"{_SAFE.sub('', participant.id)[:40] or 'site'}-{name}"
        number = self._files[key] = self._files.get(key, 0) + 1
        kind = source.kind  # a presentation is video like the camera
        codec = (source.codec or ("VP8" if kind == "video" else "opus")).lower()
        extension = "webm" if codec in ("vp8", "opus") else "mkv"
        entry = TrackEntry(
            file=f"{key}-{number}.{extension}",
            site_id=participant.id,
            site_name=participant.name,
            kind=kind,
            codec=codec,
            clock_rate=90000 if kind == "video" else 48000,
            started_at=round(time.time(), 3),
            content="screen" if name == SCREEN else "camera",
        )
        self.manifest.tracks.append(entry)
        offset = self._offsets.setdefault(participant.id, ClockOffset())
        recorder = TrackRecorder(
            source,
            self.directory / entry.file,
            entry,
            offset,
            on_change=self._changed,
            ready=self.ready,
            drops=self._drops,
        )
        # Finished files need no waiting for: a long meeting's rejoins must not pile up.
        self._every = [r for r in self._every if not r.entry.closed]
        self._every.append(recorder)
        source.add_sink(recorder)
        if kind == "video":
            source.request_keyframe()  # a file must start with a keyframe
        self._dirty = True
        return recorder

    def _changed(self, _recorder: TrackRecorder) -> None:
        self._dirty = True

    # -- upkeep ------------------------------------------------------------------------

    def _all(self) -> list[TrackRecorder]:
        return [r for kinds in self._tracks.values() for r in kinds.values()]

    async def _save_off_loop(self) -> None:
        await asyncio.to_thread(self._write, *self._snapshot())

    def _snapshot(self) -> tuple[int, bytes]:
        for recorder in self._all():
            recorder.sync_entry()
        self._dirty = False
        self._snapshots += 1
        return self._snapshots, manifest_bytes(self.manifest)

    def _write(self, number: int, data: bytes) -> None:
        with self._write_lock:
            if number <= self._on_disk:
                return  # a newer snapshot is on disk already
            write_manifest_bytes(self.directory, data)
            self._on_disk = number

    def free_bytes(self) -> int:
        """Free space where the files go."""
        return shutil.disk_usage(self.directory).free

    async def _run(self) -> None:
        last_disk_check = 0.0
        try:
            while not self.stopped:
                now = time.monotonic()
                if now - last_disk_check >= DISK_CHECK_SECONDS or last_disk_check == 0.0:
                    last_disk_check = now
                    if self.free_bytes() < self.min_free_bytes:
                        logger.warning("recording %s: disk almost full, stopping", self.manifest.id)
                        await self.stop(RecordingStatus.STOPPED_LOW_DISK, "low-disk")
                        return
                if self._dirty or self._tracks:  # frames keep coming: keep the copy on disk fresh
                    try:
                        await self._save_off_loop()
                    finally:
                        # The first copy is on disk: track files may be made now (also
                        # if it failed: the tracks are still worth having).
                        self.ready.set()
                await asyncio.sleep(SAVE_SECONDS)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("recording %s upkeep failed", self.manifest.id)

    async def stop(
        self, status: RecordingStatus = RecordingStatus.COMPLETE, reason: str = "stopped"
    ) -> Manifest:
        """Finish every file, then the manifest; nothing is left half-written.

        The files are finished by their writer threads and the manifest is
        saved on a worker thread: the loop goes on forwarding meanwhile. A
        second call waits for the first one's work; a cancelled caller does
        not interrupt it.
        """
        if self._stopping is None:
            self.event("recording-stopped", data={"reason": reason})
            self.stopped = True
            self.manifest.status = status
            self.manifest.stop_reason = reason
            self.manifest.ended_at = round(time.time(), 3)
            if self._task is not None and self._task is not asyncio.current_task():
                self._task.cancel()
            for recorder in self._all():
                recorder.close()
            self._tracks.clear()
            self.ready.set()  # a writer still waiting for the first manifest: go
            self._stopping = asyncio.ensure_future(self._finish())
        await asyncio.shield(self._stopping)
        return self.manifest

    async def _finish(self) -> None:
        try:
            await asyncio.gather(*(r.finished() for r in self._every), return_exceptions=True)
            await self._save_off_loop()
        finally:
            if self._on_stopped is not None:
                with contextlib.suppress(Exception):
                    self._on_stopped(self)


def recover_interrupted(recordings: Path) -> list[str]:
    """Mark recordings a crash left 'recording' as interrupted; return their ids."""
    found: list[str] = []
    if not recordings.is_dir():
        return found
    for directory in sorted(recordings.iterdir()):
        if not (directory / "manifest.json").is_file():
            continue
        try:
            manifest = read_manifest(directory)
        except Exception:
            logger.exception("unreadable manifest in %s", directory)
            continue
        if manifest.status is not RecordingStatus.RECORDING:
            continue
        ends = [t.last_frame_at for t in manifest.tracks if t.last_frame_at is not None]
        files = [directory / t.file for t in manifest.tracks if (directory / t.file).exists()]
        mtimes = [f.stat().st_mtime for f in files]
        manifest.ended_at = max(ends + mtimes) if ends or mtimes else manifest.started_at
        for track in manifest.tracks:
            path = directory / track.file
            if path.exists():
                track.bytes = path.stat().st_size
        manifest.status = RecordingStatus.INTERRUPTED
        manifest.stop_reason = "server-stopped"
        write_manifest(directory, manifest)
        found.append(manifest.id)
    return found
