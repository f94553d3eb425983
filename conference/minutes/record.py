"""The minutes as plain data, ready to write: every time is unix seconds, every name text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TierCount:
    """Attendance of one tier: invited sites present at some point / invited."""

    label: str  # "Cấp huyện", "Khách mời"...
    present: int
    total: int
    attendance: bool = True  # False for guests and cameras: their total is who came


@dataclass(frozen=True, slots=True)
class SiteAttendance:
    """One site of the roll call."""

    name: str
    tier: str
    came: bool
    first_joined_at: float | None
    present_seconds: float
    invited: bool = True


@dataclass(frozen=True, slots=True)
class SpeakingLine:
    """One turn of the timeline."""

    name: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SpeakerTotal:
    """A site's turns and total speaking time."""

    name: str
    turns: int
    seconds: float


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One document of the meeting."""

    name: str
    size: int
    sha256: str
    uploaded_at: float


@dataclass(frozen=True, slots=True)
class VoteLine:
    """One vote (biểu quyết) and its result."""

    question: str
    secret: bool
    opened_at: float
    closed_at: float | None
    options: list[tuple[str, int]]  # label, count
    answered: int
    voters: list[tuple[str, str]] = field(default_factory=list)  # site name, option (open votes)


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One chat message."""

    at: float
    name: str
    to_host: bool
    from_host: bool
    text: str


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One plate alert shown to the meeting's hosts."""

    at: float
    checkpoint: str
    plate: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecordingLink:
    """One recording of the meeting."""

    url: str
    started_at: float
    ended_at: float | None
    status: str


@dataclass(frozen=True, slots=True)
class Minutes:
    """Everything the minutes say, in the order they say it."""

    meeting_id: str
    title: str
    agenda: str
    host_unit: str  # the heading's issuing body (the host site's name)
    host_name: str
    created_by: str
    scheduled_start: float
    scheduled_end: float
    actual_start: float | None
    actual_end: float | None
    running: bool  # the meeting is still going on (minutes taken "so far")
    cancelled: bool
    timezone: str  # IANA name the times are written in
    made_at: float
    tiers: list[TierCount]
    sites: list[SiteAttendance]
    speaking: list[SpeakingLine]
    speakers: list[SpeakerTotal]
    documents: list[DocumentLine]
    votes: list[VoteLine]
    chat: list[ChatLine]
    alerts: list[AlertLine]
    alerts_note: str  # how complete the alerts are (they are not kept per meeting)
    recordings: list[RecordingLink]
