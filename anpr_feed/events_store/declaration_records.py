"""Travel declarations and the alerts they raise: what drivers declared, what the cameras saw.

A driver declares ("khai báo di chuyển") where the vehicle comes from and when
it travels; a pass that contradicts the declaration, or a pass with none where
one is required, raises a :class:`DeclarationAlert` that a checkpoint officer
follows up with :class:`AlertNote` records (see :mod:`anpr_feed.declarations`).
"""

from __future__ import annotations

from dataclasses import dataclass

# What a checkpoint asks of the vehicles it reads (CheckpointRule.required).
REQUIRE_NONE = "none"  # declarations are checked where they exist, none is asked for
REQUIRE_OUTBREAK = "outbreak"  # vehicles registered in an outbreak province need one
REQUIRE_ALL = "all"  # every vehicle needs one
REQUIREMENTS = (REQUIRE_NONE, REQUIRE_OUTBREAK, REQUIRE_ALL)

# What the officer found (AlertNote.outcome), Vietnamese on the phone page.
OUTCOMES: dict[str, str] = {
    "truthful": "Đúng khai báo",
    "false": "Khai báo sai",
    "not-found": "Không gặp được xe",
    "note": "Ghi chú",
}


@dataclass(frozen=True, slots=True)
class Declaration:
    """One travel declaration: a vehicle, its driver, where it comes from, and when."""

    id: str
    plate: str  # normalised as the reader normalises plates, e.g. "30A12345"
    driver: str
    origin_code: str  # a plate code of the declared origin province (provinces.py), e.g. "29"
    valid_from: float  # unix seconds: the declared travel window
    valid_to: float
    phone: str  # "0912345678", or "" if none was given
    source: str  # where it came from: "upload:<file>", "cli:<file>", "form"
    unit_code: str | None  # the unit it was imported for (who may see it); None: admins only
    imported_by: str
    imported_at: float


@dataclass(frozen=True, slots=True)
class CheckpointRule:
    """What one camera's checkpoint is for the declaration check.

    ``province_code`` is a plate code of the province the checkpoint stands
    in (a pass there is a pass in that province); ``required`` one of
    :data:`REQUIREMENTS`.
    """

    feed_id: str
    province_code: str
    required: str
    set_by: str
    set_at: float


@dataclass(frozen=True, slots=True)
class DeclarationAlert:
    """A "khai báo không trung thực" alert raised by one pass, with its evidence."""

    id: str
    event_id: str  # the pass that raised it
    plate: str
    at: float  # the pass's time
    feed_id: str
    checkpoint: str
    unit_code: str | None  # the pass's unit: who may see and follow the alert up
    kind: str  # "mismatch" (declared otherwise) or "undeclared" (none where required)
    reason: str  # Vietnamese, for the officer
    declaration_id: str | None
    evidence: tuple[str, ...]  # plate event ids: the passes that contradict, this one first
    outcome: str | None = None  # the last outcome an officer recorded (OUTCOMES), if any


@dataclass(frozen=True, slots=True)
class AlertNote:
    """What an officer found about an alert: kept in the alert's history."""

    alert_id: str
    at: float
    by: str  # username
    by_name: str  # display name, as it was when the note was written
    outcome: str  # a key of OUTCOMES
    text: str
