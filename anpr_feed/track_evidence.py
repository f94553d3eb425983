"""What the pipeline knows of one track beyond its motion: the readings' votes, the best view.

A track's readings are merged before its pass is emitted (:func:`fuse`): one
vehicle read as ``69MD351779`` on most frames and ``59MD351779`` on a few is
one plate, the majority's, not two. Readings of the same layout vote position
by position, each with its weight (confidence, and size), so a character
misread on a minority of frames loses even when no whole reading holds the
majority alone (one reading misses a 3, another a 8); the merged text must be
a plate by the grammar as it stands, or the heaviest whole reading is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from anpr_feed.detector import Box
from anpr_feed.plates import parse
from anpr_feed.tracker import Track
from anpr_feed.types import Image, Plate


@dataclass
class Vote:
    """The readings of one plate on a track, weighted by their confidence."""

    plate: Plate
    weight: float = 0.0
    count: int = 0
    confidence_sum: float = 0.0
    best_confidence: float = 0.0


@dataclass
class TrackEvidence:
    """What the pipeline knows about one track beyond its motion."""

    track: Track
    votes: dict[str, Vote] = field(default_factory=dict)
    attempts: int = 0
    failures: int = 0
    last_read_frame: int = -(10**9)
    best_weight: float = -1.0
    best_crop: Image | None = None
    best_thumbnail: Image | None = None
    best_box: Box = (0, 0, 0, 0)
    best_colour: str | None = None
    alert: str | None = None
    wanted: bool = False  # it was due a read at least once
    shed: int = 0  # reads refused it by the budget

    @property
    def leader(self) -> Vote | None:
        """The plate with the most weight so far."""
        return max(self.votes.values(), key=lambda v: v.weight, default=None)

    def settled(self, confident: float) -> bool:
        """Enough readings agree (or one is ``confident``): no more OCR for this track."""
        leader = self.leader
        if leader is None:
            return False
        others = sum(v.weight for v in self.votes.values()) - leader.weight
        if leader.count >= 2 and leader.weight > 2 * others:
            return True
        return leader.count == 1 and others == 0 and leader.best_confidence >= confident


def one_character_apart(a: str, b: str) -> bool:
    """Two plates of one length that differ in exactly one character."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


@dataclass(frozen=True)
class Fused:
    """A track's readings merged into one plate (see the module docstring)."""

    plate: Plate
    agreement: float  # of all the readings' weight, the least any position's winner had
    count: int  # readings that voted for it (every reading of its layout)
    confidence: float  # the mean confidence of the readings that gave its text whole (or all)
    weights: dict[str, float]  # every plate read and its weight


def layout_key(plate: Plate) -> tuple[int, int, int, str]:
    """Readings with the same key can vote position by position: same length and rows."""
    return (len(plate.normalized), plate.lines, len(plate.series), plate.kind)


def fuse(votes: Iterable[Vote]) -> Fused | None:
    """Merge the readings of one track (or of two pieces of one vehicle) into one plate."""
    votes = [v for v in votes if v.count > 0]
    if not votes:
        return None
    total = sum(v.weight for v in votes)
    groups: dict[tuple[int, int, int, str], list[Vote]] = {}
    for vote in votes:
        groups.setdefault(layout_key(vote.plate), []).append(vote)
    # The layout with the most weight; ties go to the heaviest single reading in it.
    group = max(
        groups.values(),
        key=lambda g: (sum(v.weight for v in g), max(v.weight for v in g)),
    )
    heaviest = max(group, key=lambda v: (v.weight, v.plate.normalized))
    length = len(heaviest.plate.normalized)
    text = []
    least = float("inf")
    for i in range(length):
        tally: dict[str, float] = {}
        for vote in group:
            ch = vote.plate.normalized[i]
            tally[ch] = tally.get(ch, 0.0) + vote.weight
        # Ties go to the heaviest reading's character: never an arbitrary order.
        best = max(tally, key=lambda ch: (tally[ch], ch == heaviest.plate.normalized[i]))
        text.append(best)
        least = min(least, tally[best])
    merged = "".join(text)
    plate = next((v.plate for v in group if v.plate.normalized == merged), None)
    if plate is None:
        plate = _as_plate(merged, heaviest.plate)
    if plate is None:  # the merged text is no plate: keep the heaviest whole reading
        plate, least = heaviest.plate, heaviest.weight
    count = sum(v.count for v in group)
    # How sure the reader was of this text: of the readings that gave it whole, if any.
    agreeing = [v for v in group if v.plate.normalized == plate.normalized] or group
    return Fused(
        plate=plate,
        agreement=least / total if total > 0 else 0.0,
        count=count,
        confidence=sum(v.confidence_sum for v in agreeing) / sum(v.count for v in agreeing),
        weights={v.plate.normalized: v.weight for v in votes},
    )


def _as_plate(normalized: str, like: Plate) -> Plate | None:
    """``normalized`` as a plate of ``like``'s layout, if the grammar takes it without repair."""
    top = 2 + len(like.series)
    plate = parse([normalized[:top], normalized[top:]] if like.lines == 2 else normalized)
    if plate is None or plate.normalized != normalized or plate.repaired:
        return None
    return plate if layout_key(plate) == layout_key(like) else None
