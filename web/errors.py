"""JSON errors for HTTP endpoints: a status, a stable code, a message for people."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

logger = logging.getLogger(__name__)


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error response with body ``{"error": {"code": ..., "message": ...}}``."""
    return web.Response(
        status=status,
        text=json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn aiohttp's HTML errors and unexpected exceptions into JSON on API paths."""
    api = request.path.startswith(("/api/", "/whip/", "/whep/", "/metrics", "/healthz"))
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not api or exc.status < 400 or exc.content_type == "application/json":
            raise
        return json_error(exc.status, exc.reason.lower().replace(" ", "-"), exc.reason)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if not api:
            raise
        return json_error(500, "internal", "internal server error")
