"""The REST API under ``/api/``: every endpoint module's routes, and their OpenAPI document.

Requests and responses are JSON. A logged-in browser authenticates with its
session cookie and sends ``X-CSRF-Token`` on every request that changes
something (``web/auth.py``). Errors are ``{"error": {"code", "message"}}``
with the HTTP status the service layer's exception maps to (``web/errors.py``).
Each noun's handlers live in their own module; this one only lists them.
"""

from __future__ import annotations

from aiohttp import web

from web import (
    accounts,
    anpr_lists,
    attendance,
    calendars,
    declarations,
    documents,
    feeds,
    grants,
    meetings,
    minutes,
    plate_events,
    recordings,
    talk,
    units,
    wall,
)
from web.openapi import document_route
from web.routes import Route, add_routes

ROUTES: list[Route] = [
    *accounts.ROUTES,
    *units.ROUTES,
    *meetings.ROUTES,
    *documents.ROUTES,
    *calendars.ROUTES,
    *grants.ROUTES,
    *attendance.ROUTES,
    *talk.ROUTES,
    *minutes.ROUTES,
    *recordings.ROUTES,
    *feeds.ROUTES,
    *plate_events.ROUTES,
    *anpr_lists.ROUTES,
    *wall.ROUTES,
    *declarations.ROUTES,
]


def setup(app: web.Application) -> None:
    """Register every API route, the OpenAPI document, and the recordings library."""
    recordings.setup(app)
    add_routes(app, [*ROUTES, document_route(ROUTES)])
