"""Request bodies: read whole, within a size limit and a deadline, before any handler runs.

A client that sends its headers and then one byte of its body a minute holds
a connection, a task and a buffer for as long as it likes unless something
times the body out. Every request with a body is therefore read here, in
full, within ``CONFERENCE_HTTP_BODY_TIMEOUT`` seconds and within the route's
size limit (the application's ``client_max_size`` unless the handler is
marked with :func:`max_bytes`); a late body gets 408 and the connection is
closed. Forms are parsed here as well, so a malformed one is a 400. Handlers
then take the body with ``await request.read()`` (or ``request.post()``),
which return what was read here, or as a validated model with
:func:`json_body`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from conference import client_json
from web.errors import ApiError
from web.keys import SETTINGS
from web.routes import Handler

H = TypeVar("H", bound=Handler)
M = TypeVar("M", bound=BaseModel)

_ATTRIBUTE = "max_body_bytes"
_STREAMS = "streams_body"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def max_bytes(limit: int) -> Callable[[H], H]:
    """Mark a handler whose route takes bodies up to ``limit`` bytes (an upload)."""

    def mark(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, limit)
        return handler

    return mark


def streams_body(handler: H) -> H:
    """Mark a handler that reads its own body as a stream (a large upload written to disk).

    The middleware leaves such a body alone: the handler applies its own size
    limit and read deadline (see :func:`body_chunks`).
    """
    setattr(handler, _STREAMS, True)
    return handler


async def body_chunks(request: web.Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request body a chunk at a time; :class:`ApiError` 408 if it stalls ``idle_timeout`` s.

    A large upload may take longer than the whole-body deadline over a slow
    link, so what is bounded is the wait for each next chunk.
    """
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await request.content.readany()
        except TimeoutError as exc:
            raise _closing(
                408, "body-timeout", f"the upload stalled for {idle_timeout:g} s"
            ) from exc
        if not chunk:
            return
        yield chunk


@web.middleware
async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request's body before its handler, in time and within the route's limit."""
    if not request.body_exists or getattr(request.match_info.handler, _STREAMS, False):
        return await handler(request)
    limit = getattr(request.match_info.handler, _ATTRIBUTE, None)
    if limit is not None and limit != request.client_max_size:
        request = request.clone(client_max_size=limit)
    limit = request.client_max_size
    timeout = request.app[SETTINGS].http_body_timeout
    try:
        # A declared length over the limit is refused without waiting for the bytes.
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(limit, request.content_length)
        async with asyncio.timeout(timeout):
            if request.content_type in FORM_TYPES and request.method in request.POST_METHODS:
                # Parsed here (aiohttp keeps the result for request.post()): a form with
                # a bad boundary or an unknown charset raises ValueError or LookupError
                # from deep inside aiohttp, which a handler would let out as a 500. A
                # multipart form is read from the stream by the parser itself.
                await request.post()
            else:
                await request.read()
    except TimeoutError as exc:
        raise _closing(
            408, "body-timeout", f"the request body did not arrive within {timeout:g} s"
        ) from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise _closing(413, "too-large", f"the request body is larger than {limit} bytes") from exc
    except (ValueError, LookupError) as exc:
        raise _closing(400, "bad-form", f"the form cannot be read: {_first_line(exc)}") from exc
    return await handler(request)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _closing(status: int, code: str, message: str) -> ApiError:
    """An error after which the connection closes: the rest of the body may still be coming."""
    return ApiError(status, code, message, close=True)


class StrictBody(BaseModel):
    """The base of every JSON body model: a field the model does not name is an error."""

    model_config = ConfigDict(extra="forbid")


async def json_body(request: web.Request, model: type[M]) -> M:
    """The JSON body, validated by ``model`` (a 400 through ``web/errors.py`` if it fails).

    415 unless the body is sent as ``application/json``; 400 for bytes that are
    not JSON a client should send (see :mod:`conference.client_json`).
    """
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported-media-type", "send application/json")
    try:
        data = client_json.loads(await request.read())
    except client_json.ClientJsonError as exc:
        raise ApiError(400, exc.code, f"the body is not usable JSON: {exc.message}") from exc
    return model.model_validate(data)
