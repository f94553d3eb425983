"""The recordings library on disk: listing, unsafe names, retention, crash recovery."""

from __future__ import annotations

import time

import pytest

from recorder.library import Library, delete_expired
from recorder.manifest import Manifest, RecordingStatus, TrackEntry, read_manifest, write_manifest
from recorder.session import recover_interrupted


def make(root, recording_id: str, started_at: float, status: RecordingStatus) -> None:
    directory = root / recording_id
    directory.mkdir(parents=True)
    (directory / "a-video-1.webm").write_bytes(b"x" * 100)
    manifest = Manifest(
        id=recording_id,
        room_id="r",
        room_name="Phòng",
        started_at=started_at,
        status=status,
        tracks=[
            TrackEntry(
                file="a-video-1.webm",
                site_id="a",
                site_name="A",
                kind="video",
                codec="vp8",
                clock_rate=90000,
                started_at=started_at,
                last_frame_at=started_at + 30,
            )
        ],
    )
    write_manifest(directory, manifest)


def test_listing_files_and_names(tmp_path):
    make(tmp_path, "old", 1000, RecordingStatus.COMPLETE)
    make(tmp_path, "new", 2000, RecordingStatus.COMPLETE)
    library = Library(tmp_path)
    assert [info.manifest.id for info in library.all()] == ["new", "old"]
    assert library.get("new").size > 100
    assert library.file("new", "a-video-1.webm").name == "a-video-1.webm"
    for bad in ("../old/manifest.json", ".manifest.json.tmp", "manifest/../x"):
        with pytest.raises(KeyError):
            library.file("new", bad)
    with pytest.raises(KeyError):
        library.get("../new")
    (tmp_path / "new" / "composite-grid.mp4").write_bytes(b"y")
    assert library.get("new").composites == {"grid": "composite-grid.mp4"}  # seen without a restart


def test_retention_deletes_only_finished_old_recordings(tmp_path):
    now = time.time()
    make(tmp_path, "expired", now - 400 * 86400, RecordingStatus.COMPLETE)
    make(tmp_path, "running", now - 400 * 86400, RecordingStatus.RECORDING)
    make(tmp_path, "recent", now - 10 * 86400, RecordingStatus.INTERRUPTED)
    assert delete_expired(tmp_path, now - 365 * 86400) == ["expired"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recent", "running"]
    with pytest.raises(ValueError):
        Library(tmp_path).delete("running")


def test_recovery_marks_crashed_recordings_interrupted(tmp_path):
    make(tmp_path, "crashed", 1000, RecordingStatus.RECORDING)
    make(tmp_path, "done", 1000, RecordingStatus.COMPLETE)
    assert recover_interrupted(tmp_path) == ["crashed"]
    manifest = read_manifest(tmp_path / "crashed")
    assert manifest.status is RecordingStatus.INTERRUPTED and manifest.ended_at is not None
    assert read_manifest(tmp_path / "done").status is RecordingStatus.COMPLETE
    assert recover_interrupted(tmp_path) == []
