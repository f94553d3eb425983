"""Composite rendering: a recording's per-site tracks made into one MP4 to watch.

``render(directory)`` reads ``manifest.json`` and the track files next to it
and writes ``composite-<layout>.mp4`` (H.264 + AAC, ``+faststart`` so a
browser plays it while it downloads).

How it stays in sync: every decoded frame and every audio sample is placed on
the server's wall clock through its track's :class:`~recorder.timeline.ClockMap`
(the RTCP sync points), never by counting frames. Output video frame ``n``
covers ``[n/fps, (n+1)/fps)`` of the timeline and shows, per site, the latest
frame captured at or before the middle of that interval (so a picture is at
most half a frame early or late against the sound, instead of up to one frame
late). Output audio sample ``k`` is the sum over tracks of each track's signal
at the media instant that maps to ``start + k/48000``, interpolated, so clock
drift is corrected continuously rather than accumulating.

Everything streams: each track is decoded one frame ahead of the output and
closed after its end, and the output is encoded as it goes, so memory is
independent of the meeting's length.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import os
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from conference.private_files import private_file
from recorder.compose import Canvas, Rect, grid_rects, speaker_rects
from recorder.fonts import find_font
from recorder.manifest import Event, Manifest, TrackEntry, read_manifest
from recorder.mix import AacFramer, soft_clip
from recorder.render_sources import (
    AudioCursor,
    Shown,
    VideoCursor,
    probe_last_media_time,
)
from recorder.timeline import ClockMap

log = logging.getLogger(__name__)

Layout = Literal["grid", "speaker"]
LAYOUTS: tuple[Layout, ...] = ("grid", "speaker")

AUDIO_RATE = 48000
PROGRESS_STEP = 0.005
"""Report progress at least every half per cent of the timeline."""

X264_OPTIONS = {
    # veryfast: about 3x faster than medium for a small size increase; a
    # meeting is mostly static faces, which compress well at any preset.
    "preset": "veryfast",
    "crf": "23",
}

# BT.601 (SMPTE 170M) limited range: what VP8 decodes to and what the canvas
# is painted in; tagging it keeps players from assuming BT.709 for 720p.
_BT601 = 6
_LIMITED_RANGE = 1


class RenderError(RuntimeError):
    """The recording cannot be rendered (no manifest, nothing recorded)."""


@dataclass
class _Site:
    """One site of the composite: its tracks, in order of start."""

    site_id: str
    name: str
    first_at: float
    video: list[VideoCursor] = field(default_factory=list)
    audio: list[AudioCursor] = field(default_factory=list)
    # (time, muted) changes of the camera, from the manifest's mute events.
    camera: list[tuple[float, bool]] = field(default_factory=list)

    def picture(self, t: float) -> Shown | None:
        """The frame this site shows at wall time ``t``, or None for its dark tile."""
        best: Shown | None = None
        for cursor in self.video:
            shown = cursor.at(t)
            # Two tracks at once (a rejoin overlapping the old connection's
            # tail): the newest picture wins.
            if shown is not None and (best is None or shown.wall >= best.wall):
                best = shown
        if best is not None and self.camera:
            i = bisect.bisect_right(self.camera, (t, True))
            if i and self.camera[i - 1][1]:
                return None
        return best

    def close(self) -> None:
        """Release every file."""
        for cursor in self.video:
            cursor.close()
        for audio in self.audio:
            audio.close()


def _track_end(directory: Path, track: TrackEntry, clock: ClockMap) -> float | None:
    """Wall time of a track's last frame: the manifest's, else read from the file."""
    if track.last_frame_at is not None:
        return track.last_frame_at
    media = probe_last_media_time(directory / track.file, track.kind)
    return None if media is None else clock.to_wall(media)


def _span(directory: Path, manifest: Manifest, clocks: dict[int, ClockMap]) -> tuple[float, float]:
    """Start and end of the composite on the wall clock."""
    start = manifest.started_at
    end = manifest.ended_at
    if end is None:
        ends = [
            e
            for i, track in enumerate(manifest.tracks)
            if (e := _track_end(directory, track, clocks[i])) is not None
        ]
        if not ends:
            raise RenderError("the recording has no readable track and no end time")
        end = max(ends)
    if end <= start:
        raise RenderError(f"the recording is empty ({start} to {end})")
    return start, end


SCREEN_SUFFIX = "#screen"
"""A presentation's key in the composite: its site's id and this (one tile, shown large)."""


def featured_changes(
    manifest: Manifest, sites: list[str], presentations: Iterable[str] = ()
) -> list[tuple[float, str]]:
    """When the speaker layout's large tile changes, and to which site (or presentation).

    The room's rule: a presentation while one is shown (``presenting``
    events; its key is the site's id and :data:`SCREEN_SUFFIX`, listed in
    ``presentations``), else the floor holder, else the spotlighted site,
    else the active speaker; before any of these, the host (if it has
    tracks) or the first site. A holder that leaves loses the floor, the
    spotlight and its presentation (the room drops the first two silently,
    so the leave event is what says so).
    """
    present = set(sites)
    screens = set(presentations)
    default = manifest.host_site if manifest.host_site in present else sites[0]
    floor: str | None = None
    spotlight: str | None = None
    speaker: str | None = None
    presenting: str | None = None
    changes: list[tuple[float, str]] = [(-math.inf, default)]
    for event in sorted(manifest.events, key=lambda e: e.at):
        if event.type == "presenting":
            presenting = event.site_id
        elif event.type == "floor":
            floor = event.site_id
        elif event.type == "spotlight":
            spotlight = event.site_id
        elif event.type == "speaker":
            # Silence (None) keeps the last speaker up, as the meeting page does.
            speaker = event.site_id or speaker
        elif event.type in ("leave", "removed") and not _replaced(event):
            floor = None if floor == event.site_id else floor
            spotlight = None if spotlight == event.site_id else spotlight
            presenting = None if presenting == event.site_id else presenting
        else:
            continue
        screen = f"{presenting}{SCREEN_SUFFIX}" if presenting is not None else None
        featured = (
            screen
            if screen in screens
            else next((s for s in (floor, spotlight, speaker) if s in present), default)
        )
        if featured != changes[-1][1]:
            changes.append((event.at, featured))
    return changes


def _replaced(event: Event) -> bool:
    return bool(event.data.get("reason") == "replaced")


def _camera_changes(events: Iterable[Event], site_id: str) -> list[tuple[float, bool]]:
    changes = [
        (e.at, bool(e.data["video"]))
        for e in events
        if e.type == "mute" and e.site_id == site_id and "video" in e.data
    ]
    return sorted(changes)


def _sites(
    directory: Path, manifest: Manifest, clocks: dict[int, ClockMap]
) -> tuple[list[_Site], dict[str, _Site]]:
    """Every site that has a track, host first, then in order of first appearance; and the
    presentations (screen tracks), each a tile of its own by :data:`SCREEN_SUFFIX` key."""
    sites: dict[str, _Site] = {}
    screens: dict[str, _Site] = {}
    names = manifest.sites()
    # Files open when a site starts publishing: that order is the order of arrival.
    order = sorted(range(len(manifest.tracks)), key=lambda i: manifest.tracks[i].started_at)
    for i in order:
        track = manifest.tracks[i]
        clock = clocks[i]
        # Where media time 0 lands: the cursors open their file shortly before.
        start = clock.to_wall(0.0)
        if track.content == "screen":
            key = f"{track.site_id}{SCREEN_SUFFIX}"
            screen = screens.get(key)
            if screen is None:
                name = f"{names[track.site_id]} – trình bày"
                screen = screens[key] = _Site(key, name, track.started_at)
            if (directory / track.file).is_file():
                screen.video.append(VideoCursor(directory / track.file, clock, start))
            continue
        site = sites.get(track.site_id)
        if site is None:
            site = sites[track.site_id] = _Site(
                track.site_id,
                names[track.site_id],
                track.started_at,
                camera=_camera_changes(manifest.events, track.site_id),
            )
        path = directory / track.file
        if not path.is_file():
            log.warning("track file %s is missing; %s shows as absent", path, track.site_name)
            continue
        if track.kind == "video":
            site.video.append(VideoCursor(path, clock, start))
        else:
            site.audio.append(AudioCursor(path, clock, start))
    ordered = sorted(sites.values(), key=lambda s: (s.site_id != manifest.host_site, s.first_at))
    return ordered, screens


def _tiles(
    layout: Layout,
    sites: list[_Site],
    featured: str,
    width: int,
    height: int,
    screens: dict[str, _Site] | None = None,
) -> list[tuple[_Site, Rect]]:
    screen = (screens or {}).get(featured)
    if screen is not None:
        # A presentation is large in either layout, every site in the strip below it.
        main, strip = speaker_rects(len(sites), width, height)
        return [(screen, main), *zip(sites, strip, strict=True)]
    if layout == "grid":
        return list(zip(sites, grid_rects(len(sites), width, height), strict=True))
    main, thumbs = speaker_rects(len(sites) - 1, width, height)
    big = next(s for s in sites if s.site_id == featured)
    others = [s for s in sites if s is not big]
    return [(big, main), *zip(others, thumbs, strict=True)]


def _open_output(path: Path, width: int, height: int, fps: int) -> tuple[Any, Any, Any]:
    private_file(path)  # 0600 before the muxer opens it (it truncates and keeps the mode)
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    video = container.add_stream("libx264", rate=fps)
    video.width = width
    video.height = height
    video.pix_fmt = "yuv420p"
    codec = video.codec_context
    codec.options = dict(X264_OPTIONS)
    codec.gop_size = 2 * fps  # a keyframe every 2 s: seeking in the browser stays quick
    codec.time_base = Fraction(1, fps)
    codec.colorspace = _BT601
    codec.color_primaries = _BT601
    codec.color_trc = _BT601
    codec.color_range = _LIMITED_RANGE
    audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
    audio.bit_rate = 128_000
    return container, video, audio


def render(
    directory: Path,
    layout: Layout = "grid",
    output: Path | None = None,
    progress: Callable[[float], None] | None = None,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
) -> Path:
    """Render a recording into one MP4 (H.264 + AAC) and return its path.

    ``layout``: ``grid`` (every site, near-square grid) or ``speaker`` (the
    floor holder / spotlight / active speaker large, the others in a strip).
    ``output`` defaults to ``<directory>/composite-<layout>.mp4``; the file is
    written under a temporary name and renamed when complete. ``progress`` is
    called with the fraction done (0 to 1) at least every half per cent of the
    timeline (an exception it raises aborts the render and removes the partial file).

    Unreadable or truncated track files are rendered as far as they can be
    read (a warning is logged). Raises :class:`RenderError` if there is nothing
    to render, :class:`~recorder.fonts.FontNotFoundError` without a usable font
    and ``ValueError`` for bad arguments.
    """
    directory = Path(directory)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError("width and height must be positive and even")
    if fps <= 0:
        raise ValueError("fps must be positive")
    try:
        manifest = read_manifest(directory)
    except (OSError, ValueError) as error:
        raise RenderError(f"cannot read the manifest of {directory}: {error}") from error
    if not manifest.tracks:
        raise RenderError("the recording has no tracks")
    find_font()  # no font, no labels: say so before writing anything
    clocks = {i: ClockMap.for_track(track) for i, track in enumerate(manifest.tracks)}
    start, end = _span(directory, manifest, clocks)
    sites, screens = _sites(directory, manifest, clocks)
    if not sites:
        raise RenderError("the recording has no site's track")
    changes = featured_changes(manifest, [s.site_id for s in sites], screens)
    output = Path(output) if output is not None else directory / f"composite-{layout}.mp4"
    partial = output.with_name(f".{output.name}.part")
    try:
        _render(sites, changes, layout, start, end, partial, progress, width, height, fps, screens)
        os.replace(partial, output)
    finally:
        for site in [*sites, *screens.values()]:
            site.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    if progress is not None:
        progress(1.0)
    return output


class _Encoder:
    """Encodes and muxes on a thread of its own, so composing the next frame overlaps it.

    x264 and the AAC encoder release the GIL while they work; the queue is
    short so the composer cannot run far ahead (memory stays bounded).
    """

    def __init__(self, container: Any, video: Any, audio: Any) -> None:
        self._container = container
        self._streams = {"video": video, "audio": audio}
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="render-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so the producer never blocks on a dead consumer
            kind, frame = item
            try:
                self._container.mux(self._streams[kind].encode(frame))
            except BaseException as error:
                self._error = error

    def put(self, kind: str, frame: Any) -> None:
        """Queue a frame (None flushes that stream's encoder)."""
        if self._error is not None:
            raise self._error
        self._queue.put((kind, frame))

    def finish(self) -> None:
        """Wait until everything queued is written; re-raise the encoder's error if any."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _render(
    sites: list[_Site],
    changes: list[tuple[float, str]],
    layout: Layout,
    start: float,
    end: float,
    path: Path,
    progress: Callable[[float], None] | None,
    width: int,
    height: int,
    fps: int,
    screens: dict[str, _Site] | None = None,
) -> None:
    frames = max(1, math.ceil((end - start) * fps))
    container, video, audio = _open_output(path, width, height, fps)
    encoder = _Encoder(container, video, audio)
    try:
        canvas = Canvas(width, height)
        framer = AacFramer(AUDIO_RATE)
        change_times = [at for at, _ in changes]
        tiles: list[tuple[_Site, Rect]] = []
        featured: str | None = None
        shown: dict[str, int | None] = {}  # site -> key of the picture in its tile now
        reported = 0.0
        samples_done = 0
        for n in range(frames):
            # The middle of this frame's interval: see the module docstring.
            t = start + (n + 0.5) / fps
            now = changes[bisect.bisect_right(change_times, t) - 1][1]
            if now != featured or not tiles:
                featured = now
                tiles = _tiles(layout, sites, featured, width, height, screens)
                canvas.clear()
                shown.clear()
            for site, rect in tiles:
                picture = site.picture(t)
                key = None if picture is None else picture.key
                if site.site_id in shown and shown[site.site_id] == key:
                    continue  # the tile already shows this
                shown[site.site_id] = key
                if picture is None:
                    canvas.absent(site.name, rect)
                else:
                    inner = canvas.picture(site.site_id, picture.frame, rect)
                    canvas.label(site.name, rect, inner)
            frame = canvas.to_frame()
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            encoder.put("video", frame)

            # The audio of the same interval, sample-exact over the whole file.
            samples_end = round((n + 1) * AUDIO_RATE / fps)
            block = np.zeros((2, samples_end - samples_done), dtype=np.float32)
            wall = start + samples_done / AUDIO_RATE
            for site in sites:
                site.audio = [a for a in site.audio if a.add_to(block, wall, AUDIO_RATE)]
            samples_done = samples_end
            for audio_frame in framer.push(soft_clip(block)):
                encoder.put("audio", audio_frame)

            if progress is not None and (n + 1) / frames - reported >= PROGRESS_STEP:
                reported = (n + 1) / frames
                # 1.0 is reported once the file is complete.
                progress(min(reported, 0.999))
        for audio_frame in framer.flush():
            encoder.put("audio", audio_frame)
        encoder.put("video", None)
        encoder.put("audio", None)
    finally:
        try:
            encoder.finish()
        finally:
            container.close()
