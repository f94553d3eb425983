"""Follow plate candidates from frame to frame: one track per vehicle pass.

At expressway speed a plate near the camera moves 20-45 px a frame, more than
its own height, so boxes of consecutive frames often do not overlap at all:
plain IoU matching would cut every pass into pieces. Each track therefore
keeps a constant-velocity (and constant-growth) motion model, and a detection
is matched to where the track is *predicted* to be, within a gate that scales
with the plate's size. A track survives a few frames without detections
(occlusion, glare, a missed detection) on its prediction, and ends when it
has been lost for ``max_missed`` frames or is predicted to have left the
picture.

Whether a track *moves* is decided here too, and it is not the same as "its
box is somewhere else than where it started": the detector's box of a static
sign changes shape from frame to frame (its two rows found as one blob, then
only the lower one; a corner lost in noise), and a box that jumps between two
shapes of the same sign is 30 px from where it started without anything having
moved. A track counts as moving (:attr:`Track.moving`, and it stays so) only
after a steady run: ``steady_steps`` consecutive observations that each moved
at least ``min_step`` px a frame, in about the same direction as the step
before, with the box keeping its proportions, and that add up to
``min_travel`` px, with the box moving as a whole (both its edges along the
way it went, not one edge: a sign that a passing vehicle slides in front of
has a box whose free edge follows the vehicle while the other stays put).
Shape jitter goes back and forth and jumps once; a plate on a vehicle goes
one way, frame after frame, all of it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from anpr_feed.detector import Box, Candidate


@dataclass
class Track:
    """One object (a plate, or a text-like thing) followed across frames."""

    id: int
    box: Box  # the last box seen (or predicted, while missed)
    first_frame: int
    last_frame: int  # the last frame it was seen in
    first_time: float
    last_time: float
    hits: int = 1
    missed: int = 0  # consecutive frames without a detection
    vx: float = 0.0  # px per frame, centre
    vy: float = 0.0
    growth: float = 1.0  # width ratio per frame
    origin: tuple[float, float] = (0.0, 0.0)  # centre where it was first seen
    history: deque[tuple[int, Box]] = field(default_factory=lambda: deque(maxlen=64))
    score: float = 0.0  # the detector's plate-likeness, smoothed
    ended: bool = False
    moving: bool = False  # has shown a steady run of motion (see the module docstring)
    steady: int = 0  # consecutive steady steps in the current run
    steady_box: Box = (0, 0, 0, 0)  # the box where the current run started
    last_step: tuple[float, float] = (0.0, 0.0)  # the last measured step, px per frame

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the current box."""
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)

    @property
    def travel(self) -> float:
        """How far (px) the centre is from where the track started."""
        cx, cy = self.centre
        return float(((cx - self.origin[0]) ** 2 + (cy - self.origin[1]) ** 2) ** 0.5)

    @property
    def speed(self) -> float:
        """Estimated image speed, px per frame."""
        return float((self.vx**2 + self.vy**2) ** 0.5)

    def predict(self, frame: int) -> Box:
        """Where the box should be in ``frame`` under the motion model."""
        dt = frame - self.last_frame
        x, y, w, h = self.box
        g = self.growth**dt
        cx, cy = x + w / 2 + self.vx * dt, y + h / 2 + self.vy * dt
        nw, nh = w * g, h * g
        return (round(cx - nw / 2), round(cy - nh / 2), max(1, round(nw)), max(1, round(nh)))


@dataclass
class TrackerUpdate:
    """What one frame changed."""

    active: list[Track]  # tracks alive after this frame (seen now or coasting)
    seen: list[Track]  # the active tracks that matched a detection in this frame
    started: list[Track]
    ended: list[Track]  # tracks that ended with this frame


class Tracker:
    """Associates detections frame to frame (greedy, by predicted position)."""

    def __init__(
        self,
        frame_size: tuple[int, int] | None = None,
        max_missed: int = 6,
        gate: float = 1.2,
        max_size_change: float = 1.6,
        smoothing: float = 0.5,
        min_travel: float = 12.0,
        steady_steps: int = 3,
        min_step: float = 1.0,
        max_turn: float = 60.0,
        max_aspect_change: float = 0.2,
    ) -> None:
        """``frame_size`` (width, height) lets a track end as soon as it leaves the picture.

        ``gate``: a detection matches if its centre is within ``gate`` times the
        predicted box's larger side (plus a little for every missed frame);
        ``max_size_change``: and its width is within that factor of the
        prediction; ``smoothing``: weight of a new velocity measurement.

        A track becomes :attr:`Track.moving` after ``steady_steps`` consecutive
        steps of at least ``min_step`` px a frame, each turning at most
        ``max_turn`` degrees from the one before, with the box's aspect ratio
        changing by at most ``max_aspect_change`` (log ratio) a step, that
        together move the box as a whole ``min_travel`` px.
        """
        self.frame_size = frame_size
        self.max_missed = max_missed
        self.gate = gate
        self.max_size_change = max_size_change
        self.smoothing = smoothing
        self.min_travel = min_travel
        self.steady_steps = steady_steps
        self.min_step = min_step
        self.min_cos = math.cos(math.radians(max_turn))
        self.max_aspect_change = max_aspect_change
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, detections: list[Candidate], frame: int, timestamp: float) -> TrackerUpdate:
        """Match ``detections`` of ``frame`` to the tracks; start and end tracks."""
        pairs: list[tuple[float, int, int]] = []
        predictions = [t.predict(frame) for t in self.tracks]
        for ti, (track, pred) in enumerate(zip(self.tracks, predictions, strict=True)):
            px, py, pw, ph = pred
            pcx, pcy = px + pw / 2, py + ph / 2
            # A new track has no velocity yet: give it a wider gate for its second frame.
            slack = 1.0 + 0.35 * (frame - track.last_frame - 1) + (1.0 if track.hits == 1 else 0.0)
            reach = self.gate * max(pw, ph) * slack
            for di, det in enumerate(detections):
                x, y, w, h = det.box
                ratio = w / max(pw, 1)
                if not (1 / self.max_size_change <= ratio <= self.max_size_change):
                    continue
                hr = h / max(ph, 1)
                if not (1 / self.max_size_change <= hr <= self.max_size_change):
                    continue
                d = ((x + w / 2 - pcx) ** 2 + (y + h / 2 - pcy) ** 2) ** 0.5
                if d <= reach:
                    # Distance first; size disagreement breaks ties between neighbours.
                    pairs.append((d / max(pw, ph) + abs(ratio - 1.0) * 0.5, ti, di))
        pairs.sort()
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        seen: list[Track] = []
        for _, ti, di in pairs:
            if ti in matched_tracks or di in matched_dets:
                continue
            matched_tracks.add(ti)
            matched_dets.add(di)
            track = self.tracks[ti]
            self._observe(track, detections[di], frame, timestamp)
            seen.append(track)
        ended: list[Track] = []
        alive: list[Track] = []
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed = frame - track.last_frame
                if track.missed > self.max_missed or self._left(predictions[ti]):
                    track.ended = True
                    ended.append(track)
                    continue
            alive.append(track)
        started: list[Track] = []
        for di, det in enumerate(detections):
            if di in matched_dets:
                continue
            x, y, w, h = det.box
            track = Track(
                id=self._next_id,
                box=det.box,
                first_frame=frame,
                last_frame=frame,
                first_time=timestamp,
                last_time=timestamp,
                origin=(x + w / 2, y + h / 2),
                score=det.score,
            )
            track.history.append((frame, det.box))
            self._next_id += 1
            alive.append(track)
            started.append(track)
            seen.append(track)
        self.tracks = alive
        return TrackerUpdate(active=list(alive), seen=seen, started=started, ended=ended)

    def flush(self) -> list[Track]:
        """End every track (the feed stopped); returns them."""
        ended = self.tracks
        for track in ended:
            track.ended = True
        self.tracks = []
        return ended

    def _observe(self, track: Track, det: Candidate, frame: int, timestamp: float) -> None:
        dt = max(1, frame - track.last_frame)
        ox, oy = track.centre
        ow = track.box[2]
        before = track.box
        x, y, w, h = det.box
        vx, vy = (x + w / 2 - ox) / dt, (y + h / 2 - oy) / dt
        growth = (w / max(ow, 1)) ** (1 / dt)
        a = self.smoothing if track.hits > 1 else 1.0  # the first measurement is all we have
        track.vx += a * (vx - track.vx)
        track.vy += a * (vy - track.vy)
        track.growth += a * (growth - track.growth)
        track.box = det.box
        track.last_frame = frame
        track.last_time = timestamp
        track.hits += 1
        track.missed = 0
        track.score += 0.3 * (det.score - track.score)
        track.history.append((frame, det.box))
        self._steady(track, before, (vx, vy))

    def _steady(self, track: Track, before: Box, step: tuple[float, float]) -> None:
        """Extend or restart the track's run of steady motion; mark it moving when it qualifies."""
        length = math.hypot(*step)
        px, py = track.last_step
        previous = math.hypot(px, py)
        steady = length >= self.min_step and (
            abs(math.log(_aspect(track.box) / _aspect(before))) <= self.max_aspect_change
        )
        if steady and track.steady > 0:
            cos = (step[0] * px + step[1] * py) / max(length * previous, 1e-9)
            steady = cos >= self.min_cos
        if not steady:
            track.steady = 0
        elif track.steady == 0:
            track.steady, track.steady_box = 1, before
        else:
            track.steady += 1
        track.last_step = step
        if track.steady >= self.steady_steps and not track.moving:
            track.moving = _rigid_move(track.steady_box, track.box, self.min_travel)

    def _left(self, box: Box) -> bool:
        """The predicted box is (mostly) outside the picture."""
        if self.frame_size is None:
            return False
        width, height = self.frame_size
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2
        return cx < 0 or cy < 0 or cx >= width or cy >= height


def _aspect(box: Box) -> float:
    return max(box[2], 1) / max(box[3], 1)


def _rigid_move(start: Box, end: Box, min_travel: float) -> bool:
    """The box moved ``min_travel`` as a whole, not by one of its edges, out of its footprint.

    Along the main direction of the move, both edges of the box must have gone
    the same way, the lesser at least 40 % as far as the greater, and the box
    must have left at least half of where the run started (along that
    direction): whatever happens to a sign's box (a vehicle covering part of
    it, a headlight's glare joining it, an edge jittering), it stays on the
    sign. A plate on a
    vehicle moves (and grows) as a whole; a sign that a vehicle is sliding in
    front of (or off) keeps one edge where it is while the other follows the
    vehicle, and its box's centre moves steadily without the sign moving.
    """
    x0, y0, w0, h0 = start
    x1, y1, w1, h1 = end
    dx = (x1 + w1 / 2) - (x0 + w0 / 2)
    dy = (y1 + h1 / 2) - (y0 + h0 / 2)
    if math.hypot(dx, dy) < min_travel:
        return False
    if abs(dx) >= abs(dy):
        a, b = x1 - x0, (x1 + w1) - (x0 + w0)
        overlap, extent = min(x0 + w0, x1 + w1) - max(x0, x1), min(w0, w1)
    else:
        a, b = y1 - y0, (y1 + h1) - (y0 + h0)
        overlap, extent = min(y0 + h0, y1 + h1) - max(y0, y1), min(h0, h1)
    whole = a * b > 0 and min(abs(a), abs(b)) >= 0.4 * max(abs(a), abs(b))
    return whole and overlap <= 0.5 * extent
