"""``conference anpr read``, run as an operator would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr_feed.provinces import PROVINCES
from tests.support import synth


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conference", "anpr", "read", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _plate_image(path: Path, layout: str, seed: int) -> synth.PlateSpec:
    spec = synth.random_plate(np.random.default_rng(seed), layout)
    plate = synth.render_plate(spec, 0.5 if synth.PLATE_MM[layout][0] > 300 else 1.0)
    h, w = plate.shape[:2]
    img = cv2.copyMakeBorder(plate, h // 5, h // 5, w // 10, w // 10, cv2.BORDER_CONSTANT)
    assert cv2.imwrite(str(path), img)
    return spec


@pytest.fixture(scope="module")
def plates_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[synth.PlateSpec]]:
    root = tmp_path_factory.mktemp("plates")
    specs = [
        _plate_image(root / "car.jpg", "car_1line", 3),
        _plate_image(root / "moto.png", "moto_2line", 4),
    ]
    return root, specs


def test_plain_output_has_one_tab_separated_line_per_plate(
    plates_dir: tuple[Path, list[synth.PlateSpec]],
) -> None:
    root, (car, moto) = plates_dir
    result = run(str(root / "car.jpg"), str(root / "moto.png"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    rows = [line.split("\t") for line in lines]
    for row, spec, name in zip(rows, (car, moto), ("car.jpg", "moto.png"), strict=True):
        assert len(row) == 5, row
        file, plate, display, confidence, province = row
        assert file == str(root / name)
        assert plate == spec.normalized
        assert display == spec.display
        assert 0.5 <= float(confidence) <= 1.0
        assert province == PROVINCES[spec.province_code]


def test_json_lines_have_the_plate_and_its_fields(
    plates_dir: tuple[Path, list[synth.PlateSpec]],
) -> None:
    root, (car, moto) = plates_dir
    result = run("--json", str(root / "moto.png"), str(root / "car.jpg"))
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["plate"] for o in objs] == [moto.normalized, car.normalized]
    m, c = objs
    assert m["file"] == str(root / "moto.png")
    assert m["display"] == moto.display
    assert m["province_code"] == moto.province_code
    assert m["province"] == PROVINCES[moto.province_code]
    assert m["lines"] == 2 and m["kind"] == "motorbike"
    assert c["lines"] == 1 and c["kind"] == "car"
    for o in objs:
        assert 0.5 <= o["confidence"] <= 1.0
        assert o["colour"] in ("white", "yellow", "blue")
        assert isinstance(o["repaired"], list)
        assert "time" not in o


def test_missing_and_broken_files_are_reported_and_the_others_still_read(
    plates_dir: tuple[Path, list[synth.PlateSpec]], tmp_path: Path
) -> None:
    root, (car, _) = plates_dir
    missing = tmp_path / "no-such-camera.jpg"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 this is not really a JPEG")
    result = run(str(missing), str(broken), str(root / "car.jpg"))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert "no such file" in result.stderr
    assert str(broken) in result.stderr
    assert "not an image or a video" in result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split("\t")[1] == car.normalized


def test_a_picture_without_a_plate_is_said_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty-lane.png"
    assert cv2.imwrite(str(empty), np.full((240, 320, 3), 128, np.uint8))
    result = run(str(empty))
    assert result.returncode == 0
    assert result.stdout == ""
    assert str(empty) in result.stderr and "no plate found" in result.stderr


def test_a_video_gives_one_line_per_vehicle(tmp_path: Path) -> None:
    video = tmp_path / "checkpoint.mp4"
    truth = synth.generate(video, seconds=8, seed=3, vehicles_per_minute=20)
    expected = {v.plate.normalized for v in truth if len(v.full_frames) >= 10}
    assert len(expected) >= 2  # a clip with several vehicles passing
    result = run("--json", str(video))
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    plates = [o["plate"] for o in objs]
    assert len(plates) == len(set(plates)), plates  # one line per pass, not per frame
    assert set(plates) == expected
    for o in objs:
        vehicle = next(v for v in truth if v.plate.normalized == o["plate"])
        # The pass's time offset is when that vehicle's plate was in the picture.
        assert vehicle.entry_frame / 25 - 0.5 <= o["started_at"] <= o["ended_at"]
        assert o["ended_at"] <= vehicle.exit_frame / 25 + 0.5
        assert o["time"] == o["started_at"]
    plain = run(str(video))
    assert plain.returncode == 0
    cols = [line.split("\t") for line in plain.stdout.splitlines()]
    assert sorted(c[1] for c in cols) == sorted(plates)
    assert all(len(c) == 6 and c[5].endswith("s") for c in cols)
