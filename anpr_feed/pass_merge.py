"""One vehicle, one pass: the pieces of a vehicle's track merged before its pass is emitted.

The tracker sometimes cuts one vehicle in two (a plate that shrinks fast as it
drives away, a few frames of glare): two tracks, each read on its own, one of
them misreading a character (``59MD351779`` beside ``69MD351779``). A pass is
therefore held for a moment after its track ends (:class:`HeldPass`), and a
track that is a piece of the same vehicle joins it, votes and all, so that the
pass is voted over every reading of the vehicle (:func:`anpr_feed.track_evidence.fuse`).

Pieces of one vehicle are told from two vehicles by all of:

* their plates: the same, or one edit apart (a character misread, dropped or
  doubled: :func:`one_edit_apart`);
* their times: the second piece started while the first was tracked, or
  within ``adjoin`` frames after it was lost;
* their place: where the second piece was first seen is where the first
  piece was (or, lost, was heading) at that frame, within one and a half
  plate sizes, and the two were not both detected in the same frames
  (:func:`continues`).

Two vehicles one after the other in a lane fail the place test (the second
starts where vehicles come into the picture, the first was further on, or
gone); two in view together are both detected, frame after frame. The same plate read again within
``dedupe_seconds`` is one pass whatever the place (a pass cut by glare), as
before.
"""

from __future__ import annotations

from dataclasses import dataclass

from anpr_feed.detector import Box
from anpr_feed.track_evidence import TrackEvidence, Vote
from anpr_feed.tracker import Track


def one_edit_apart(a: str, b: str) -> bool:
    """Two plates one edit apart: a character changed, dropped or added."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _first_box(track: Track) -> Box:
    if track.history and track.history[0][0] == track.first_frame:
        return track.history[0][1]
    x, y = track.origin
    _, _, w, h = track.box
    return (round(x - w / 2), round(y - h / 2), w, h)


def continues(earlier: Track, later: Track, adjoin: int) -> bool:
    """``later`` may be a piece of ``earlier``'s vehicle: by time and by place.

    It started while ``earlier`` was tracked or at most ``adjoin`` frames after
    its last detection, and where ``earlier`` was (or was heading) then.
    """
    frame = later.first_frame
    gap = frame - earlier.last_frame
    if frame < earlier.first_frame or gap > adjoin:
        return False
    slack = 0.0
    if gap > 0:
        ref = earlier.predict(frame)
        slack = 0.5 * earlier.speed * gap  # a prediction drifts as the gap grows
    else:
        # Its box at that frame, or at the nearest frame it was seen, moved on by its speed.
        seen = min(earlier.history, key=lambda fb: abs(fb[0] - frame), default=None)
        if seen is None:
            return False
        ref = seen[1]
        slack = earlier.speed * abs(seen[0] - frame)
    box = _first_box(later)
    (ax, ay), (bx, by) = _centre(ref), _centre(box)
    reach = 1.5 * max(ref[2], ref[3], box[2], box[3]) + 8.0 + slack
    if ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 > reach:
        return False
    # Both detected in the same frames: two plates in view together, not one in two pieces
    # (the tracker cuts a vehicle when it lost it, and the piece lost is coasting).
    seen_together = {f for f, _ in earlier.history} & {f for f, _ in later.history}
    return len(seen_together) < 3


def pieces_of_one_vehicle(a: list[Track], b: list[Track], adjoin: int) -> bool:
    """Some track of ``a`` and some of ``b`` are pieces of one vehicle (time and place)."""
    for x in a:
        for y in b:
            earlier, later = (x, y) if x.first_frame <= y.first_frame else (y, x)
            if continues(earlier, later, adjoin):
                return True
    return False


@dataclass
class HeldPass:
    """A vehicle's pass between its track's end and its emission: the pieces merged so far.

    ``evidence`` is the first piece's, with the best view of all the pieces;
    each piece's readings are kept apart (``pieces``) for :meth:`votes`.
    """

    evidence: TrackEvidence
    tracks: list[Track]
    plate: str  # the merged reading's plate (normalized), for matching the next pieces
    first_time: float
    last_time: float
    first_frame: int
    last_frame: int
    pieces: list[tuple[Track, list[Vote]]]
    since: float = 0.0  # feed time it was last changed

    @classmethod
    def of(cls, track: Track, evidence: TrackEvidence, plate: str, now: float) -> HeldPass:
        """A held pass of one track."""
        return cls(
            evidence=evidence,
            tracks=[track],
            plate=plate,
            first_time=track.first_time,
            last_time=track.last_time,
            first_frame=track.first_frame,
            last_frame=track.last_frame,
            pieces=[(track, list(evidence.votes.values()))],
            since=now,
        )

    def votes(self, piece_frames: int) -> list[Vote]:
        """Every piece's readings as one set of votes.

        With several pieces, each piece's weight is scaled by how long it was
        followed (``hits / piece_frames``, at most 1): the tracker loses a
        plate when its view changes fast (far, small, blurred), and the short
        piece that follows such a view is the less trustworthy one when the
        two pieces' readings are otherwise as strong.
        """
        if len(self.pieces) == 1:
            return self.pieces[0][1]
        out: dict[str, Vote] = {}
        for track, votes in self.pieces:
            scale = min(1.0, track.hits / max(piece_frames, 1))
            for vote in votes:
                mine = out.setdefault(vote.plate.normalized, Vote(vote.plate))
                mine.weight += vote.weight * scale
                mine.count += vote.count
                mine.confidence_sum += vote.confidence_sum
                mine.best_confidence = max(mine.best_confidence, vote.best_confidence)
        return list(out.values())

    def absorb(self, track: Track, evidence: TrackEvidence, now: float) -> None:
        """Fold another piece of the vehicle in: its readings vote with ours."""
        ours = self.evidence
        self.pieces.append((track, list(evidence.votes.values())))
        ours.attempts += evidence.attempts
        ours.failures += evidence.failures
        if evidence.best_weight > ours.best_weight:
            ours.best_weight = evidence.best_weight
            ours.best_crop = evidence.best_crop
            ours.best_thumbnail = evidence.best_thumbnail
            ours.best_box = evidence.best_box
            ours.best_colour = evidence.best_colour
        ours.alert = ours.alert or evidence.alert
        self.tracks.append(track)
        self.first_time = min(self.first_time, track.first_time)
        self.last_time = max(self.last_time, track.last_time)
        self.first_frame = min(self.first_frame, track.first_frame)
        self.last_frame = max(self.last_frame, track.last_frame)
        self.since = now
