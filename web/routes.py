"""A route of the HTTP API: method, path, handler and the model of its JSON body.

Each endpoint module lists its routes as ``ROUTES``; ``web/api.py`` registers
them all, and ``web/openapi.py`` documents the same list, so a route cannot be
served without being documented.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One method on one path; ``body`` is the pydantic model of its JSON body, if any."""

    method: str
    path: str
    handler: Handler
    body: type[BaseModel] | None = None


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    """Register ``routes`` on ``app``'s router."""
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)
