"""A meeting's documents over HTTP: upload, list, download, delete, and show to every site.

Who reads: a logged-in user who may see the meeting (its page), or a site in
the meeting page with its join token for this meeting (``Authorization:
Bearer``). Each listed document carries a ``url``; for a site it includes a
``key`` that opens that one document (see :mod:`conference.documents.links`),
so that the page's viewer and download link need no header. Who uploads,
deletes and shows: the meeting's hosts (logged in, with the CSRF token).

An upload is the file itself as the body (``POST ...?name=Báo cáo.pdf``),
streamed to disk: never read whole into memory (``web/request_body.py``
leaves it alone), refused with 413 past ``CONFERENCE_DOCUMENTS_MAX_BYTES``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import Field

from conference.documents.files import TooLarge, is_document_id
from conference.documents.links import document_key, key_opens
from conference.documents.names import ascii_fallback
from conference.documents.service import MAX_PAGE, DocumentService
from conference.documents.types import DocumentRejected
from conference.permissions import Forbidden
from conference.rooms.events import DocumentShown
from conference.store import Document, NotFound
from conference.tokens import TokenClaims, TokenError
from web.auth import principal_of
from web.errors import ApiError
from web.keys import CONFERENCE, SETTINGS
from web.request_body import StrictBody, body_chunks, json_body, streams_body
from web.routes import Route
from web.times import iso, zone

# Refusals of a file's type are 415; of its name, page or emptiness, 400.
_TYPE_CODES = {"unsupported-type", "type-mismatch", "document-has-macros"}
_SCRIPT_CODES = {"pdf-script", "pdf-encrypted", "pdf-unreadable"}


class ShowIn(StrictBody):
    """``PUT /api/meetings/{id}/shown-document``: open a document on every site at a page."""

    document: str = Field(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")
    page: int = Field(1, ge=1, le=MAX_PAGE)


def _documents(request: web.Request) -> DocumentService:
    return request.app[CONFERENCE].documents


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _site_claims(request: web.Request, token: str, meeting_id: str) -> TokenClaims:
    """The claims of a join token that is good now and for this meeting."""
    try:
        claims, _record = await request.app[CONFERENCE].authorize(token)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from exc
    if claims.mtg != meeting_id:
        raise Forbidden("wrong-meeting", "this join token is for another meeting")
    return claims


async def _reader(request: web.Request) -> TokenClaims | None:
    """Check the caller may read the meeting's documents: the site's claims, or None (a login)."""
    meeting_id = request.match_info["id"]
    token = _bearer(request)
    if token is not None:
        return await _site_claims(request, token, meeting_id)
    await _documents(request).readable(await principal_of(request), meeting_id)
    return None


def document_json(
    request: web.Request, document: Document, claims: TokenClaims | None
) -> dict[str, Any]:
    """A document on the wire; ``url`` opens it for this caller."""
    url = f"/api/meetings/{quote(document.meeting_id, safe='')}/documents/{document.id}"
    if claims is not None:
        secret = request.app[CONFERENCE].secret
        url += "?" + urlencode(
            {"key": document_key(secret, document.meeting_id, document.id, claims.exp)}
        )
    return {
        "id": document.id,
        "name": document.name,
        "kind": document.kind,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": iso(document.uploaded_at, zone(request)),
        "uploaded_at_ts": document.uploaded_at,
        "url": url,
    }


def _shown_json(shown: DocumentShown | None) -> dict[str, Any] | None:
    return None if shown is None else shown.to_wire()


async def list_documents(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/documents``: the meeting's documents, and the one shown now."""
    claims = await _reader(request)
    service = _documents(request)
    meeting_id = request.match_info["id"]
    documents = await service.meeting_documents(meeting_id)
    meeting = await request.app[CONFERENCE].store.get_meeting(meeting_id)
    return web.json_response(
        {
            "documents": [document_json(request, d, claims) for d in documents],
            "shown": _shown_json(service.shown(meeting)),
            "max_bytes": service.max_bytes,
        }
    )


@streams_body
async def upload_document(request: web.Request) -> web.Response:
    """``POST /api/meetings/{id}/documents?name=``: the file as the body (hosts)."""
    principal = await principal_of(request)
    service = _documents(request)
    meeting_id = request.match_info["id"]
    declared = request.content_length
    try:
        # Who may, and the name's type, before a byte of the body is read.
        await service.managed(principal, meeting_id)
        if declared is not None and declared > service.max_bytes:
            raise TooLarge(service.max_bytes)
        chunks = body_chunks(request, request.app[SETTINGS].http_body_timeout)
        document = await service.upload(
            principal, meeting_id, request.query.get("name", ""), chunks
        )
    except TooLarge as exc:
        raise ApiError(
            413,
            "too-large",
            f"the file is larger than the limit of {exc.limit} bytes",
            close=True,  # the rest of the body may still be coming
        ) from exc
    except DocumentRejected as exc:
        status = 415 if exc.code in _TYPE_CODES else 422 if exc.code in _SCRIPT_CODES else 400
        # Not read to its end if refused by its name: the connection closes.
        raise ApiError(status, exc.code, exc.message, close=True) from exc
    return web.json_response({"document": document_json(request, document, None)}, status=201)


async def download_document(request: web.Request) -> web.StreamResponse:
    """``GET /api/meetings/{id}/documents/{doc}[?key=][&inline=1]``: the bytes.

    ``inline=1`` shows a PDF or a picture in the page (a sandboxed document:
    no script of it runs); anything else, and by default, is an attachment.
    """
    meeting_id, document_id = request.match_info["id"], request.match_info["doc"]
    if not is_document_id(document_id):
        raise ApiError(404, "not-found", "no such document")
    key = request.query.get("key")
    if key is not None:
        if not key_opens(request.app[CONFERENCE].secret, key, meeting_id, document_id):
            raise ApiError(403, "bad-key", "this document link is not valid (any more)")
    else:
        await _reader(request)
    document, path = await _documents(request).open(meeting_id, document_id)
    inline = request.query.get("inline") == "1" and document.kind in ("pdf", "png", "jpeg")
    response = web.FileResponse(path, chunk_size=256 * 1024)
    response.content_type = document.content_type
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", document.name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    # The meeting page frames it; no other site may. A PDF's own scripts never run.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "sandbox; frame-ancestors 'self'"
    response.headers["X-Checksum-SHA256"] = document.sha256
    return response


def content_disposition(disposition: str, name: str) -> str:
    """``attachment`` (or ``inline``) with the name, for old clients and RFC 5987/6266 ones."""
    return (
        f'{disposition}; filename="{ascii_fallback(name)}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )


async def delete_document(request: web.Request) -> web.Response:
    """``DELETE /api/meetings/{id}/documents/{doc}`` (hosts)."""
    principal = await principal_of(request)
    document_id = request.match_info["doc"]
    if not is_document_id(document_id):
        raise ApiError(404, "not-found", "no such document")
    await _documents(request).delete(principal, request.match_info["id"], document_id)
    return web.json_response({"deleted": document_id})


async def show_document(request: web.Request) -> web.Response:
    """``PUT /api/meetings/{id}/shown-document``: every site opens it at ``page`` (hosts)."""
    principal = await principal_of(request)
    data = await json_body(request, ShowIn)
    try:
        shown = await _documents(request).show(
            principal, request.match_info["id"], data.document, data.page
        )
    except DocumentRejected as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    except NotFound as exc:
        raise ApiError(404, "not-found", "no such document in this meeting") from exc
    return web.json_response({"shown": _shown_json(shown)})


async def hide_document(request: web.Request) -> web.Response:
    """``DELETE /api/meetings/{id}/shown-document``: every site closes it (hosts)."""
    principal = await principal_of(request)
    await _documents(request).hide(principal, request.match_info["id"])
    return web.json_response({"shown": None})


ROUTES = [
    Route("GET", "/api/meetings/{id}/documents", list_documents),
    Route("POST", "/api/meetings/{id}/documents", upload_document),
    Route("GET", "/api/meetings/{id}/documents/{doc}", download_document),
    Route("DELETE", "/api/meetings/{id}/documents/{doc}", delete_document),
    Route("PUT", "/api/meetings/{id}/shown-document", show_document, ShowIn),
    Route("DELETE", "/api/meetings/{id}/shown-document", hide_document),
]
