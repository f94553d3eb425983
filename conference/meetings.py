"""Scheduling multi-site meetings: validation, scope, invitations and join links."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from conference.permissions import (
    Forbidden,
    Principal,
    can_manage_meeting,
    can_view_meeting,
    check_invitations,
    require_role,
    require_scope,
)
from conference.settings import VideoCodec
from conference.store import (
    AccountRole,
    Conflict,
    Meeting,
    NotFound,
    Site,
    Store,
    StoreError,
)
from conference.tokens import Role, issue_token

OPEN_LEAD_SECONDS = 15 * 60  # the room opens this long before the start
CLOSE_WARNING_SECONDS = 5 * 60  # participants are warned this long before the end
MAX_DURATION_SECONDS = 24 * 3600
PAST_TOLERANCE_SECONDS = 5 * 60  # "now" in a form submitted a little late is fine
MAX_INVITED_SITES = 20_000


class MeetingError(ValueError):
    """A meeting request that cannot be accepted; ``code`` is stable, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MeetingRequest:
    """What a host fills in to schedule (or change) a meeting."""

    title: str
    start: float
    end: float
    host_site: str
    agenda: str = ""
    units: Sequence[str] = ()  # every site of these units is invited
    sites: Sequence[str] = ()  # and these sites
    auto_record: bool = False


@dataclass(frozen=True)
class MeetingView:
    """A meeting with its invited sites, as its viewers see it."""

    meeting: Meeting
    host: Site
    invited: list[Site]
    can_manage: bool


class MeetingService:
    """Schedules meetings within a host's scope and signs each site's join link."""

    def __init__(self, store: Store, secret: bytes, codec: VideoCodec = "vp8") -> None:
        self.store = store
        self.secret = secret
        self.codec = codec

    # -- scheduling ------------------------------------------------------------------

    async def _validate(
        self, principal: Principal, request: MeetingRequest, now: float
    ) -> tuple[Site, list[Site]]:
        require_role(principal, AccountRole.HOST)
        title = request.title.strip()
        if not title or len(title) > 200:
            raise MeetingError("bad-title", "the title must be 1 to 200 characters")
        if len(request.agenda) > 10_000:
            raise MeetingError("bad-agenda", "the agenda must be at most 10,000 characters")
        if request.end <= request.start:
            raise MeetingError("end-before-start", "the meeting must end after it starts")
        if request.end - request.start > MAX_DURATION_SECONDS:
            raise MeetingError("too-long", "a meeting can last at most 24 hours")
        if request.start < now - PAST_TOLERANCE_SECONDS:
            raise MeetingError("start-in-past", "the start time is in the past")
        try:
            host = await self.store.get_site(request.host_site)
        except NotFound as exc:
            raise MeetingError("unknown-site", f"no site {request.host_site!r}") from exc
        await require_scope(self.store, principal, host.unit_code)

        known = await self.store.get_units(list(request.units))
        unknown = [code for code in request.units if code not in known]
        if unknown:
            raise MeetingError("unknown-unit", f"no unit with code {', '.join(unknown[:10])}")
        sites: dict[str, Site] = {host.id: host}
        for site in await self.store.sites_of(list(request.units)):
            sites.setdefault(site.id, site)
        for site_id in request.sites:
            if site_id not in sites:
                try:
                    sites[site_id] = await self.store.get_site(site_id)
                except NotFound as exc:
                    raise MeetingError("unknown-site", f"no site {site_id!r}") from exc
        if len(sites) > MAX_INVITED_SITES:
            raise MeetingError("too-many-sites", f"at most {MAX_INVITED_SITES} sites per meeting")
        invited = list(sites.values())
        await check_invitations(self.store, principal, invited)
        return host, invited

    async def schedule(
        self, principal: Principal, request: MeetingRequest, now: float | None = None
    ) -> MeetingView:
        """Create a meeting, its room and its invitations."""
        now = time.time() if now is None else now
        host, invited = await self._validate(principal, request, now)
        room = await self.store.create_room(request.title.strip()[:120], self.codec)
        meeting = Meeting(
            id=room.id,
            title=request.title.strip(),
            agenda=request.agenda.strip(),
            start=request.start,
            end=request.end,
            host_site=host.id,
            created_by=principal.username,
            room_id=room.id,
            created_at=now,
            auto_record=request.auto_record,
        )
        try:
            await self.store.create_meeting(meeting, [s.id for s in invited])
        except Conflict as exc:
            await self.store.delete_room(room.id)
            raise MeetingError("overlap", str(exc)) from exc
        except StoreError:
            await self.store.delete_room(room.id)
            raise
        return MeetingView(meeting, host, invited, True)

    async def update(
        self,
        principal: Principal,
        meeting_id: str,
        request: MeetingRequest,
        now: float | None = None,
    ) -> MeetingView:
        """Change a meeting that has not ended; same rules as scheduling."""
        now = time.time() if now is None else now
        current = await self.store.get_meeting(meeting_id)
        if not await can_manage_meeting(self.store, principal, current):
            raise Forbidden("not-your-meeting", "you cannot change this meeting")
        if current.cancelled_at is not None or current.end <= now:
            raise MeetingError("meeting-over", "a cancelled or finished meeting cannot be changed")
        host, invited = await self._validate(principal, request, min(now, current.start))
        meeting = replace(
            current,
            title=request.title.strip(),
            agenda=request.agenda.strip(),
            start=request.start,
            end=request.end,
            host_site=host.id,
            auto_record=request.auto_record,
        )
        try:
            await self.store.update_meeting(meeting, [s.id for s in invited])
        except Conflict as exc:
            raise MeetingError("overlap", str(exc)) from exc
        return MeetingView(meeting, host, invited, True)

    async def cancel(
        self, principal: Principal, meeting_id: str, now: float | None = None
    ) -> Meeting:
        """Cancel a meeting (it stays listed, marked cancelled)."""
        meeting = await self.store.get_meeting(meeting_id)
        if not await can_manage_meeting(self.store, principal, meeting):
            raise Forbidden("not-your-meeting", "you cannot cancel this meeting")
        if meeting.cancelled_at is not None:
            return meeting
        cancelled = replace(meeting, cancelled_at=time.time() if now is None else now)
        await self.store.update_meeting(cancelled, await self.store.invitations(meeting_id))
        return cancelled

    # -- reading -----------------------------------------------------------------------

    async def view(self, principal: Principal, meeting_id: str) -> MeetingView:
        """A meeting and its invitations, if the principal may see it."""
        meeting = await self.store.get_meeting(meeting_id)
        invited_ids = await self.store.invitations(meeting_id)
        if not await can_view_meeting(self.store, principal, meeting, invited_ids):
            raise Forbidden("not-invited", "you cannot see this meeting")
        sites = {s.id: s for s in await self._sites(invited_ids)}
        host = sites.get(meeting.host_site) or await self.store.get_site(meeting.host_site)
        return MeetingView(
            meeting,
            host,
            [sites[i] for i in invited_ids if i in sites],
            await can_manage_meeting(self.store, principal, meeting),
        )

    async def _sites(self, site_ids: Sequence[str]) -> list[Site]:
        # Default sites have the id of their unit; fetch them in one batch.
        sites = {s.id: s for s in await self.store.sites_of(list(site_ids))}
        out = []
        for site_id in site_ids:
            if site_id not in sites:
                try:
                    sites[site_id] = await self.store.get_site(site_id)
                except NotFound:
                    continue
            out.append(sites[site_id])
        return out

    async def visible(
        self, principal: Principal, start_from: float, start_to: float
    ) -> list[Meeting]:
        """The meetings in a window that the principal may see, by start."""
        if principal.role is AccountRole.SITE:
            if principal.unit_code is None:
                return []
            return await self.store.meetings_for_site(principal.unit_code, start_from, start_to)
        if principal.role is AccountRole.OPERATOR:
            return []
        meetings = await self.store.list_meetings(start_from, start_to)
        if principal.is_admin:
            return meetings
        out = []
        for meeting in meetings:
            if await can_view_meeting(self.store, principal, meeting, ()):
                out.append(meeting)
        return out

    # -- join links ----------------------------------------------------------------------

    def site_token(self, meeting: Meeting, site: Site, now: float | None = None) -> str:
        """A join token for one site, valid from the room's opening to the meeting's end."""
        return issue_token(
            self.secret,
            room=meeting.room_id,
            name=site.name,
            role=Role.HOST if site.id == meeting.host_site else Role.PARTICIPANT,
            site_id=site.id,
            now=now,
            not_before=meeting.start - OPEN_LEAD_SECONDS,
            expires_at=meeting.end,
            meeting=meeting.id,
        )

    async def join_token(
        self, principal: Principal, meeting_id: str, site_id: str | None = None
    ) -> tuple[Meeting, str]:
        """The token a principal uses to join: its own site, or (hosts) any invited site."""
        view = await self.view(principal, meeting_id)
        if view.meeting.cancelled_at is not None:
            raise MeetingError("meeting-cancelled", "this meeting was cancelled")
        if principal.role is AccountRole.SITE:
            site_id = principal.unit_code
        site = next((s for s in [view.host, *view.invited] if s.id == site_id), None)
        if site is None:
            raise Forbidden("not-invited", "this site is not invited to the meeting")
        if principal.role is not AccountRole.SITE and not view.can_manage:
            raise Forbidden(
                "not-your-meeting", "only the meeting's hosts hand out other sites' links"
            )
        return view.meeting, self.site_token(view.meeting, site)
