"""Who a meeting invites: its sites as the roll call knows them, and whether one still is."""

from __future__ import annotations

from conference.rooms.roll_call import InvitedSite
from conference.store import Meeting, NotFound, Store


async def invited_sites(store: Store, meeting: Meeting) -> list[InvitedSite]:
    """Every site invited to ``meeting`` (the host site first if it is not on the list).

    Sites deleted since the invitation are left out; each carries its unit's
    depth and type, which order and group the roll call.
    """
    site_ids = await store.invitations(meeting.id)
    if meeting.host_site not in site_ids:
        site_ids.insert(0, meeting.host_site)
    sites = []
    for site_id in site_ids:
        try:
            sites.append(await store.get_site(site_id))
        except NotFound:
            continue
    units = await store.get_units([s.unit_code for s in sites])
    return [
        InvitedSite(
            s.id,
            s.name,
            s.unit_code,
            units[s.unit_code].depth if s.unit_code in units else 0,
            units[s.unit_code].type if s.unit_code in units else "",
        )
        for s in sites
    ]


async def still_invited(store: Store, meeting: Meeting, site_id: str) -> bool:
    """Whether ``site_id`` is (still) on the meeting's list; the host site always is."""
    return site_id == meeting.host_site or site_id in await store.invitations(meeting.id)
