"""The ``Store``: every aggregate's protocol in one, for callers that need several.

Each aggregate has its records and a small protocol in its own module
(:mod:`~conference.store.rooms`, :mod:`~conference.store.units`,
:mod:`~conference.store.accounts`, :mod:`~conference.store.attempts`,
:mod:`~conference.store.meetings`, :mod:`~conference.store.grants`,
:mod:`~conference.store.attendance`, :mod:`~conference.store.documents`,
:mod:`~conference.store.chat`, :mod:`~conference.store.votes`,
:mod:`~conference.store.speaking`, :mod:`~conference.store.meeting_alerts`,
:mod:`~conference.store.feeds`,
:mod:`~conference.store.room_feeds`, :mod:`~conference.store.meta`). Two engines implement them side by side:
:mod:`conference.store.sqlite` (the embedded default) and
:mod:`conference.store.redis` (several nodes), one file per aggregate. One
contract test suite per protocol (``tests/store_contracts/``) runs against
both. A new caller asks for the smallest protocol it needs.

A few names callers imported from here before the split are re-exported;
new code imports records from :mod:`conference.store` or their own module.
"""

from __future__ import annotations

from typing import Protocol

from conference.store.accounts import USERNAME_PATTERN as USERNAME_PATTERN
from conference.store.accounts import AccountRole as AccountRole
from conference.store.accounts import AccountStore
from conference.store.attempts import AttemptStore
from conference.store.attendance import AttendanceStore
from conference.store.chat import ChatStore
from conference.store.documents import DocumentStore
from conference.store.errors import FeedLimitReached as FeedLimitReached
from conference.store.feeds import FeedLimits as FeedLimits
from conference.store.feeds import FeedStore
from conference.store.grants import GrantStore
from conference.store.meeting_alerts import MeetingAlertStore
from conference.store.meetings import MeetingStore
from conference.store.meta import MetaStore
from conference.store.room_feeds import RoomFeedStore
from conference.store.rooms import RoomStore
from conference.store.speaking import SpeakingStore
from conference.store.units import UnitDirectory
from conference.store.votes import VoteStore


class Store(
    RoomStore,
    UnitDirectory,
    AccountStore,
    AttemptStore,
    MeetingStore,
    GrantStore,
    AttendanceStore,
    DocumentStore,
    ChatStore,
    VoteStore,
    SpeakingStore,
    MeetingAlertStore,
    FeedStore,
    RoomFeedStore,
    MetaStore,
    Protocol,
):
    """Persistent state. Every method is safe to call from the event loop."""

    async def close(self) -> None:
        """Release the engine's resources."""
        ...
