"""The synthetic checkpoint video: its truth is consistent with what it draws."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from anpr_feed import plates
from tests.support import synth

W, H = 1280, 720


@pytest.fixture(scope="module")
def scene() -> synth.CheckpointScene:
    # 60 s at 30 a minute: 30 vehicles, every layout several times (truth only: nothing drawn).
    return synth.CheckpointScene(60, seed=3, vehicles_per_minute=30)


def test_boxes_are_inside_the_frame_and_frames_are_consistent(
    scene: synth.CheckpointScene,
) -> None:
    seen = [v for v in scene.truth if v.boxes]
    assert len(seen) >= 28
    for v in seen:
        assert v.entry_frame == min(v.boxes) and v.exit_frame == max(v.boxes)
        assert 0 <= v.entry_frame <= v.exit_frame < scene.frame_count
        assert set(v.full_frames) <= set(v.boxes)
        assert v.full_frames, f"{v.plate.display} is never wholly in view"
        for x, y, w, h in v.boxes.values():
            assert x >= 0 and y >= 0 and w >= 2 and h >= 2
            assert x + w <= W and y + h <= H
        # Where the plate is wholly in view it is a plate's size, not a speck or the whole road.
        assert 40 <= v.max_plate_width <= 400
        # Approaching plates get bigger frame after frame; receding ones smaller.
        first, last = v.full_frames[0], v.full_frames[-1]
        growing = v.boxes[last][2] > v.boxes[first][2]
        assert growing == (v.direction == "approaching")


def test_plates_are_valid_and_parse_to_themselves(scene: synth.CheckpointScene) -> None:
    for v in scene.truth:
        spec = v.plate
        assert plates.is_valid(spec.normalized), spec
        parsed = plates.parse(list(spec.rows))
        assert parsed is not None and parsed.normalized == spec.normalized
        assert parsed.province_code == spec.province_code
        assert parsed.lines == len(spec.rows)


def test_every_layout_and_both_directions_show_up(scene: synth.CheckpointScene) -> None:
    assert {v.plate.layout for v in scene.truth} == set(synth.LAYOUTS)
    assert {v.direction for v in scene.truth} == {"approaching", "receding"}
    assert {v.kind for v in scene.truth} >= {"car", "motorbike"}
    assert {v.kind for v in scene.truth} & {"truck", "coach"}
    # Motorbikes carry two-row plates, and only those.
    for v in scene.truth:
        if v.kind == "motorbike":
            assert v.plate.layout.startswith("moto_2line")


def test_the_scene_is_deterministic_for_a_seed() -> None:
    a = synth.CheckpointScene(8, seed=9, width=640, height=360)
    b = synth.CheckpointScene(8, seed=9, width=640, height=360)
    c = synth.CheckpointScene(8, seed=10, width=640, height=360)
    assert [v.to_dict() for v in a.truth] == [v.to_dict() for v in b.truth]
    assert [v.plate for v in a.truth] != [v.plate for v in c.truth]
    index = a.truth[0].entry_frame + 5
    assert np.array_equal(a.frame(index), b.frame(index))


def test_night_is_darker_than_day_but_plates_stay_readable() -> None:
    day = synth.CheckpointScene(6, seed=4, width=640, height=360)
    night = synth.CheckpointScene(6, seed=4, width=640, height=360, night=True)
    v = next(v for v in day.truth if v.full_frames)
    index = v.full_frames[len(v.full_frames) // 2]
    d, n = day.frame(index), night.frame(index)
    assert n.mean() < 0.6 * d.mean()
    # Retro-reflective plates: at night the plate is much brighter than the picture around it.
    x, y, w, h = v.boxes[index]
    plate = n[y : y + h, x : x + w].astype(np.float32)
    assert plate.mean() > 1.5 * n.mean()
    assert plate.std() > 15  # lettering still shows


def test_plate_is_drawn_where_the_truth_says(scene: synth.CheckpointScene) -> None:
    v = max((v for v in scene.truth if v.full_frames), key=lambda v: v.max_plate_width)
    index = max(v.full_frames, key=lambda i: v.boxes[i][2])
    frame = scene.frame(index).astype(np.float32)
    x, y, w, h = v.boxes[index]
    inside = frame[y : y + h, x : x + w]
    # The plate's lettering makes strong edges across the box; the road does not.
    edges_inside = np.abs(np.diff(inside.mean(axis=2), axis=1)).mean()
    road = frame[H - 60 : H - 60 + h, W // 2 - w // 2 : W // 2 + w // 2]
    assert edges_inside > 2 * np.abs(np.diff(road.mean(axis=2), axis=1)).mean()


def test_generate_writes_a_decodable_clip(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    truth = synth.generate(path, 2, width=320, height=180, seed=1, vehicles_per_minute=60)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == 50
    assert frames[0].shape == (180, 320, 3)
    assert all(v.boxes for v in truth)
    for v in truth:
        for x, y, w, h in v.boxes.values():
            assert 0 <= x and 0 <= y and x + w <= 320 and y + h <= 180
