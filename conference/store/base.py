"""The ``Store``: every aggregate's protocol in one, for callers that need several.

Each aggregate has its records and a small protocol in its own module
(:mod:`~conference.store.rooms`, :mod:`~conference.store.units`,
:mod:`~conference.store.accounts`, :mod:`~conference.store.attempts`,
:mod:`~conference.store.meetings`, :mod:`~conference.store.grants`,
:mod:`~conference.store.attendance`, :mod:`~conference.store.feeds`,
:mod:`~conference.store.meta`). Two engines implement them side by side:
:mod:`conference.store.sqlite` (the embedded default) and
:mod:`conference.store.redis` (several nodes), one file per aggregate. One
contract test suite per protocol (``tests/store_contracts/``) runs against
both. A new caller asks for the smallest protocol it needs.

This module also re-exports the records, for the callers that import them
from here.
"""

from __future__ import annotations

from typing import Protocol

from conference.store.accounts import (
    USERNAME_PATTERN,
    AccountRole,
    AccountStore,
    Login,
    User,
    login_key,
)
from conference.store.attempts import Attempt, AttemptStore, Backoff, backoff_wait
from conference.store.attendance import AttendanceRecord, AttendanceStore
from conference.store.errors import (
    Conflict,
    FeedLimitReached,
    MeetingNotFound,
    NotFound,
    RoomNotFound,
    StoreError,
    UnitNotFound,
)
from conference.store.feeds import Feed, FeedLimits, FeedStore
from conference.store.grants import Grant, GrantStore
from conference.store.meetings import Meeting, MeetingStore
from conference.store.meta import MetaStore
from conference.store.rooms import ROOM_ID_PATTERN, Room, RoomStore, new_room_id
from conference.store.units import Site, Unit, UnitDirectory, batch_cycle, default_site

__all__ = [
    "ROOM_ID_PATTERN",
    "USERNAME_PATTERN",
    "AccountRole",
    "AccountStore",
    "Attempt",
    "AttemptStore",
    "AttendanceRecord",
    "AttendanceStore",
    "Backoff",
    "Conflict",
    "Feed",
    "FeedLimitReached",
    "FeedLimits",
    "FeedStore",
    "Grant",
    "GrantStore",
    "Login",
    "Meeting",
    "MeetingNotFound",
    "MeetingStore",
    "MetaStore",
    "NotFound",
    "Room",
    "RoomNotFound",
    "RoomStore",
    "Site",
    "Store",
    "StoreError",
    "Unit",
    "UnitDirectory",
    "UnitNotFound",
    "User",
    "backoff_wait",
    "batch_cycle",
    "default_site",
    "login_key",
    "new_room_id",
]


class Store(
    RoomStore,
    UnitDirectory,
    AccountStore,
    AttemptStore,
    MeetingStore,
    GrantStore,
    AttendanceStore,
    FeedStore,
    MetaStore,
    Protocol,
):
    """Persistent state. Every method is safe to call from the event loop."""

    async def close(self) -> None:
        """Release the engine's resources."""
        ...
