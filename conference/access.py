"""Who may come in: a join token checked against its room, its meeting and the live room."""

from __future__ import annotations

import time
from collections.abc import Callable

from conference.invitations import still_invited
from conference.meetings import OPEN_LEAD_SECONDS
from conference.permissions import Forbidden
from conference.rooms.room import Room, RoomRefused
from conference.store import MeetingNotFound, Store
from conference.store import Room as RoomRecord
from conference.tokens import TokenClaims, verify_token


class Access:
    """Checks join tokens (browser, WHIP, WHEP) before a site gets a connection."""

    def __init__(
        self, secret: bytes, store: Store, live_room: Callable[[str], Room | None]
    ) -> None:
        self.secret = secret
        self.store = store
        self._live_room = live_room

    async def authorize(
        self, token: str, room_id: str | None = None
    ) -> tuple[TokenClaims, RoomRecord]:
        """Verify a token (for ``room_id`` if given) and load its room.

        A token of a scheduled meeting is good only while its room is open and
        the meeting is not cancelled; a removed site, or a new one in a locked
        room, is refused. Raises :class:`TokenError`, :class:`Forbidden` or
        ``RoomNotFound``.
        """
        claims = verify_token(self.secret, token)
        if room_id is not None and claims.room != room_id:
            raise Forbidden("wrong-room", "this token is for another room")
        record = await self.store.get_room(claims.room)
        if claims.mtg is not None:
            try:
                meeting = await self.store.get_meeting(claims.mtg)
            except MeetingNotFound as exc:
                raise Forbidden("meeting-not-found", "this meeting no longer exists") from exc
            now = time.time()
            if meeting.room_id != record.id:
                raise Forbidden("wrong-room", "this token is for another meeting")
            if meeting.cancelled_at is not None:
                raise Forbidden("meeting-cancelled", "this meeting was cancelled")
            if now >= meeting.end:
                raise Forbidden("meeting-ended", "this meeting has ended")
            if now < meeting.start - OPEN_LEAD_SECONDS:
                raise Forbidden("meeting-not-open", "the meeting room is not open yet")
            # A meeting's link is one invitation: it lapses when the site is taken
            # off the list, however long the signed token would still run.
            if not await still_invited(self.store, meeting, claims.sub):
                raise Forbidden("not-invited", "this site is no longer invited to the meeting")
        room = self._live_room(record.id)
        if room is not None:
            try:
                room.admit(claims.sub)
            except RoomRefused as exc:
                raise Forbidden(exc.code, exc.message) from exc
        return claims, record
