"""recorder.timeline: placing media time on the server's wall clock (and back)."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.manifest import TrackEntry
from recorder.timeline import ClockMap

HOUR = 3600.0
T0 = 1_790_000_000.0


def track(**fields: object) -> TrackEntry:
    values: dict[str, object] = {
        "file": "s-audio-1.webm",
        "site_id": "s",
        "site_name": "Xã Tân Cương",
        "kind": "audio",
        "codec": "opus",
        "clock_rate": 48000,
        "started_at": T0 - 1.0,
    }
    values.update(fields)
    return TrackEntry.model_validate(values)


def test_without_sync_points_media_time_counts_from_the_first_frame() -> None:
    clock = ClockMap.for_track(track(first_frame_at=T0))
    assert clock.to_wall(0.0) == T0
    assert clock.to_wall(12.5) == T0 + 12.5
    assert clock.to_media(T0 + 3.0) == 3.0


def test_without_first_frame_the_file_opening_is_the_origin() -> None:
    clock = ClockMap.for_track(track())
    assert clock.to_wall(2.0) == T0 + 1.0


def test_interpolates_between_points_and_extrapolates_with_slope_one() -> None:
    # Media runs 1 % fast between the points (exaggerated to see it).
    clock = ClockMap.from_sync([(10.0, T0 + 10.0), (20.2, T0 + 20.0)])
    assert clock.to_wall(15.1) == pytest.approx(T0 + 15.0, abs=1e-6)
    # Outside the points: slope 1 from the nearest one.
    assert clock.to_wall(5.0) == pytest.approx(T0 + 5.0, abs=1e-6)
    assert clock.to_wall(30.2) == pytest.approx(T0 + 30.0, abs=1e-6)
    assert clock.rate(15.0) == pytest.approx(1.02, abs=1e-9)


def test_a_single_point_is_an_offset() -> None:
    clock = ClockMap.from_sync([(4.0, T0 + 100.0)], origin=T0)
    assert clock.to_wall(0.0) == T0 + 96.0
    assert clock.to_wall(10.0) == T0 + 106.0


def test_sync_points_win_over_first_frame_at() -> None:
    clock = ClockMap.for_track(track(first_frame_at=T0, sync=[(0.0, T0 + 0.25), (5.0, T0 + 5.25)]))
    assert clock.to_wall(1.0) == pytest.approx(T0 + 1.25)


def test_inverse_and_arrays_agree_with_the_scalar_map() -> None:
    sync = [(0.0, T0), (5.0, T0 + 4.9995), (10.0, T0 + 9.9992), (15.0, T0 + 14.9991)]
    clock = ClockMap.from_sync(sync)
    media = np.array([-3.0, 0.0, 2.5, 7.0, 12.0, 15.0, 40.0])
    walls = clock.to_wall_array(media)
    assert walls == pytest.approx([clock.to_wall(m) for m in media], abs=1e-6)
    assert clock.to_media_array(walls) == pytest.approx(media, abs=1e-6)
    for m in media:
        assert clock.to_media(clock.to_wall(float(m))) == pytest.approx(m, abs=1e-6)


def test_unordered_duplicate_and_backward_points_are_dropped() -> None:
    sync = [(10.0, T0 + 10.0), (0.0, T0), (5.0, T0 + 5.0), (5.0, T0 + 5.5), (7.0, T0 + 4.0)]
    clock = ClockMap.from_sync(sync)
    assert clock.media == (0.0, 5.0, 10.0)
    assert clock.wall == (T0, T0 + 5.0, T0 + 10.0)
    assert all(b > a for a, b in zip(clock.wall, clock.wall[1:], strict=False))


def test_no_points_and_no_origin_is_an_error() -> None:
    with pytest.raises(ValueError):
        ClockMap.from_sync([])


@pytest.mark.parametrize("ppm", [150.0, -150.0])
def test_a_drifting_clock_lands_within_milliseconds_after_an_hour(ppm: float) -> None:
    """An audio clock 150 ppm off: 540 ms wrong after an hour without the sync points."""
    rate = 1 + ppm * 1e-6  # media seconds per wall second

    def truth(media: float) -> float:
        return T0 + media / rate

    # RTCP sender reports every 5 s, each with up to +-1 ms of timestamping
    # jitter (deterministic), the last one 4 s before the end.
    rng = np.random.default_rng(150)
    points = [
        (m, truth(m) + float(rng.uniform(-0.001, 0.001)))
        for m in np.arange(0.0, HOUR * rate - 4.0, 5.0)
    ]
    clock = ClockMap.from_sync(points)
    end_media = HOUR * rate
    assert abs(clock.to_wall(end_media) - truth(end_media)) < 0.003
    assert abs(clock.to_media(T0 + HOUR) - end_media) < 0.003
    # Every 10 minutes along the way too, and the naive mapping is far off.
    for minutes in range(0, 61, 10):
        media = minutes * 60 * rate
        assert abs(clock.to_wall(media) - truth(media)) < 0.003
    assert abs((T0 + end_media) - truth(end_media)) > 0.5
