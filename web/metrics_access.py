"""Who may read ``/metrics``: the machine itself, a Prometheus with the token, an admin.

The metrics name every camera feed and checkpoint and every site in a
meeting (with its link) and show how busy the service is; they are for the IT staff, not for the sites. So ``/metrics``
answers

- a client on the machine itself (loopback: a Prometheus or ``curl`` run
  there) that no proxy relayed: a request carrying ``Forwarded``,
  ``X-Forwarded-For`` or ``X-Real-IP`` came through a proxy, which may well
  sit on the same machine and serve the world;
- a request with ``Authorization: Bearer <CONFERENCE_METRICS_TOKEN>``
  (Prometheus: ``authorization: {credentials_file: ...}`` in the scrape
  config), from anywhere;
- an administrator's logged-in browser;

and everybody else gets 401 (or 403 when logged in but not an administrator).
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from web.auth import current_login
from web.errors import ApiError
from web.keys import SETTINGS

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_local_client(request: web.Request) -> bool:
    """Whether the request comes straight from this machine (loopback, no proxy headers)."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def bearer_ok(request: web.Request, token: str | None) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    if not token:
        return False
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(supplied.strip().encode(), token.encode())


async def check_metrics_access(request: web.Request) -> None:
    """Refuse (401, or 403 for a logged-in non-administrator) a caller who may not read metrics."""
    if is_local_client(request) or bearer_ok(request, request.app[SETTINGS].metrics_token):
        return
    current = await current_login(request)
    if current is not None and current[0].is_admin:
        return
    if current is not None:
        raise ApiError(
            403, "role-forbidden", "the metrics are for administrators and the metrics token"
        )
    raise ApiError(
        401,
        "metrics-token-required",
        "send Authorization: Bearer <CONFERENCE_METRICS_TOKEN>, or read /metrics on the "
        "server itself",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )
