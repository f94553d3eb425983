"""What the pipeline knows of one track beyond its motion: the readings' votes, the best view."""

from __future__ import annotations

from dataclasses import dataclass, field

from anpr_feed.detector import Box
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
