"""State behind small protocols, one per aggregate; engines live side by side in this package.

:class:`Store` is their union (see :mod:`conference.store.base`);
:func:`open_store` picks the engine. Plate events, the watch list and outbreak
provinces are not here: they live with the cameras, in
:mod:`anpr_feed.events_store`.
"""

from __future__ import annotations

from pathlib import Path

from conference.store.accounts import AccountRole, AccountStore, Login, User, login_key
from conference.store.attempts import Attempt, AttemptStore, Backoff
from conference.store.attendance import AttendanceRecord, AttendanceStore
from conference.store.base import Store
from conference.store.chat import Audience, ChatMessage, ChatStore
from conference.store.documents import Document, DocumentStore
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
from conference.store.meeting_alerts import MeetingAlert, MeetingAlertStore
from conference.store.meetings import Meeting, MeetingStore
from conference.store.meta import MetaStore
from conference.store.room_feeds import RoomFeed, RoomFeedStore
from conference.store.rooms import Room, RoomStore
from conference.store.speaking import SpeakingInterval, SpeakingStore
from conference.store.sqlite import SqliteStore
from conference.store.units import Site, Unit, UnitDirectory
from conference.store.votes import (
    AlreadyVoted,
    Ballot,
    Vote,
    VoteClosed,
    VoteNotFound,
    VoteResult,
    VoteStore,
)

__all__ = [
    "AccountRole",
    "AccountStore",
    "AlreadyVoted",
    "Attempt",
    "AttemptStore",
    "AttendanceRecord",
    "AttendanceStore",
    "Audience",
    "Backoff",
    "Ballot",
    "ChatMessage",
    "ChatStore",
    "Conflict",
    "Document",
    "DocumentStore",
    "Feed",
    "FeedLimitReached",
    "FeedLimits",
    "FeedStore",
    "Grant",
    "GrantStore",
    "Login",
    "Meeting",
    "MeetingAlert",
    "MeetingAlertStore",
    "MeetingNotFound",
    "MeetingStore",
    "MetaStore",
    "NotFound",
    "Room",
    "RoomFeed",
    "RoomFeedStore",
    "RoomNotFound",
    "RoomStore",
    "Site",
    "SpeakingInterval",
    "SpeakingStore",
    "SqliteStore",
    "Store",
    "StoreError",
    "Unit",
    "UnitDirectory",
    "UnitNotFound",
    "User",
    "Vote",
    "VoteClosed",
    "VoteNotFound",
    "VoteResult",
    "VoteStore",
    "login_key",
    "open_store",
]


def open_store(
    data_dir: Path | str, redis_url: str | None = None, redis_prefix: str = "conference:"
) -> Store:
    """The Redis engine when ``redis_url`` is given, else SQLite in ``data_dir``."""
    if redis_url:
        from conference.store.redis import RedisStore

        return RedisStore(redis_url, prefix=redis_prefix)
    return SqliteStore(Path(data_dir) / "conference.sqlite3")
