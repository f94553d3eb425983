"""The recordings on disk: listing, files, deletion and retention."""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from recorder.manifest import MANIFEST, Manifest, RecordingStatus, read_manifest

logger = logging.getLogger(__name__)

RECORDING_ID = re.compile(r"^[A-Za-z0-9_-]{1,120}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


@dataclass(frozen=True)
class RecordingInfo:
    """A recording as the library lists it."""

    manifest: Manifest
    directory: Path
    size: int  # bytes of every file in it
    composites: dict[str, str]  # layout -> file name of rendered composites


class Library:
    """Reads recordings from one directory; manifests are cached by modification time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, tuple[tuple[float, float], RecordingInfo]] = {}

    def directory(self, recording_id: str) -> Path:
        """The directory of a recording (the id is checked: no path tricks)."""
        if not RECORDING_ID.match(recording_id):
            raise KeyError(recording_id)
        path = self.root / recording_id
        if not (path / MANIFEST).is_file():
            raise KeyError(recording_id)
        return path

    def get(self, recording_id: str) -> RecordingInfo:
        """One recording; KeyError if there is none."""
        directory = self.directory(recording_id)
        # A new file (a rendered composite) changes the directory, not the manifest.
        stamp = ((directory / MANIFEST).stat().st_mtime, directory.stat().st_mtime)
        cached = self._cache.get(recording_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        manifest = read_manifest(directory)
        files = [f for f in directory.iterdir() if f.is_file() and not f.name.startswith(".")]
        composites = {
            f.stem.removeprefix("composite-"): f.name
            for f in files
            if f.name.startswith("composite-") and f.suffix == ".mp4"
        }
        info = RecordingInfo(manifest, directory, sum(f.stat().st_size for f in files), composites)
        self._cache[recording_id] = (stamp, info)
        return info

    def all(self) -> list[RecordingInfo]:
        """Every readable recording, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        for directory in self.root.iterdir():
            if not (directory / MANIFEST).is_file():
                continue
            try:
                out.append(self.get(directory.name))
            except Exception:
                logger.exception("unreadable recording %s", directory.name)
        return sorted(out, key=lambda info: info.manifest.started_at, reverse=True)

    def file(self, recording_id: str, name: str) -> Path:
        """A file of a recording; KeyError if it is not one of its tracks or composites."""
        directory = self.directory(recording_id)
        if not FILE_NAME.match(name) or name.startswith("."):
            raise KeyError(name)
        path = directory / name
        if not path.is_file():
            raise KeyError(name)
        return path

    def delete(self, recording_id: str) -> None:
        """Remove a recording and its files (not one that is still recording)."""
        info = self.get(recording_id)
        if info.manifest.status is RecordingStatus.RECORDING:
            raise ValueError("the recording is still running: stop it first")
        shutil.rmtree(info.directory)
        self._cache.pop(recording_id, None)


def delete_expired(root: Path, before: float) -> list[str]:
    """Delete finished recordings that started before ``before``; return their ids."""
    library = Library(root)
    removed = []
    for info in library.all():
        if (
            info.manifest.status is not RecordingStatus.RECORDING
            and info.manifest.started_at < before
        ):
            library.delete(info.manifest.id)
            removed.append(info.manifest.id)
    return removed
