"""Who may do what: roles and unit scope, in one place.

A host's scope is the subtree of its unit: a district host convenes its
district and its communes. Sites above it (the province hall) can be invited
only when a host of that level granted it. Every check here is called by the
service layer, so the REST API, the pages and the sockets agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from conference.store import AccountRole, Feed, Meeting, Site, Store, UnitNotFound, User


class Forbidden(Exception):
    """Authenticated, but not allowed; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """The account behind a request."""

    username: str
    display_name: str
    role: AccountRole
    unit_code: str | None

    @classmethod
    def of(cls, user: User) -> Principal:
        """The principal of a stored account."""
        return cls(user.username, user.display_name, user.role, user.unit_code)

    @property
    def is_admin(self) -> bool:
        """Administrators may do everything."""
        return self.role is AccountRole.ADMIN


def require_role(principal: Principal, *roles: AccountRole) -> None:
    """Raise :class:`Forbidden` unless the principal has one of ``roles`` (admins always do)."""
    if principal.is_admin or principal.role in roles:
        return
    allowed = ", ".join(r.value for r in roles) or "admin"
    raise Forbidden(
        "role-forbidden", f"this needs the role {allowed}; you are {principal.role.value}"
    )


async def in_subtree(store: Store, unit_code: str, root_code: str) -> bool:
    """Whether ``unit_code`` is ``root_code`` or below it."""
    if unit_code == root_code:
        return True
    try:
        chain = await store.ancestors(unit_code)
    except UnitNotFound:
        return False
    return any(unit.code == root_code for unit in chain)


async def require_scope(store: Store, principal: Principal, unit_code: str) -> None:
    """Raise :class:`Forbidden` unless ``unit_code`` is within the principal's unit."""
    if principal.is_admin:
        return
    if principal.unit_code is None or not await in_subtree(store, unit_code, principal.unit_code):
        raise Forbidden("out-of-scope", f"unit {unit_code} is outside your unit's scope")


async def check_invitations(store: Store, principal: Principal, sites: Sequence[Site]) -> None:
    """A host may invite sites of its subtree, and sites above it it was granted."""
    if principal.is_admin:
        return
    assert principal.unit_code is not None
    granted = {g.unit_code for g in await store.grants_to(principal.unit_code)}
    refused = []
    for site in sites:
        if site.unit_code in granted:
            continue
        if not await in_subtree(store, site.unit_code, principal.unit_code):
            refused.append(site.id)
    if refused:
        raise Forbidden(
            "out-of-scope",
            "these sites are outside your unit's scope (a host of their level must allow "
            f"inviting them): {', '.join(refused[:10])}" + (" ..." if len(refused) > 10 else ""),
        )


async def can_manage_meeting(store: Store, principal: Principal, meeting: Meeting) -> bool:
    """Admins, the creator, and hosts whose scope holds the host site."""
    if principal.is_admin or principal.username == meeting.created_by:
        return True
    if principal.role is not AccountRole.HOST or principal.unit_code is None:
        return False
    site = await store.get_site(meeting.host_site)
    return await in_subtree(store, site.unit_code, principal.unit_code)


async def can_view_meeting(
    store: Store, principal: Principal, meeting: Meeting, invited: Iterable[str]
) -> bool:
    """Managers; site accounts of an invited or hosting site; viewers of the host's scope."""
    if await can_manage_meeting(store, principal, meeting):
        return True
    if principal.unit_code is None:
        return False
    if principal.role is AccountRole.SITE:
        return principal.unit_code == meeting.host_site or principal.unit_code in set(invited)
    if principal.role is AccountRole.VIEWER:
        site = await store.get_site(meeting.host_site)
        return await in_subtree(store, site.unit_code, principal.unit_code)
    return False


async def check_grant(
    store: Store, principal: Principal, unit_code: str, grantee_unit: str
) -> None:
    """Only a host of ``unit_code``'s level (or above) may let a lower unit invite it."""
    require_role(principal, AccountRole.HOST)
    await require_scope(store, principal, unit_code)
    if grantee_unit == unit_code or not await in_subtree(store, grantee_unit, unit_code):
        raise Forbidden(
            "bad-grant", "a grant lets a unit below invite this one: pick a unit below it"
        )


# -- checkpoint cameras -------------------------------------------------------------------

FEED_ROLES = (AccountRole.HOST, AccountRole.OPERATOR)  # and administrators


async def can_see_feed(store: Store, principal: Principal, feed: Feed) -> bool:
    """Admins; hosts and operators whose unit holds the feed's.

    A feed of no unit is nobody's district: administrators only (it could
    carry any camera, and its address a password).
    """
    return await _in_feed_scope(store, principal, feed.unit_code)


class UnitKept(Protocol):
    """A record kept for a unit (a plate event: see :mod:`anpr_feed.events_store`)."""

    @property
    def unit_code(self) -> str | None:
        """The unit whose subtree may see the record (None: administrators only)."""
        ...


async def can_see_plate_event(store: Store, principal: Principal, event: UnitKept) -> bool:
    """A plate event (and its pictures) by the unit kept with it, never by today's feeds.

    Admins; hosts and operators whose unit holds the event's. An event of no
    unit (its camera had none, or was gone when units were first kept):
    administrators only.
    """
    return await _in_feed_scope(store, principal, event.unit_code)


async def plate_event_scope(store: Store, principal: Principal) -> list[str] | None:
    """The units whose plate events ``principal`` may search (None: every event, admins)."""
    if principal.is_admin:
        return None
    if principal.role not in FEED_ROLES or principal.unit_code is None:
        return []
    try:
        return [unit.code for unit in await store.subtree(principal.unit_code)]
    except UnitNotFound:
        return []


async def _in_feed_scope(store: Store, principal: Principal, unit_code: str | None) -> bool:
    if principal.is_admin:
        return True
    if principal.role not in FEED_ROLES or unit_code is None or principal.unit_code is None:
        return False
    return await in_subtree(store, unit_code, principal.unit_code)


async def check_feed_admin(store: Store, principal: Principal, unit_code: str | None) -> None:
    """Register or remove a camera: admins, or a host or operator within its unit's scope."""
    require_role(principal, *FEED_ROLES)
    if principal.is_admin:
        return
    if unit_code is None:
        raise Forbidden("unit-required", "give the unit the checkpoint belongs to")
    await require_scope(store, principal, unit_code)


def check_file_feed(principal: Principal) -> None:
    """A feed read from a file on the server: administrators only.

    The file is on the server's disk (in the feed files folder): choosing one
    is the machine's business, not a checkpoint's.
    """
    if not principal.is_admin:
        raise Forbidden(
            "admin-only",
            "only administrators may register a file as a feed; "
            "cameras are rtsp://, rtsps:// or http(s):// URLs",
        )


def check_supervisor(principal: Principal) -> None:
    """The watch list and outbreak provinces: the operators' supervisors (hosts) and admins."""
    require_role(principal, AccountRole.HOST)


async def can_remove_listing(store: Store, principal: Principal, unit_code: str | None) -> bool:
    """Take a plate or an outbreak province off the lists that ``unit_code`` put it on.

    Every camera alerts on every entry (a wanted vehicle is wanted at every
    checkpoint), but an entry is its unit's: admins and the hosts of that unit
    or of a unit above it may remove it; a neighbouring district may not. An
    entry an admin made (no unit) is removed by admins only.
    """
    if principal.is_admin:
        return True
    if principal.role is not AccountRole.HOST or principal.unit_code is None or unit_code is None:
        return False
    return await in_subtree(store, unit_code, principal.unit_code)
