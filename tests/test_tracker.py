"""Unit tests of the plate tracker (anpr_feed.tracker): association, ending, motion."""

from __future__ import annotations

from anpr_feed.detector import Candidate
from anpr_feed.tracker import Tracker


def det(x: float, y: float, w: float, h: float, score: float = 0.8) -> Candidate:
    return Candidate((round(x), round(y), round(w), round(h)), score)


def run(tracker: Tracker, frames: list[list[Candidate]], start: int = 0) -> list:
    updates = []
    for i, dets in enumerate(frames, start):
        updates.append(tracker.update(dets, i, i / 25))
    return updates


def test_fast_plate_without_overlap_is_one_track() -> None:
    """A plate moving more than its own height a frame stays one track (prediction, not IoU)."""
    tracker = Tracker(frame_size=(1280, 720))
    frames = [[det(600 - 3 * i, 100 + 30 * i, 100 + 2 * i, 22 + 0.5 * i)] for i in range(18)]
    updates = run(tracker, frames)
    assert len(updates[0].started) == 1
    assert all(not u.started for u in updates[1:])
    (track,) = tracker.tracks
    assert track.hits == 18
    assert track.vy > 25  # px per frame, downwards
    assert track.moving


def test_track_coasts_over_missed_frames_then_ends() -> None:
    tracker = Tracker(frame_size=(1280, 720), max_missed=3)
    frames = [[det(400, 100 + 10 * i, 100, 22)] for i in range(6)]
    frames += [[], []]  # two frames without a detection: still the same track
    frames += [[det(400, 100 + 10 * 8, 100, 22)]]
    updates = run(tracker, frames)
    assert [len(u.started) for u in updates] == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert tracker.tracks[0].hits == 7
    ended = []
    for i in range(9, 14):
        ended += tracker.update([], i, i / 25).ended
    assert len(ended) == 1 and ended[0].ended
    assert not tracker.tracks


def test_track_ends_when_predicted_out_of_the_picture() -> None:
    tracker = Tracker(frame_size=(1280, 720), max_missed=10)
    frames = [[det(600, 560 + 40 * i, 100, 22)] for i in range(4)]  # down and out at the bottom
    run(tracker, frames)
    ended = []
    for i in range(4, 8):
        ended += tracker.update([], i, i / 25).ended
    assert len(ended) == 1  # well before max_missed: it left


def test_two_plates_side_by_side_keep_their_tracks() -> None:
    tracker = Tracker(frame_size=(1280, 720))
    frames = [[det(300, 100 + 12 * i, 90, 20), det(800, 600 - 12 * i, 90, 20)] for i in range(12)]
    run(tracker, frames)
    assert len(tracker.tracks) == 2
    down, up = sorted(tracker.tracks, key=lambda t: -t.vy)
    assert down.hits == up.hits == 12
    assert down.vy > 10 and up.vy < -10
    assert down.centre[0] < 400 < 700 < up.centre[0]


def test_static_text_is_not_moving_even_when_its_box_changes_shape() -> None:
    """The false pass of a roadside billboard: its detector box jumps between two shapes.

    The whole board (two rows) and only its lower row alternate, sometimes
    for runs of frames; the centre is 30 px from where the track started but
    nothing moved.
    """
    tracker = Tracker(frame_size=(1280, 720))
    board, lower = det(6, 164, 224, 76), det(6, 204, 236, 56)
    pattern = [board] * 5 + [lower] * 3 + [board, lower, board, lower] + [lower] * 6 + [board] * 4
    frames = [[c] for c in [*pattern * 6, lower]]
    run(tracker, frames)
    (track,) = tracker.tracks
    assert track.hits == len(frames)
    assert track.travel > 12  # the old test (distance from the start) would have read it
    assert not track.moving


def test_static_text_with_pixel_jitter_is_not_moving() -> None:
    tracker = Tracker(frame_size=(1280, 720))
    jitter = [(0, 0), (2, 0), (2, 2), (0, 2), (-2, 0), (0, -2), (2, 2), (4, 4), (0, 0)]
    frames = [[det(900 + dx, 300 + dy, 140, 40 + dy)] for dx, dy in jitter * 20]
    run(tracker, frames)
    assert [t.moving for t in tracker.tracks] == [False]


def test_slow_steady_plate_becomes_moving_after_enough_travel() -> None:
    tracker = Tracker(frame_size=(1280, 720), min_travel=12.0)
    moving_at = None
    for i in range(20):
        tracker.update([det(500, 400 - 1.5 * i, 120, 26)], i, i / 25)
        if moving_at is None and tracker.tracks[0].moving:
            moving_at = i
    assert moving_at is not None
    assert 1.5 * moving_at >= 12.0  # not before it has covered min_travel
    assert moving_at <= 12


def test_plate_crossing_in_front_of_a_sign_is_moving_and_the_sign_is_not() -> None:
    tracker = Tracker(frame_size=(1280, 720))
    sign = det(100, 300, 180, 50)
    frames = []
    for i in range(30):
        plate = det(20 + 12 * i, 290 + 3 * i, 130, 30)  # passes over the sign around frame 7-12
        overlapping = abs(plate.box[0] - sign.box[0]) < 140
        frames.append([plate] if overlapping else [plate, sign])  # the plate hides the sign
    run(tracker, frames)
    by_x = sorted(tracker.tracks, key=lambda t: t.centre[0])
    assert len(by_x) == 2
    sign_track, plate_track = by_x
    assert plate_track.moving and plate_track.hits == 30
    assert not sign_track.moving


def test_flush_ends_every_track() -> None:
    tracker = Tracker()
    run(tracker, [[det(10, 10, 80, 20), det(400, 300, 80, 20)]])
    ended = tracker.flush()
    assert len(ended) == 2 and all(t.ended for t in ended)
    assert tracker.tracks == []


def test_sign_being_covered_by_a_passing_vehicle_is_not_moving() -> None:
    """A vehicle slides in front of a sign: the visible part's box has one edge fixed.

    Its centre moves steadily by 7 px a frame with the box keeping a plate's
    proportions for a while, which is not the sign moving.
    """
    tracker = Tracker(frame_size=(1280, 720))
    frames = [[det(74, 356, 236 - 14 * i, 38)] for i in range(14)]  # covered from the right
    frames += [[det(74, 356, 46 + 14 * i, 38)] for i in range(14)]  # and uncovered again
    for i, dets in enumerate(frames):
        tracker.update(dets, i, i / 25)
        assert not any(t.moving for t in tracker.tracks), i


def test_plate_entering_the_picture_becomes_moving_once_it_moves_as_a_whole() -> None:
    tracker = Tracker(frame_size=(1280, 720))
    for i in range(30):
        x = -120 + 10 * i  # cut by the left edge at first: the box's left edge stays at 0
        tracker.update([det(max(x, 0), 300, 120 + min(x, 0), 28)], i, i / 25)
    (track,) = tracker.tracks
    assert track.moving


def test_sign_with_a_headlights_glare_joining_it_is_not_moving() -> None:
    """At night a passing headlight's glare merges with a billboard's box for a few frames.

    (The boxes of the synthetic night scene's billboard that once made a pass.)
    """
    tracker = Tracker(frame_size=(1280, 720))
    still = det(6, 164, 224, 76)
    glare = [(6, 136, 258, 104), (6, 138, 242, 102), (6, 144, 234, 96), (6, 158, 224, 82)]
    glare += [(6, 164, 224, 76), (6, 164, 224, 90), (6, 166, 224, 92), (6, 168, 224, 94)]
    frames = [[still]] * 20 + [[det(*b)] for b in glare] + [[still]] * 10
    for i, dets in enumerate(frames):
        tracker.update(dets, i, i / 25)
        assert not any(t.moving for t in tracker.tracks), i
