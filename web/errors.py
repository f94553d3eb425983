"""JSON errors for HTTP endpoints: a status, a stable code, a message for people."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

logger = logging.getLogger(__name__)


class ClientFaultFilter(logging.Filter):
    """aiohttp's "Error handling request" for a malformed request, as one INFO line.

    aiohttp logs every request it cannot parse (a 10 KB URL, a broken header)
    at ERROR with a traceback, so anyone can write tracebacks into the log at
    will. It is the client's fault: the line keeps who and what kind of fault,
    and drops the traceback and the request's bytes (a join link's token may be
    among them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a client-fault record; let every other record through unchanged."""
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 400) < 500:
            text = record.getMessage()
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s: %s (%d)", (text, type(exc).__name__, exc.code or 400)
            record.exc_info, record.exc_text = None, None
            return logging.getLogger().isEnabledFor(logging.INFO)
        return True


def quiet_client_faults() -> None:
    """Put :class:`ClientFaultFilter` on aiohttp's server logger (once)."""
    server_logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientFaultFilter) for f in server_logger.filters):
        server_logger.addFilter(ClientFaultFilter())


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


class ApiError(Exception):
    """An error an API handler raises to answer with a JSON error."""

    def __init__(self, status: int, code: str, message: str, details: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def domain_error(exc: Exception) -> ApiError | None:
    """The HTTP form of an error raised by the service layer, if it is one."""
    from pydantic import ValidationError

    from conference.meetings import MeetingError
    from conference.permissions import Forbidden
    from conference.store import Conflict, NotFound, StoreError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Forbidden):
        return ApiError(403, exc.code, exc.message)
    if isinstance(exc, MeetingError):
        return ApiError(409 if exc.code == "overlap" else 400, exc.code, exc.message)
    if isinstance(exc, NotFound):
        return ApiError(404, "not-found", str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, StoreError):
        return ApiError(400, "invalid", str(exc))
    if isinstance(exc, ValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid"}
        return ApiError(400, "invalid-request", f"{first['field']}: {first['message']}", problems)
    return None


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
    except Exception as exc:
        mapped = domain_error(exc)
        if mapped is not None and api:
            response = json_error(mapped.status, mapped.code, mapped.message)
            if mapped.details is not None:
                body = json.loads(response.text or "{}")
                body["error"]["details"] = mapped.details
                response.text = json.dumps(body, ensure_ascii=False)
            return response
        if mapped is not None:
            raise
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if not api:
            raise
        return json_error(500, "internal", "internal server error")
