"""recorder.render: composites of synthetic recordings, checked frame by frame and by ear.

Each site flashes (a white picture) and beeps (a tone of its own frequency)
at known wall-clock instants (tests/support/recordings.py). The tests decode the
MP4 and find every flash in each site's tile and every beep in the mix, then
compare them with the truth and with each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recorder.compose import Rect, absent_tile, grid_rects, speaker_rects
from recorder.fonts import FONT_ENV, FontNotFoundError, find_font, fit_text, text_mask
from recorder.manifest import Event, RecordingStatus, read_manifest, write_manifest
from recorder.mix import AacFramer, soft_clip
from recorder.render import RenderError, featured_changes, render
from recorder.render_cli import ProgressBar, render_command
from tests.support.composites import (
    RATE,
    SYNC_TOLERANCE,
    Decoded,
    beep_onsets,
    decode,
    flash_onsets,
    tile_level,
)
from tests.support.recordings import RecordingTruth, SiteSpec, truncate, write_recording

FPS = 25
AUDIO_TOLERANCE = 0.005  # a beep against the truth (the detector is ~1 ms late)
VIDEO_TOLERANCE = 0.5 / FPS + 0.001  # a frame shows the picture due at its middle

NAME_A = "Ủy ban nhân dân xã Tân Cương"
NAME_B = "Sở Nội vụ tỉnh Thái Nguyên"


def assert_site_in_sync(
    decoded: Decoded, truth: RecordingTruth, site_id: str, rect: Rect, flashes: list[float]
) -> None:
    """The site's flashes (expected in ``rect`` at ``flashes``) and beeps line up."""
    site = truth.sites[site_id]
    start = truth.start
    seen = flash_onsets(decoded, rect)
    assert len(seen) == len(flashes), (site_id, seen, [f - start for f in flashes])
    for shown, due in zip(seen, flashes, strict=True):
        assert abs(shown - (due - start)) <= VIDEO_TOLERANCE, (site_id, shown, due - start)
    heard = beep_onsets(decoded.pcm, site.spec.beep_hz)
    assert len(heard) == len(site.beeps), (site_id, heard, [b - start for b in site.beeps])
    for sound, due in zip(heard, site.beeps, strict=True):
        assert abs(sound - (due - start)) <= AUDIO_TOLERANCE, (site_id, sound, due - start)
    # Every flash against its own beep: the lip-sync requirement.
    for flash_due in flashes:
        shown = min(seen, key=lambda s: abs(s - (flash_due - start)))
        sound = min(heard, key=lambda s: abs(s - (flash_due - start)))
        assert abs(shown - sound) < SYNC_TOLERANCE, (site_id, shown, sound)


def assert_absent(decoded: Decoded, index: int, rect: Rect, name: str) -> None:
    """Frame ``index`` shows the dark tile with ``name`` in ``rect`` (pixel by pixel)."""
    expected_y, expected_u, _ = absent_tile(name, rect.w, rect.h)
    shown = decoded.luma[index][rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
    assert np.abs(shown.astype(int) - expected_y).mean() < 3
    # Dark: the tile is mostly its background colour; the name is there: bright text.
    assert np.median(shown) < 60
    middle = shown[rect.h * 2 // 5 : rect.h * 3 // 5]
    assert (middle > 180).sum() > 100
    u = decoded.chroma_u[index][
        rect.y // 2 : (rect.y + rect.h) // 2, rect.x // 2 : (rect.x + rect.w) // 2
    ]
    assert np.abs(u.astype(int) - expected_u).mean() < 3


def has_label(decoded: Decoded, index: int, rect: Rect) -> bool:
    """The tile's bottom-left corner has white text on a dark box."""
    corner = decoded.luma[index][
        rect.y + rect.h * 3 // 4 : rect.y + rect.h, rect.x : rect.x + rect.w // 2
    ]
    return bool((corner > 200).sum() > 50 and (corner < 60).sum() > 50)


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory: pytest.TempPathFactory) -> RecordingTruth:
    """Site A (the host) from 0.5 s, site B from 3.51 s; a flash and a beep every 2 s."""
    directory = tmp_path_factory.mktemp("two-sites")
    return write_recording(
        directory,
        [
            SiteSpec("a", NAME_A, join=0.5, beep_hz=700),
            # 13 ms off the output's frame grid: flashes fall mid-frame.
            SiteSpec("b", NAME_B, join=3.513, beep_hz=1300),
        ],
        duration=12.0,
        host_site="a",
        events=[
            # Speaker B, then the host gives A the floor, then takes it back.
            Event(at=1_790_000_005.0, type="speaker", site_id="b"),
            Event(at=1_790_000_007.0, type="floor", site_id="a"),
            Event(at=1_790_000_009.0, type="floor", site_id=None),
        ],
    )


def test_grid_composite(two_sites: RecordingTruth) -> None:
    fractions: list[float] = []
    path = render(two_sites.directory, "grid", progress=fractions.append)
    assert path == two_sites.directory / "composite-grid.mp4"
    assert not list(two_sites.directory.glob(".*.part"))
    decoded = decode(path)

    assert (decoded.width, decoded.height) == (1280, 720)
    assert (decoded.video_codec, decoded.pix_fmt) == ("h264", "yuv420p")
    assert (decoded.audio_codec, decoded.audio_rate, decoded.audio_channels) == ("aac", 48000, 2)
    assert decoded.duration == pytest.approx(12.0, abs=0.05)
    assert len(decoded.times) == 12 * FPS
    assert decoded.times[:3] == pytest.approx([0.0, 0.04, 0.08])
    assert len(decoded.pcm) / RATE == pytest.approx(12.0, abs=0.05)

    # Progress: increasing, never more than 1 % apart, ending at 1.
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    steps = np.diff([0.0, *fractions])
    assert steps.max() <= 0.01

    # The host first, then in order of arrival.
    rect_a, rect_b = grid_rects(2, 1280, 720)
    assert_site_in_sync(decoded, two_sites, "a", rect_a, two_sites.sites["a"].flashes)
    assert_site_in_sync(decoded, two_sites, "b", rect_b, two_sites.sites["b"].flashes)

    # Before B joined: its dark tile with its name; A's picture has its label.
    for t in (0.0, 2.0, 3.4):
        assert_absent(decoded, decoded.frame_at(t), rect_b, NAME_B)
    assert_absent(decoded, decoded.frame_at(0.2), rect_a, NAME_A)
    assert has_label(decoded, decoded.frame_at(2.0), rect_a)
    assert has_label(decoded, decoded.frame_at(6.0), rect_b)
    # After joining, B's picture (the pattern's dark grey, not the absent tile).
    level_b = tile_level(decoded, rect_b)
    assert abs(level_b[decoded.frame_at(5.0)] - 40) < 6


def test_speaker_composite_follows_floor_spotlight_and_speaker(two_sites: RecordingTruth) -> None:
    path = render(two_sites.directory, "speaker")
    assert path.name == "composite-speaker.mp4"
    decoded = decode(path)
    assert (decoded.width, decoded.height) == (1280, 720)
    assert decoded.duration == pytest.approx(12.0, abs=0.05)
    main, (thumb,) = speaker_rects(1, 1280, 720)
    start = two_sites.start
    a = two_sites.sites["a"].flashes
    b = two_sites.sites["b"].flashes
    # Large: the host A until B speaks at 5 s, A with the floor 7-9 s, B again after.
    featured_a = [f for f in a if f - start < 5 or 7 <= f - start < 9]
    featured_b = [f for f in b if 5 <= f - start < 7 or f - start >= 9]
    onsets = flash_onsets(decoded, main)
    expected = sorted(featured_a + featured_b)
    assert len(onsets) == len(expected)
    for shown, due in zip(onsets, expected, strict=True):
        assert abs(shown - (due - start)) <= VIDEO_TOLERANCE
    thumb_expected = sorted(set(a + b) - set(expected))
    thumb_onsets = flash_onsets(decoded, thumb)
    assert len(thumb_onsets) == len(thumb_expected)
    for shown, due in zip(thumb_onsets, thumb_expected, strict=True):
        assert abs(shown - (due - start)) <= VIDEO_TOLERANCE
    # B's dark tile (not joined yet) in the strip, then B large at 5.5 s.
    assert_absent(decoded, decoded.frame_at(2.0), thumb, NAME_B)
    assert has_label(decoded, decoded.frame_at(2.0), main)
    assert abs(tile_level(decoded, main)[decoded.frame_at(5.5)] - 40) < 6
    # The sound does not depend on the layout.
    for site_id in ("a", "b"):
        heard = beep_onsets(decoded.pcm, two_sites.sites[site_id].spec.beep_hz)
        due = [b - start for b in two_sites.sites[site_id].beeps]
        assert heard == pytest.approx(due, abs=AUDIO_TOLERANCE)


def test_featured_site_rules(two_sites: RecordingTruth) -> None:
    manifest = two_sites.manifest.model_copy(deep=True)
    t = two_sites.start
    assert featured_changes(manifest, ["a", "b"]) == [
        (float("-inf"), "a"),
        (t + 5, "b"),
        (t + 7, "a"),
        (t + 9, "b"),
    ]
    # No host: the first site; spotlight beats the speaker; a floor holder leaving loses it.
    manifest.host_site = None
    manifest.events = [
        Event(at=t + 1, type="speaker", site_id="a"),
        Event(at=t + 2, type="spotlight", site_id="c"),
        Event(at=t + 3, type="floor", site_id="b"),
        Event(at=t + 4, type="leave", site_id="b", data={"reason": "replaced"}),
        Event(at=t + 5, type="leave", site_id="b", data={"reason": "left"}),
        Event(at=t + 6, type="speaker", site_id=None),
    ]
    assert featured_changes(manifest, ["b", "a", "c"]) == [
        (float("-inf"), "b"),
        (t + 1, "a"),
        (t + 2, "c"),
        (t + 3, "b"),
        (t + 5, "c"),
    ]


def test_truncated_lossy_and_unreadable_tracks_render_as_far_as_readable(
    tmp_path: Path,
) -> None:
    truth = write_recording(
        tmp_path,
        [
            SiteSpec("a", NAME_A, join=0.0, beep_hz=700),
            # B loses frames and switches resolution (a new keyframe) at 5 s.
            SiteSpec(
                "b",
                NAME_B,
                join=0.5,
                beep_hz=1300,
                drop_video=(30, 31, 90),
                drop_audio=(40, 41, 300),
                switch_size=(4.2, 240, 240),
            ),
            SiteSpec("c", "Phường Phan Đình Phùng", join=1.0, beep_hz=1000),
        ],
        duration=10.0,
        status=RecordingStatus.INTERRUPTED,
    )
    # The server was killed: A's files end mid-cluster, the manifest has no end
    # times, C's video is garbage and its audio file is gone.
    truncate(tmp_path / "a-video-1.webm", 0.55)
    truncate(tmp_path / "a-audio-1.webm", 0.5)
    (tmp_path / "c-video-1.webm").write_bytes(b"\x1a\x45\xdf\xa3 not really webm" * 50)
    (tmp_path / "c-audio-1.webm").unlink()
    manifest = read_manifest(tmp_path)
    manifest.ended_at = None
    for track in manifest.tracks:
        track.last_frame_at = None
        track.closed = False
    write_manifest(tmp_path, manifest)

    decoded = decode(render(tmp_path, "grid", width=640, height=360))
    # The end comes from the readable packets: B's, at 10 s.
    assert decoded.duration == pytest.approx(10.0, abs=0.1)
    rect_a, rect_b, rect_c = grid_rects(3, 640, 360)

    # A: a prefix of its flashes and beeps, then its dark tile.
    a = truth.sites["a"]
    seen = flash_onsets(decoded, rect_a)
    assert 1 <= len(seen) < len(a.flashes)
    for shown, due in zip(seen, a.flashes, strict=False):
        assert abs(shown - (due - truth.start)) <= VIDEO_TOLERANCE
    heard = beep_onsets(decoded.pcm, 700)
    assert 1 <= len(heard) < len(a.beeps)
    assert heard == pytest.approx(
        [b - truth.start for b in a.beeps[: len(heard)]], abs=AUDIO_TOLERANCE
    )
    assert_absent(decoded, len(decoded.times) - 1, rect_a, NAME_A)

    # B: everything, across the lost frames and the new resolution.
    assert_site_in_sync(decoded, truth, "b", rect_b, truth.sites["b"].flashes)
    # C: its dark tile throughout, and silence.
    for t in (0.5, 5.0, 9.5):
        assert_absent(decoded, decoded.frame_at(t), rect_c, "Phường Phan Đình Phùng")
    assert beep_onsets(decoded.pcm, 1000) == []


def test_clock_drift_after_an_hour_stays_in_sync(tmp_path: Path) -> None:
    """The last seconds of an hour-long meeting whose publishers' clocks drift.

    The files hold media from 3590 s on (the hour before is not needed to
    test the placement); the sync points cover the whole hour. Site A's
    audio clock runs 150 ppm fast and its video 40 ppm slow; B the other way.
    Placed by first frame alone, the audio would be 540 ms off.
    """
    truth = write_recording(
        tmp_path,
        [
            SiteSpec("a", NAME_A, beep_hz=700, media_offset=3590.0, audio_ppm=150, video_ppm=-40),
            SiteSpec(
                "b",
                NAME_B,
                join=0.8,
                beep_hz=1300,
                media_offset=3591.3,
                audio_ppm=-150,
                video_ppm=60,
            ),
        ],
        duration=8.0,
        flash_first=0.6,
        flash_every=1.5,
    )
    manifest = truth.manifest
    audio = next(t for t in manifest.tracks if t.site_id == "a" and t.kind == "audio")
    naive = audio.first_frame_at + 3590.0  # type: ignore[operator]
    assert abs(naive - truth.start) > 0.5

    decoded = decode(render(tmp_path, "grid", width=640, height=360))
    rect_a, rect_b = grid_rects(2, 640, 360)
    assert_site_in_sync(decoded, truth, "a", rect_a, truth.sites["a"].flashes)
    assert_site_in_sync(decoded, truth, "b", rect_b, truth.sites["b"].flashes)


def test_other_frame_rates_and_phases_stay_in_sync(tmp_path: Path) -> None:
    """30 and 15 fps cameras joining off the output's frame grid, one audio clock fast."""
    truth = write_recording(
        tmp_path,
        [
            SiteSpec("a", NAME_A, join=0.013, beep_hz=700, fps=30),
            SiteSpec("b", NAME_B, join=0.537, beep_hz=1300, fps=15, audio_ppm=80),
        ],
        duration=10.0,
        flash_first=0.71,
        flash_every=1.13,
    )
    decoded = decode(render(tmp_path, "grid", width=640, height=360))
    rect_a, rect_b = grid_rects(2, 640, 360)
    assert_site_in_sync(decoded, truth, "a", rect_a, truth.sites["a"].flashes)
    assert_site_in_sync(decoded, truth, "b", rect_b, truth.sites["b"].flashes)


def test_render_command_json_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 5 s: 125 frames, so that 1 % of the timeline is more than one frame.
    small = write_recording(tmp_path, [SiteSpec("a", NAME_A, beep_hz=700)], duration=5.0)
    assert render_command(small.directory, "speaker", json_progress=True) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    progress = [line["progress"] for line in lines[:-1]]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert np.diff([0.0, *progress]).max() <= 0.01
    assert lines[-1] == {"done": str(small.directory / "composite-speaker.mp4")}


def test_render_command_progress_bar_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = write_recording(tmp_path / "rec", [SiteSpec("a", NAME_A)], duration=1.0)
    assert render_command(small.directory, "grid", json_progress=False) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(small.directory / "composite-grid.mp4")
    assert "\r[" in captured.err and "100.0 %" in captured.err

    assert render_command(tmp_path / "nothing", "grid", json_progress=True) == 1
    error = json.loads(capsys.readouterr().out.strip())
    assert "manifest" in error["error"]
    assert render_command(small.directory, "mosaic", json_progress=False) == 2

    with pytest.raises(RenderError):
        render(tmp_path / "nothing")
    with pytest.raises(ValueError):
        render(small.directory, "mosaic")  # type: ignore[arg-type]


def test_progress_bar_line() -> None:
    bar = ProgressBar(stream=None, started=100.0)  # type: ignore[arg-type]
    assert (
        bar.line(0.25, 110.0) == "[########----------------------]  25.0 %  elapsed 0:10  ETA 0:30"
    )
    assert bar.line(0.0, 100.0).endswith("ETA ?")


def test_fonts_vietnamese_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FONT_ENV, raising=False)
    font = find_font()
    assert font.name.startswith(("DejaVuSans", "LiberationSans"))
    with pytest.raises(FontNotFoundError, match="fonts-dejavu-core"):
        find_font(root=tmp_path)
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "none.ttf"))
    with pytest.raises(FontNotFoundError):
        find_font()
    monkeypatch.setenv(FONT_ENV, str(font))
    assert find_font(root=tmp_path) == font
    # Accents are drawn (and above the capital, not clipped); decomposed input
    # renders like precomposed.
    accented, plain = text_mask("Ủy ban", 24), text_mask("Uy ban", 24)
    assert accented.shape == plain.shape
    assert (accented != plain).any()
    u_rows = np.flatnonzero(plain[:, :10].max(axis=1) > 128)
    hook_rows = np.flatnonzero(accented[:, :10].max(axis=1) > 128)
    assert hook_rows.min() < u_rows.min()
    assert (text_mask("Ủy ban", 24) == text_mask("U\u0309y ban", 24)).all()


@pytest.mark.parametrize("count", range(1, 21))
def test_layouts_fit_the_canvas_without_overlap(count: int) -> None:
    main, thumbs = speaker_rects(count - 1, 1280, 720)
    for rects in (grid_rects(count, 1280, 720), [main, *thumbs]):
        assert len(rects) == count
        for r in rects:
            assert all(v % 2 == 0 for v in (r.x, r.y, r.w, r.h))
            assert r.x >= 0 and r.y >= 0 and r.x + r.w <= 1280 and r.y + r.h <= 720
            assert r.w >= 100 and abs(r.w / r.h - 16 / 9) < 0.05
        for i, r in enumerate(rects):
            for s in rects[i + 1 :]:
                assert r.x + r.w <= s.x or s.x + s.w <= r.x or r.y + r.h <= s.y or s.y + s.h <= r.y
    # The grid is near-square: 16 sites in 4 x 4, 2 side by side.
    assert len({r.y for r in grid_rects(16, 1280, 720)}) == 4
    assert len({r.y for r in grid_rects(2, 1280, 720)}) == 1


def test_mix_limits_without_wrapping() -> None:
    quiet = np.linspace(-0.75, 0.75, 101, dtype=np.float32)
    assert (soft_clip(quiet.copy()) == quiet).all()
    loud = np.linspace(-4, 4, 801, dtype=np.float32)
    limited = soft_clip(loud.copy())
    assert np.abs(limited).max() <= 1.0  # full scale at most (float32 tanh reaches 1)
    assert (np.diff(limited) >= 0).all()  # monotonic: no fold-over, no wrap-around
    framer = AacFramer(48000)
    frames = [*framer.push(np.zeros((2, 1500), np.float32))]
    frames += framer.push(np.zeros((2, 1500), np.float32))
    frames += framer.flush()
    assert [f.samples for f in frames] == [1024, 1024, 952]
    assert [f.pts for f in frames] == [0, 1024, 2048]


def test_fit_text_keeps_the_end_of_long_names() -> None:
    name = "Ủy ban nhân dân xã Tân Cương"
    assert fit_text(name, 16, 10_000) == name
    short = fit_text(name, 16, 120)
    assert short.startswith("…") and short.endswith("Tân Cương")
