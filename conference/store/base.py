"""The ``Store`` protocol and the records it keeps.

Two engines implement it side by side: :mod:`conference.store.sqlite` (the
embedded default) and :mod:`conference.store.redis` (several nodes). One
contract test suite (``tests/test_store_contract.py``) runs against both.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from conference.settings import VideoCodec

ROOM_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class StoreError(Exception):
    """A store operation that cannot be done; the message is for people."""


class NotFound(StoreError):
    """No record with that key."""


class RoomNotFound(NotFound):
    """No room has that id."""


class UnitNotFound(NotFound):
    """No administrative unit has that code."""


class MeetingNotFound(NotFound):
    """No scheduled meeting has that id."""


class Conflict(StoreError):
    """The record clashes with one already stored (duplicate, overlap)."""


class FeedLimitReached(Conflict):
    """Registering one more camera would pass a limit (see :class:`FeedLimits`).

    ``code`` is stable for clients: ``too-many-feeds`` (the server's) or
    ``too-many-unit-feeds`` (the unit's); ``limit`` is the number reached.
    """

    def __init__(self, code: str, limit: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit


class AccountRole(StrEnum):
    """What an account may do (see ``conference/permissions.py``)."""

    ADMIN = "admin"
    HOST = "host"  # convenes meetings for its unit's subtree
    SITE = "site"  # a unit's meeting room
    VIEWER = "viewer"
    OPERATOR = "operator"  # checkpoint cameras


@dataclass(frozen=True, slots=True)
class Room:
    """A meeting room: a place sites join, with one video codec for all."""

    id: str
    name: str
    codec: VideoCodec
    created_at: float


@dataclass(frozen=True, slots=True)
class Unit:
    """An administrative unit (province, district, commune... any depth)."""

    code: str
    name: str
    type: str
    parent: str | None
    depth: int  # 0 for a root
    position: int = 0  # order among its siblings, as in the source file


@dataclass(frozen=True, slots=True)
class Site:
    """A meeting room of a unit ("điểm cầu"). Every unit has one with id = its code."""

    id: str
    unit_code: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    """An account."""

    username: str
    display_name: str
    role: AccountRole
    unit_code: str | None  # scope of a host, room of a site account
    password_hash: str
    created_at: float
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Login:
    """A browser's logged-in session (the cookie holds its id).

    Engines keep only :func:`login_key` of the id, never the id itself: a copy
    of the store (a backup, a readable file) opens no session.
    """

    id: str
    username: str
    csrf_token: str
    created_at: float
    expires_at: float


def login_key(login_id: str) -> str:
    """What an engine stores in place of a login id: its SHA-256, in hex."""
    return hashlib.sha256(login_id.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often attempts under one key may come (see :meth:`Store.take_attempt`).

    The first ``free`` attempts go back to back; after the ``free``-th the
    next one waits ``delay`` seconds, and each further one twice as long as
    the one before, up to ``max_delay``. A key is forgotten ``window``
    seconds after its last counted attempt (or once its wait is over, if
    that is later).
    """

    free: int
    delay: float
    max_delay: float
    window: float


def backoff_wait(backoff: Backoff, count: int) -> float:
    """The wait after the ``count``-th attempt under a key (both engines use this rule)."""
    if count < backoff.free:
        return 0.0
    return float(min(backoff.max_delay, backoff.delay * 2.0 ** min(count - backoff.free, 60)))


@dataclass(frozen=True, slots=True)
class Attempt:
    """The answer of :meth:`Store.take_attempt`."""

    granted: bool
    count: int  # attempts counted under the key, this one included when granted
    wait: float  # refused: seconds until one is allowed; granted: before the next one is


@dataclass(frozen=True, slots=True)
class Meeting:
    """A scheduled multi-site session."""

    id: str
    title: str
    agenda: str
    start: float  # unix seconds
    end: float
    host_site: str
    created_by: str
    room_id: str
    created_at: float
    auto_record: bool = False
    cancelled_at: float | None = None

    def overlaps(self, start: float, end: float) -> bool:
        """Whether [start, end) meets this meeting's window."""
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True)
class Grant:
    """A host of ``unit_code`` lets hosts of ``grantee_unit`` invite its sites."""

    unit_code: str
    grantee_unit: str
    granted_by: str
    created_at: float = field(default=0.0)


@dataclass(frozen=True, slots=True)
class Feed:
    """A checkpoint camera."""

    id: str
    name: str
    checkpoint: str  # the checkpoint's name, e.g. "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên"
    location: str
    url: str  # rtsp://, http(s):// (MJPEG or a file), or a local file
    unit_code: str | None  # the unit the checkpoint belongs to (scope of its operators)
    created_at: float
    created_by: str
    passthrough: bool = False  # an H.264 camera forwarded as it is (no annotation)


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How many cameras may be registered: in all, and for one unit.

    Each feed runs a process that keeps about one core busy at 720p25 and
    holds some 180 MiB, whether its camera answers or not.
    """

    total: int  # CONFERENCE_MAX_FEEDS
    per_unit: int  # CONFERENCE_MAX_FEEDS_PER_UNIT (a feed of no unit counts in the total only)

    def refusal(self, feed: Feed, total: int, in_unit: int) -> FeedLimitReached | None:
        """Why ``feed`` may not join ``total`` feeds (``in_unit`` of its unit), or None."""
        if total >= self.total:
            return FeedLimitReached(
                "too-many-feeds",
                self.total,
                f"this server runs at most {self.total} camera feeds (CONFERENCE_MAX_FEEDS); "
                "remove one, or have the administrator raise the limit for a larger machine",
            )
        if feed.unit_code is not None and in_unit >= self.per_unit:
            return FeedLimitReached(
                "too-many-unit-feeds",
                self.per_unit,
                f"unit {feed.unit_code} already has {self.per_unit} camera feeds, its limit "
                "(CONFERENCE_MAX_FEEDS_PER_UNIT); remove one first",
            )
        return None


@dataclass(frozen=True, slots=True)
class PlateEvent:
    """One vehicle pass read at a checkpoint."""

    id: str
    feed_id: str
    checkpoint: str
    at: float  # unix seconds
    plate: str  # normalised, e.g. "20A12345"
    display: str  # e.g. "20A-123.45"
    province_code: str
    confidence: float
    crop: str | None = None  # file name of the plate crop (JPEG) under DATA_DIR/anpr
    thumbnail: str | None = None  # file name of the frame thumbnail (JPEG)
    alert: str | None = None  # why it raised an alert, if it did
    colour: str | None = None  # plate background where the reader saw it: see PLATE_COLOURS
    # The unit of the camera's checkpoint when the pass was read: who may see the
    # event (its subtree's hosts and operators), whatever becomes of the camera.
    # None (a camera of no unit, or the camera was gone when units were first
    # kept): administrators only.
    unit_code: str | None = None


# Plate backgrounds (Circular 58/2020/TT-BCA art. 25): white private, yellow
# commercial transport, blue state bodies, red military.
PLATE_COLOURS = ("white", "yellow", "blue", "red")


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """A plate (exact, or with * and ? wildcards) to raise an alert for."""

    id: str
    pattern: str  # normalised upper case, e.g. "30A12345", "29A*", "*8888"
    reason: str
    created_by: str
    created_at: float
    unit_code: str | None = None  # the unit of the supervisor who listed it (None: an admin)


@dataclass(frozen=True, slots=True)
class Outbreak:
    """A province marked as an outbreak zone for a date range (inclusive)."""

    id: str
    province_code: str
    start: str  # ISO date, e.g. "2021-11-01"
    end: str
    reason: str
    created_by: str
    created_at: float
    unit_code: str | None = None  # the unit of the supervisor who marked it (None: an admin)


def plate_query(text: str | None) -> str:
    """What part of a plate a search means: upper case letters and digits only (both engines)."""
    if not text:
        return ""
    return "".join(ch for ch in text.upper().replace("Đ", "D") if ch.isascii() and ch.isalnum())[
        :16
    ]


def new_room_id() -> str:
    """A short id that is safe in URLs and easy to read out on the phone."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return (
        "".join(secrets.choice(alphabet) for _ in range(4))
        + "-"
        + "".join(secrets.choice(alphabet) for _ in range(4))
    )


def batch_cycle(units: Sequence[Unit]) -> str | None:
    """A unit of ``units`` that would be its own ancestor through the batch, else None.

    Stored units form a tree, so a cycle through stored units needs a moved
    unit too: engines check moves against the stored subtree separately.
    """
    parent = {u.code: u.parent for u in units}
    for code in parent:
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current in parent:
            if current in seen:
                return code
            seen.add(current)
            current = parent[current]
    return None


def default_site(unit: Unit) -> Site:
    """The meeting room every unit gets on import."""
    return Site(id=unit.code, unit_code=unit.code, name=unit.name)


class Store(Protocol):
    """Persistent state. Every method is safe to call from the event loop."""

    # -- rooms ----------------------------------------------------------------------------

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        """Create and return a room; ``room_id`` must be unused if given."""
        ...

    async def get_room(self, room_id: str) -> Room:
        """Return the room or raise :class:`RoomNotFound`."""
        ...

    async def list_rooms(self) -> list[Room]:
        """All rooms, oldest first."""
        ...

    async def delete_room(self, room_id: str) -> None:
        """Delete a room or raise :class:`RoomNotFound`."""
        ...

    # -- units and sites --------------------------------------------------------------

    async def upsert_units(self, units: Sequence[Unit]) -> int:
        """Add or update units (parents before children) and their default sites.

        A unit's parent must exist in the store or earlier in ``units``.
        Returns how many units were written. All or nothing.
        """
        ...

    async def get_unit(self, code: str) -> Unit:
        """The unit or :class:`UnitNotFound`."""
        ...

    async def get_units(self, codes: Sequence[str]) -> dict[str, Unit]:
        """The units that exist among ``codes``."""
        ...

    async def children(self, code: str | None) -> list[Unit]:
        """Direct children in source order (``None``: the roots)."""
        ...

    async def subtree(self, code: str) -> list[Unit]:
        """The unit and everything below it, parents before children."""
        ...

    async def ancestors(self, code: str) -> list[Unit]:
        """The chain above the unit, root first (empty for a root)."""
        ...

    async def count_units(self) -> int:
        """How many units are stored."""
        ...

    async def get_site(self, site_id: str) -> Site:
        """The site or :class:`NotFound`."""
        ...

    async def sites_of(self, unit_codes: Sequence[str]) -> list[Site]:
        """The sites of these units, in the order of ``unit_codes``."""
        ...

    async def add_site(self, site: Site) -> None:
        """A further meeting room of a unit; :class:`Conflict` if the id is taken."""
        ...

    # -- accounts --------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        """Store a new account; :class:`Conflict` if the username is taken."""
        ...

    async def get_user(self, username: str) -> User | None:
        """The account, or None."""
        ...

    async def list_users(self) -> list[User]:
        """Every account, by username."""
        ...

    async def update_user(self, user: User) -> None:
        """Replace an existing account; :class:`NotFound` if there is none."""
        ...

    async def create_login(self, login: Login) -> None:
        """Store a logged-in session."""
        ...

    async def get_login(self, login_id: str, now: float) -> Login | None:
        """The session if it exists and has not expired at ``now``."""
        ...

    async def delete_login(self, login_id: str) -> None:
        """Forget a session (logout); no error if unknown."""
        ...

    # -- attempt counters (login throttling, shared by every process) ---------------

    async def take_attempt(self, key: str, now: float, backoff: Backoff) -> Attempt:
        """Count one attempt under ``key`` if ``backoff`` allows one at ``now``.

        Atomic across processes and nodes: of many concurrent callers, only
        as many are granted as the backoff allows. A refused attempt is not
        counted and changes nothing.
        """
        ...

    async def return_attempt(self, key: str, forget: bool = False) -> None:
        """Give back one counted attempt under ``key`` or, with ``forget``, the whole key."""
        ...

    # -- meetings --------------------------------------------------------------------

    async def create_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Store a meeting and its invitations atomically.

        :class:`Conflict` if another meeting of the same host site, not
        cancelled, overlaps its window.
        """
        ...

    async def update_meeting(self, meeting: Meeting, site_ids: Sequence[str]) -> None:
        """Replace a meeting and its invitations, with the same overlap rule."""
        ...

    async def get_meeting(self, meeting_id: str) -> Meeting:
        """The meeting or :class:`MeetingNotFound`."""
        ...

    async def list_meetings(self, start_from: float, start_to: float) -> list[Meeting]:
        """Meetings (cancelled ones included) whose window meets [start_from, start_to), by start."""
        ...

    async def invitations(self, meeting_id: str) -> list[str]:
        """Invited site ids, in the order they were given."""
        ...

    async def meetings_for_site(
        self, site_id: str, start_from: float, start_to: float
    ) -> list[Meeting]:
        """Meetings the site is invited to or hosts, meeting [start_from, start_to), by start."""
        ...

    # -- upward invitations ----------------------------------------------------------

    async def add_grant(self, grant: Grant) -> None:
        """Record a grant (idempotent)."""
        ...

    async def remove_grant(self, unit_code: str, grantee_unit: str) -> None:
        """Withdraw a grant; no error if absent."""
        ...

    async def grants_to(self, grantee_unit: str) -> list[Grant]:
        """Grants received by hosts of ``grantee_unit``."""
        ...

    async def grants_from(self, unit_code: str) -> list[Grant]:
        """Grants given for ``unit_code``'s sites."""
        ...

    # -- checkpoint cameras -------------------------------------------------------------

    async def create_feed(self, feed: Feed, limits: FeedLimits | None = None) -> None:
        """Register a camera; :class:`Conflict` if the id is taken.

        With ``limits``, counting the feeds and adding this one is atomic:
        :class:`FeedLimitReached` if it would pass either limit.
        """
        ...

    async def get_feed(self, feed_id: str) -> Feed:
        """The feed or :class:`NotFound`."""
        ...

    async def list_feeds(self) -> list[Feed]:
        """Every feed, by checkpoint then name."""
        ...

    async def delete_feed(self, feed_id: str) -> None:
        """Remove a feed (its events stay); :class:`NotFound` if unknown."""
        ...

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        """Store vehicle passes (ids unique)."""
        ...

    async def search_plate_events(
        self,
        plate: str | None = None,
        start: float | None = None,
        end: float | None = None,
        checkpoint: str | None = None,
        limit: int = 100,
        feed_ids: Sequence[str] | None = None,
        unit_codes: Sequence[str] | None = None,
    ) -> list[PlateEvent]:
        """Passes whose plate contains ``plate`` (any part of it), newest first.

        ``feed_ids`` limits the search to those cameras; ``unit_codes`` to the
        events kept for those units (a caller's scope: an event of no unit is
        in none).
        """
        ...

    async def get_plate_event(self, event_id: str) -> PlateEvent:
        """One pass or :class:`NotFound`."""
        ...

    async def delete_plate_events_before(self, before: float) -> list[PlateEvent]:
        """Remove passes older than ``before`` (retention); returns them (for their files)."""
        ...

    async def count_plate_events(self) -> int:
        """How many passes are stored."""
        ...

    async def add_watch(self, entry: WatchEntry) -> None:
        """Add a watch-list entry; :class:`Conflict` if the pattern is already listed."""
        ...

    async def list_watch(self) -> list[WatchEntry]:
        """The watch list, by pattern."""
        ...

    async def delete_watch(self, entry_id: str) -> None:
        """Remove an entry; :class:`NotFound` if unknown."""
        ...

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        """Mark a province as an outbreak zone for a date range."""
        ...

    async def list_outbreaks(self) -> list[Outbreak]:
        """Every outbreak marking, by start date."""
        ...

    async def delete_outbreak(self, outbreak_id: str) -> None:
        """Remove a marking; :class:`NotFound` if unknown."""
        ...

    # -- service state ---------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A small piece of service state (for example the demo room's id)."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small piece of service state."""
        ...

    async def close(self) -> None:
        """Release the engine's resources."""
        ...
