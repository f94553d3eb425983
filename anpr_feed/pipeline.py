"""One checkpoint feed: frames in, one event per vehicle pass out.

Per frame::

    decode (caller) -> detect plate candidates (every frame, ~4 ms at 720p)
                    -> track them (motion model, ~0.1 ms)
                    -> read a few tracks' crops (the expensive part, rarely)
    at a track's end -> vote over its readings -> PassEvent

Why it is built this way: the OCR (RapidOCR det+rec) costs 100-400 ms a call,
ten times the 40 ms a frame has at 25 fps, so it cannot run per frame or even
per detection. Everything per frame is classical and cheap; the reader only
sees the crop of a track, only when it is worth it, and only a few times per
vehicle:

* never for a track that has not moved (``min_travel``, in a steady run of
  frames: see :mod:`anpr_feed.tracker`; a sign's box that changes shape is
  not motion): signs, shop lettering, a billboard with a plate-like number
  and the camera's own caption are found by the detector but never read,
  and can never make an event, at no OCR cost;
* for a plate that grows (coming towards the camera), when its text is tall
  enough to read well or it is about to leave; for one that shrinks (going
  away), as soon as it is wholly in the picture;
* again after a few frames only until two readings agree (or one is
  very confident), at most ``max_reads`` times;
* at most ``max_reads_per_frame`` a frame; and, on a live feed only
  (``ocr_budget``), within a share of real time (tracks never read first,
  text that gave no plate last), so a burst of traffic degrades accuracy
  rather than falling behind the camera, and the feed says so (``shedding``,
  ``stats.shed``, ``stats.unread``). A file has no time budget: its passes
  are the same on a loaded machine as on an idle one (``read_rate`` limits
  it in reader calls per second of video, when a benchmark wants a limit).

The readings of a track are votes weighted by the reader's confidence; the
plate grammar (inside the reader, ``anpr_feed.plates.parse``) has already
rejected text that is not a plate, so a truck's phone number that is read
gives no vote, and a read track that rode just above another read one, at
its speed (a coach's phone number above its plate), is not a plate. A pass
is emitted when its track ends (lost for a few frames
or gone out of the picture), once per vehicle; a second track of the same
plate within ``dedupe_seconds`` (a pass cut in two by glare) is folded in,
and so is a track that ran at the same time as an earlier-started one whose
plate differs from it in one character only: the tracker split one vehicle
(a plate shrinking fast as it drives away) and the smaller view misread a
character. Two vehicles in view together with plates one character apart
are far rarer than that split.

``annotate`` draws the tracks, their plate and province, and a banner for
plates marked with :meth:`Pipeline.alert` (or found by the ``watch`` hook).
``stats`` says where the time goes, per stage.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from anpr_feed.annotate import AMBER, GREEN, RED, Painter
from anpr_feed.detector import Box, PlateDetector
from anpr_feed.pass_event import PassEvent
from anpr_feed.pass_images import crop_with_margin, image_from_jpeg, jpeg, thumbnail
from anpr_feed.pass_merge import HeldPass, one_edit_apart, pieces_of_one_vehicle
from anpr_feed.pipeline_config import PipelineConfig
from anpr_feed.stage_stats import STAGES, StageStats, StageTimer
from anpr_feed.track_evidence import TrackEvidence, Vote, fuse, one_character_apart
from anpr_feed.tracker import Track, Tracker
from anpr_feed.types import Image, Plate, PlateReader, Reading

# Where these lived before they had modules of their own; callers import them from here.
__all__ = [
    "STAGES",
    "PassEvent",
    "Pipeline",
    "PipelineConfig",
    "StageStats",
    "image_from_jpeg",
    "one_character_apart",
]


class Pipeline:
    """Plate passes from one feed's frames (see the module docstring).

    ``reader`` is any :class:`anpr_feed.types.PlateReader`; ``watch`` (optional)
    is asked about every plate as soon as a track is first read, and a reason
    it returns marks the plate as alerted while the vehicle is still in view.
    """

    def __init__(
        self,
        reader: PlateReader,
        config: PipelineConfig | None = None,
        watch: Callable[[Plate], str | None] | None = None,
    ) -> None:
        self.reader = reader
        self.config = config or PipelineConfig()
        self.watch = watch
        self.detector = PlateDetector(self.config.detector)
        self.tracker = Tracker(max_missed=self.config.max_missed, min_travel=self.config.min_travel)
        self.stats = StageStats()
        self.painter = Painter()
        self._evidence: dict[int, TrackEvidence] = {}
        self._frame_index = -1
        self._now = 0.0
        self._budget: float | None = None
        self._budget_time: float | None = None
        self._last_shed: float | None = None  # when a read was last shed (feed time)
        # Passes emitted lately: (last seen, plate, their tracks).
        self._recent: deque[tuple[float, str, list[Track]]] = deque()
        self._held: list[HeldPass] = []  # passes whose vehicle may still have a piece to come
        self._read_ended: deque[Track] = deque()  # tracks with readings that ended lately
        self._executor: ThreadPoolExecutor | None = None
        self._awaiting: list[Track] = []  # ended while their reading was in the background
        # The read in the background: its track's evidence, the call, and the crop,
        # frame and box it was made from.
        self._pending: (
            tuple[TrackEvidence, Future[tuple[list[Reading], float]], Image, Image, Box] | None
        ) = None
        self._alerts: dict[str, tuple[str, float]] = {}  # plate -> (reason, since)
        self._banner: tuple[str, float] | None = None  # text, until

    # -- the feed --

    def process(self, frame: Image, timestamp: float) -> list[PassEvent]:
        """Take one frame (BGR) and its time (seconds); returns the passes that ended."""
        c = self.config
        self._frame_index += 1
        index = self._frame_index
        self._now = timestamp
        if self.tracker.frame_size is None:
            self.tracker.frame_size = (frame.shape[1], frame.shape[0])
        self.stats.frames += 1
        self._refill(timestamp)
        with StageTimer(self.stats, "detect"):
            candidates = self.detector.detect(frame)
        self.stats.candidates += len(candidates)
        with StageTimer(self.stats, "track"):
            update = self.tracker.update(candidates, index, timestamp)
            for track in update.started:
                self._evidence[track.id] = TrackEvidence(track)
            self.stats.tracks += len(update.started)
            wanted = self._wanted(update.seen, frame.shape[1], frame.shape[0], index)
        with StageTimer(self.stats, "recognize"):
            if self._pending is not None and self._pending[1].done():
                self._collect()
            done = 0
            for evidence in wanted:
                evidence.wanted = True
                if done >= c.max_reads_per_frame or self._pending is not None:
                    self.stats.deferred += 1
                    continue
                if not self._affordable(evidence):
                    # Refused by the budget, not merely put off: the feed is shedding load.
                    self.stats.deferred += 1
                    self.stats.shed += 1
                    evidence.shed += 1
                    self._last_shed = timestamp
                    continue
                self._read(evidence, frame, index)
                done += 1
        with StageTimer(self.stats, "emit"):
            # A track whose reading is still running in the background ends when it
            # comes back, a frame or a few later: the video does not wait for it.
            ended = self._awaiting + list(update.ended)
            pending = self._pending[0].track if self._pending is not None else None
            self._awaiting = [t for t in ended if t is pending]
            # Lowest first: a plate ends before the lettering above it is judged.
            ended = sorted((t for t in ended if t is not pending), key=lambda t: -t.centre[1])
            for track in ended:
                self._finish(track)
            events = self._release()
        return events

    def flush(self) -> list[PassEvent]:
        """End every track (the stream ended or restarts); returns their passes.

        Alerts stay; frame numbering and tracks start afresh.
        """
        with StageTimer(self.stats, "emit"):
            if self._pending is not None:
                self._collect()
            ended = self._awaiting + self.tracker.flush()
            self._awaiting = []
            ended = sorted(ended, key=lambda t: -t.centre[1])
            for track in ended:
                self._finish(track)
            events = self._release(everything=True)
        self._evidence.clear()
        return events

    @property
    def waiting_for_reads(self) -> bool:
        """A read runs in the background, a track that ended waits for one to come back, or a
        pass waits for a piece of its vehicle (frames must go on for those to end)."""
        return self._pending is not None or bool(self._awaiting) or bool(self._held)

    @property
    def shedding(self) -> bool:
        """Whether the feed shed reads lately (within ``shed_window`` seconds of feed time).

        Shedding: a read refused by the budget, or a track that was due a read
        and ended without one (the reader busy with others, or the budget spent).
        Read from a file, it depends on the frames only, as everything else does.
        """
        last = self._last_shed
        return last is not None and self._now - last <= self.config.shed_window

    # -- alerts --

    def alert(self, plate_normalized: str, reason: str) -> None:
        """Mark a plate as alerted: a red box on it and a banner on the picture.

        The banner shows for ``banner_seconds`` from now, and whenever a track
        with this plate is in view. A plate stays marked until :meth:`clear_alert`.
        """
        plate = plate_normalized.upper()
        self._alerts[plate] = (reason, self._now)
        display = plate
        for ev in self._evidence.values():
            leader = ev.leader
            if leader is not None and leader.plate.normalized == plate:
                ev.alert = reason
                display = leader.plate.display
        self._banner = (f"CẢNH BÁO  {display}  —  {reason}", self._now + self.config.banner_seconds)

    def clear_alert(self, plate_normalized: str) -> None:
        """Stop marking a plate (and drop its banner)."""
        self._alerts.pop(plate_normalized.upper(), None)
        if self._banner is not None and plate_normalized.upper() in self._banner[0]:
            self._banner = None

    # -- the picture --

    def annotate(self, frame: Image, in_place: bool = False) -> Image:
        """``frame`` with the tracks, their plates and the alert banner drawn on it.

        Only tracks seen in the latest frame that have been read, or that move
        and look like plates, are drawn: static text is not boxed.
        """
        start_w, start_c = time.perf_counter(), time.process_time()
        out = frame if in_place else frame.copy()
        c = self.config
        banner: str | None = None
        for track in self.tracker.tracks:
            if track.missed:
                continue
            ev = self._evidence.get(track.id)
            leader = ev.leader if ev is not None else None
            if leader is None and (not track.moving or track.hits < c.min_hits + 1):
                continue
            if leader is not None:
                plate = leader.plate
                alerted = ev.alert if ev is not None and ev.alert else None
                if alerted is None and plate.normalized in self._alerts:
                    alerted = self._alerts[plate.normalized][0]
                colour = RED if alerted else GREEN
                lines = [plate.display, plate.province]
                if alerted:
                    banner = f"CẢNH BÁO  {plate.display}  —  {alerted}"
            else:
                colour, lines = AMBER, []
            self.painter.label(out, track.box, lines, colour, c.label_size)
        if banner is None and self._banner is not None and self._now <= self._banner[1]:
            banner = self._banner[0]
        if banner is not None:
            self.painter.banner(out, banner, max(16, round(out.shape[0] / 32)))
        self.stats.wall["annotate"] += time.perf_counter() - start_w
        self.stats.cpu["annotate"] += time.process_time() - start_c
        return out

    # -- reading --

    def _wanted(
        self, seen: list[Track], width: int, height: int, index: int
    ) -> list[TrackEvidence]:
        """Tracks worth a reading now, most urgent first."""
        c = self.config
        out: list[tuple[tuple[float, ...], TrackEvidence]] = []
        for track in seen:
            ev = self._evidence.get(track.id)
            if ev is None or ev.settled(c.confident) or ev.attempts >= c.max_reads:
                continue
            if ev.failures >= c.max_failures and not ev.votes:
                continue  # read several times, never a plate: lettering, a grille...
            if track.hits < c.min_hits or not track.moving or track.travel < c.min_travel:
                continue  # static text (a sign's box jittering in shape is not motion)
            if index - ev.last_read_frame < c.reread_gap:
                continue
            x, y, w, h = track.box
            m = c.edge_margin
            if x < m or y < m or x + w > width - m or y + h > height - m:
                continue  # cut by the edge of the picture: a partial plate reads wrong
            text_h = _text_height(track.box)
            if text_h < c.min_text_height:
                continue
            # Frames until the prediction leaves the picture (roughly).
            leaving = _frames_to_leave(track, width, height)
            growing = track.growth > 1.005
            ready = (
                text_h >= c.good_text_height
                or not growing  # it will only get smaller (or stay): read now
                or leaving <= 4
                or index - track.first_frame >= c.patience
            )
            if not ready:
                continue
            # Never read first; then a second opinion on a plate; text that gave no plate
            # last (it rarely does on another try); the soonest to leave first within each.
            rank = 0 if ev.attempts == 0 else 1 if ev.votes else 2
            out.append(((rank, leaving), ev))
        out.sort(key=lambda item: item[0])
        return [ev for _, ev in out]

    def _budget_terms(self) -> tuple[float, float] | None:
        """The budget's refill per second of video and its burst, in its unit (None: none).

        ``ocr_budget`` (live feeds) counts CPU seconds; ``read_rate`` counts reader calls.
        """
        c = self.config
        if c.ocr_budget is not None:
            return c.ocr_budget, c.ocr_burst
        if c.read_rate is not None:
            return c.read_rate, c.read_burst
        return None

    def _affordable(self, ev: TrackEvidence) -> bool:
        terms = self._budget_terms()
        if self._budget is None or terms is None:
            return True
        # A track without any reading may overdraw a little: a pass missed is worse
        # than a pass read once.
        floor = -terms[1] if ev.attempts == 0 else 0.0
        return self._budget > floor

    def _refill(self, timestamp: float) -> None:
        terms = self._budget_terms()
        if terms is None:
            return
        rate, burst = terms
        if self._budget is None or self._budget_time is None:
            self._budget, self._budget_time = burst, timestamp
            return
        elapsed = max(0.0, min(timestamp - self._budget_time, 5.0))
        self._budget = min(burst, self._budget + elapsed * rate)
        self._budget_time = timestamp

    def _read(self, ev: TrackEvidence, frame: Image, index: int) -> None:
        c = self.config
        box = ev.track.box
        crop, _ = crop_with_margin(frame, box, c.crop_margin)
        ev.attempts += 1
        ev.last_read_frame = index
        if c.background_reads:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="plate-reader")
            future = self._executor.submit(_timed_read, self.reader, crop)
            self._pending = (ev, future, crop, frame, box)
            return
        readings, spent = _timed_read(self.reader, crop)
        self._use(ev, readings, spent, crop, frame, box)

    def _collect(self) -> None:
        """Wait for the read in the background (if any) and count its readings."""
        if self._pending is None:
            return
        ev, future, crop, frame, box = self._pending
        self._pending = None
        try:
            readings, spent = future.result()
        except Exception:
            readings, spent = [], 0.0  # a reader failure is a failed read, not a dead feed
        self._use(ev, readings, spent, crop, frame, box)

    def _use(
        self,
        ev: TrackEvidence,
        readings: list[Reading],
        spent: float,
        crop: Image,
        frame: Image,
        box: Box,
    ) -> None:
        c = self.config
        if self._budget is not None:
            # CPU seconds for a live feed's budget; one call for a counted one.
            self._budget -= spent if c.ocr_budget is not None else 1.0
        self.stats.reads += 1
        reading = _central(readings, crop.shape[1], crop.shape[0])
        if reading is not None and reading.plate.lines == 2:
            _, _, w, h = box
            if w / max(h, 1) > c.max_two_row_aspect:
                reading = None  # a one-row text (a truck's phone number) read as two rows
        if reading is None:
            ev.failures += 1
            return
        self.stats.read_plates += 1
        plate = reading.plate
        # Bigger text is more trustworthy: weight by confidence and (gently) by size.
        weight = float(reading.confidence) * min(1.0, 0.6 + _text_height(box) / 40.0)
        first = not ev.votes
        vote = ev.votes.setdefault(plate.normalized, Vote(plate))
        vote.weight += weight
        vote.count += 1
        vote.confidence_sum += float(reading.confidence)
        vote.best_confidence = max(vote.best_confidence, float(reading.confidence))
        if weight > ev.best_weight:
            ev.best_weight = weight
            ev.best_crop = crop.copy()
            ev.best_box = box
            ev.best_colour = reading.colour
            ev.best_thumbnail = thumbnail(frame, box, c.thumbnail_width)
        if plate.normalized in self._alerts:
            ev.alert = self._alerts[plate.normalized][0]
        elif first and self.watch is not None:
            reason = self.watch(plate)
            if reason:
                self.alert(plate.normalized, reason)
                ev.alert = reason

    # -- passes --

    def _on_a_plates_vehicle(self, track: Track) -> bool:
        """``track`` is text above a plate that moved with it: lettering on the same vehicle.

        A vehicle has one plate, mounted low; a truck's or coach's phone number
        or name is painted above it and moves with it. The plate grammar
        cannot always turn such text down (``0912.345.678`` holds
        ``23A-5678``), but its place can: when another track that has been
        read was just below this one, moving the same way at the same speed
        over the same frames, this one is not a plate.
        """
        others = [t for t in self.tracker.tracks if t is not track and t.id in self._evidence]
        others = [t for t in others if self._evidence[t.id].votes]
        others += [t for t in self._read_ended if t is not track]
        return any(_rides_above(track, other) for other in others)

    def _finish(self, track: Track) -> None:
        """A track ended: its readings join the held pass of its vehicle, or start one."""
        c = self.config
        if self._pending is not None and self._pending[0].track is track:
            self._collect()  # its last reading counts (rarely waited for: reads are short)
        ev = self._evidence.pop(track.id, None)
        if ev is not None and ev.wanted and ev.attempts == 0:
            # A track that wanted a read and never had one: a vehicle possibly missed.
            self.stats.unread += 1
            self._last_shed = self._now
        if ev is None or not ev.votes:
            return
        while self._read_ended and self._read_ended[0].last_time < track.last_time - 3.0:
            self._read_ended.popleft()
        self._read_ended.append(track)
        if self._on_a_plates_vehicle(track):
            self.stats.lettering += 1
            return
        fused = fuse(ev.votes.values())
        assert fused is not None
        plate = fused.plate.normalized
        for held in self._held:
            same = held.plate == plate and track.first_time - held.last_time <= c.dedupe_seconds
            if same or (
                one_edit_apart(held.plate, plate)
                and pieces_of_one_vehicle(held.tracks, [track], c.adjoin_frames)
            ):
                held.absorb(track, ev, self._now)
                merged = fuse(held.votes(c.piece_frames))
                assert merged is not None
                held.plate = merged.plate.normalized
                self.stats.duplicates += 1
                return
        # A pass already out: the same plate lately, or a piece of its vehicle, adds none.
        while self._recent and self._recent[0][0] < track.last_time - c.dedupe_seconds:
            self._recent.popleft()
        for _, p, tracks in self._recent:
            if p == plate or (
                one_edit_apart(p, plate) and pieces_of_one_vehicle(tracks, [track], c.adjoin_frames)
            ):
                self.stats.duplicates += 1
                return
        self._held.append(HeldPass.of(track, ev, plate, self._now))

    def _release(self, everything: bool = False) -> list[PassEvent]:
        """The held passes no piece can join any more, as events (all of them: ``everything``)."""
        out: list[PassEvent] = []
        kept: list[HeldPass] = []
        for held in self._held:
            if everything or not self._may_grow(held):
                event = self._event(held)
                if event is not None:
                    out.append(event)
            else:
                kept.append(held)
        self._held = kept
        return out

    def _may_grow(self, held: HeldPass) -> bool:
        """Whether a piece of ``held``'s vehicle may still come: wait for it (bounded)."""
        c = self.config
        since = self._frame_index - held.last_frame
        if since > c.max_hold_frames:
            return False
        if since <= c.adjoin_frames:
            return True  # a piece may yet start where the vehicle was heading
        for live in self.tracker.tracks:
            if live in held.tracks:
                continue
            ev = self._evidence.get(live.id)
            leader = ev.leader if ev is not None else None
            if leader is not None and not (
                leader.plate.normalized == held.plate
                or one_edit_apart(leader.plate.normalized, held.plate)
            ):
                continue  # read, and another plate: another vehicle
            if (
                leader is None
                and not live.moving
                and live.first_frame + c.patience < self._frame_index
            ):
                continue  # it has had the time to move and stood still: not a vehicle
            if pieces_of_one_vehicle(held.tracks, [live], c.adjoin_frames):
                return True
        return False

    def _event(self, held: HeldPass) -> PassEvent | None:
        """The pass of a vehicle whose pieces are all in (None: too unsure to emit)."""
        c = self.config
        ev = held.evidence
        fused = fuse(held.votes(c.piece_frames))
        assert fused is not None
        confidence = float(min(1.0, fused.agreement * fused.confidence))
        if confidence < c.min_confidence or (
            fused.count == 1 and confidence < c.min_single_confidence
        ):
            self.stats.rejected += 1
            return None
        plate = fused.plate
        self._recent.append((held.last_time, plate.normalized, held.tracks))
        alert = ev.alert or (
            self._alerts[plate.normalized][0] if plate.normalized in self._alerts else None
        )
        crop_jpeg = jpeg(ev.best_crop, c.jpeg_quality) if ev.best_crop is not None else b""
        thumb_jpeg = (
            jpeg(ev.best_thumbnail, c.jpeg_quality) if ev.best_thumbnail is not None else b""
        )
        self.stats.events += 1
        return PassEvent(
            plate=plate,
            confidence=round(confidence, 4),
            started_at=held.first_time,
            ended_at=held.last_time,
            reads=fused.count,
            attempts=ev.attempts,
            crop_jpeg=crop_jpeg,
            thumbnail_jpeg=thumb_jpeg,
            box=ev.best_box,
            track_id=held.tracks[0].id,
            colour=ev.best_colour,
            alert=alert,
            alternatives=tuple(
                (p, round(w, 4))
                for p, w in sorted(fused.weights.items(), key=lambda item: -item[1])
                if p != plate.normalized
            ),
        )


# ---------------------------------------------------------------------------- helpers


def _rides_above(upper: Track, lower: Track) -> bool:
    """``upper`` was above ``lower`` and moved with it (same vehicle) over shared frames."""
    a = dict(upper.history)
    b = dict(lower.history)
    common = sorted(set(a) & set(b))
    if len(common) < 3:
        return False
    first, last = common[0], common[-1]

    def centre(box: Box) -> tuple[float, float]:
        return box[0] + box[2] / 2, box[1] + box[3] / 2

    (ax0, ay0), (ax1, ay1) = centre(a[first]), centre(a[last])
    (bx0, by0), (bx1, by1) = centre(b[first]), centre(b[last])
    da, db = (ax1 - ax0, ay1 - ay0), (bx1 - bx0, by1 - by0)
    moved = max(float(np.hypot(*da)), float(np.hypot(*db)))
    if moved < 8:
        return False
    if float(np.hypot(da[0] - db[0], da[1] - db[1])) > 0.3 * moved + 4:
        return False  # different speeds or directions: two vehicles
    width = max(a[last][2], b[last][2])
    below = by1 - ay1
    return 0 < below <= 1.5 * width and abs(bx1 - ax1) <= width


def _text_height(box: Box) -> float:
    """Estimated character height: a one-row plate's text is ~70 % of it, a two-row one's ~36 %."""
    _, _, w, h = box
    return h * (0.7 if w / max(h, 1) >= 2.8 else 0.36)


def _frames_to_leave(track: Track, width: int, height: int) -> float:
    """Frames until the track's box would cross the edge of the picture at its speed."""
    x, y, w, h = track.box
    out = []
    if track.vx > 0.1:
        out.append((width - (x + w)) / track.vx)
    elif track.vx < -0.1:
        out.append(x / -track.vx)
    if track.vy > 0.1:
        out.append((height - (y + h)) / track.vy)
    elif track.vy < -0.1:
        out.append(y / -track.vy)
    return min(out, default=1e9)


def _timed_read(reader: PlateReader, crop: Image) -> tuple[list[Reading], float]:
    """The reader's readings of ``crop`` and the CPU seconds the call took (this thread).

    The time counts only against a live feed's ``ocr_budget``; nothing else uses it.
    """
    # CPU, not wall: the budget is a share of a core. Thread time, so a read in the
    # background is not charged for the frames the other thread handles meanwhile.
    started = time.thread_time()
    readings = reader.read(crop)
    return readings, time.thread_time() - started


def _central(readings: list[Reading], width: int, height: int) -> Reading | None:
    """The reading of the plate in the middle of the crop (a crop may catch a neighbour)."""
    if not readings:
        return None
    if len(readings) == 1:
        return readings[0]

    def off_centre(r: Reading) -> float:
        x, y, w, h = r.box
        return abs(x + w / 2 - width / 2) / width + abs(y + h / 2 - height / 2) / height

    best = min(readings, key=off_centre)
    return best if off_centre(best) < off_centre(readings[0]) - 0.1 else readings[0]
