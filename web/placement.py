"""Sending a site to its meeting's home node: 307 for WHIP/WHEP and the join page.

Only with Redis (a cluster); alone, every room is at home here. Asked after
the token was verified, so an anonymous request never makes a node claim a room.
"""

from __future__ import annotations

from aiohttp import web

from web.keys import SERVICES


async def home_elsewhere(request: web.Request, room_id: str) -> str | None:
    """The base URL of ``room_id``'s home if it is another live node, else None (here)."""
    cluster = request.app[SERVICES].cluster
    if cluster is None:
        return None
    return await cluster.placement.home_elsewhere(room_id)


async def redirect_to_home(
    request: web.Request, room_id: str, headers: dict[str, str] | None = None
) -> None:
    """Raise ``307 Temporary Redirect`` to the same path and query on the home, if elsewhere.

    307 keeps the method and the body (RFC 9110 15.4.8), as WHIP and WHEP
    clients need (RFC 9725 4.5).
    """
    home = await home_elsewhere(request, room_id)
    if home is not None:
        raise web.HTTPTemporaryRedirect(home + request.path_qs, headers=headers)
