"""What a store operation raises when it cannot be done (every engine, every aggregate)."""

from __future__ import annotations


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
    """Registering one more camera would pass a limit (see :class:`~conference.store.feeds.FeedLimits`).

    ``code`` is stable for clients: ``too-many-feeds`` (the server's) or
    ``too-many-unit-feeds`` (the unit's); ``limit`` is the number reached.
    """

    def __init__(self, code: str, limit: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit
