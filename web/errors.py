"""Errors over HTTP: raised by handlers, answered in one place (:func:`error_middleware`).

An API error is a status, a stable code and a message for people, as
``{"error": {"code", "message"}}``; a page's error is the bilingual error page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from web.html import error_page

logger = logging.getLogger(__name__)

# Paths whose every error is JSON, whatever raised it.
API_PATHS = ("/api/", "/whip/", "/whep/", "/metrics", "/healthz")


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


class ApiError(Exception):
    """An error a handler raises; :func:`error_middleware` answers it with a JSON error.

    The body is ``{"error": {"code": ..., "message": ...}}`` (and ``details``
    when given). ``headers`` go on the response (``Retry-After``, CORS,
    ``WWW-Authenticate``); ``close`` closes the connection after it (the rest
    of a refused body may still be on its way).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: object = None,
        *,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})
        self.close = close

    def response(self) -> web.Response:
        """The JSON error response."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        response = web.Response(
            status=self.status,
            text=json.dumps({"error": error}, ensure_ascii=False),
            content_type="application/json",
            headers=self.headers,
        )
        if self.close:
            response.force_close()
        return response


class PageError(Exception):
    """An error a browser page raises; :func:`error_middleware` answers the error page.

    ``code`` picks the page's bilingual message (``web.html.PAGE_ERRORS``);
    ``join_link`` is for the ``/join/{room}`` page (see :func:`web.html.error_page`).
    """

    def __init__(self, status: int, code: str, *, join_link: bool = False) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.join_link = join_link


def domain_error(exc: Exception) -> ApiError | None:
    """The HTTP form of an error raised by the service layer, if it is one."""
    from pydantic import ValidationError

    from conference.meetings import MeetingError
    from conference.permissions import Forbidden
    from conference.redis_client import UNREACHABLE
    from conference.store import Conflict, NotFound, StoreError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UNREACHABLE):
        # Redis is out (restarting, unreachable): nothing is wrong with the request.
        return ApiError(
            503,
            "store-unavailable",
            "the shared state (Redis) cannot be reached now; try again shortly",
            headers={"Retry-After": "5"},
        )
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
    """The one place errors become responses.

    :class:`ApiError` is answered with its JSON error wherever it is raised,
    :class:`PageError` with the HTML error page. On the API's paths, the
    service layer's errors (:func:`domain_error`), aiohttp's own HTML errors
    and unexpected exceptions become JSON errors too; elsewhere they go on to
    aiohttp as before.
    """
    api = request.path.startswith(API_PATHS)
    try:
        return await handler(request)
    except PageError as exc:
        return error_page(request, exc.status, exc.code, join_link=exc.join_link)
    except web.HTTPException as exc:
        if not api or exc.status < 400 or exc.content_type == "application/json":
            raise
        return ApiError(exc.status, exc.reason.lower().replace(" ", "-"), exc.reason).response()
    except Exception as exc:
        mapped = domain_error(exc)  # an ApiError maps to itself
        if mapped is not None and (api or isinstance(exc, ApiError)):
            return mapped.response()
        if mapped is not None:
            raise
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if not api:
            raise
        return ApiError(500, "internal", "internal server error").response()
