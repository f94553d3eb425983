"""Travel declarations over HTTP: import them, enter one by hand, set each camera's rule,
and follow the "khai báo không trung thực" alerts up.

Declarations and alerts are kept for a unit, and seen by the hosts and
operators of that unit's subtree (``conference/permissions.py``), like the
plate events. Files are imported by the operators' supervisors (hosts) and
admins; one declaration is entered by hand by any officer. An alert shows
its evidence (the passes that contradict the declaration, and their plate
crops) to whoever may see the alert, whichever checkpoint read them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import Field

from anpr_feed.declarations.imports import (
    MAX_FIELD,
    DeclarationImportError,
    DeclarationRow,
    declarations_of,
    normalize_phone,
    normalize_plate,
    parse_declarations,
    refuse_stored,
)
from anpr_feed.events_store import (
    OUTCOMES,
    REQUIREMENTS,
    AlertNote,
    CheckpointRule,
    Declaration,
    DeclarationAlert,
    PlateEvent,
)
from anpr_feed.provinces import province_code_of, province_name
from conference.permissions import (
    Forbidden,
    Principal,
    can_see_plate_event,
    check_feed_admin,
    plate_event_scope,
    require_scope,
)
from conference.store import NotFound
from web.auth import feed_principal, supervisor_of
from web.errors import ApiError
from web.keys import CONFERENCE, FEED_MANAGER
from web.plate_events import event_json
from web.request_body import StrictBody, json_body, max_bytes
from web.routes import Route
from web.times import epoch, iso, zone

UPLOAD_MAX_BYTES = 4 * 1024 * 1024  # some 20 000 rows (imports.MAX_ROWS)
LIST_MAX = 500


class DeclarationIn(StrictBody):
    """``POST /api/anpr/declarations``: one declaration entered by hand."""

    plate: str = Field(min_length=1, max_length=40, description="30A-123.45")
    driver: str = Field(min_length=1, max_length=MAX_FIELD)
    origin: str = Field(
        min_length=1, max_length=60, description="a plate code or a name: 29, Hà Nội"
    )
    valid_from: datetime
    valid_to: datetime
    phone: str = Field("", max_length=30)
    unit_code: str | None = Field(None, max_length=40, description="admins: the unit it is for")


class RuleIn(StrictBody):
    """``PUT /api/anpr/feeds/{id}/declaration-rule``."""

    province_code: str = Field(min_length=1, max_length=60, description="where the checkpoint is")
    required: str = Field(description="none | outbreak | all")


class NoteIn(StrictBody):
    """``POST /api/anpr/declaration-alerts/{id}/notes``: what the officer found."""

    outcome: str = Field(description="truthful | false | not-found | note")
    text: str = Field("", max_length=1000)


async def _unit_for(request: web.Request, principal: Principal, asked: str | None) -> str | None:
    """The unit new declarations are kept for: the caller's, or for an admin the one asked."""
    store = request.app[CONFERENCE].store
    if principal.is_admin:
        if asked:
            await store.get_unit(asked)  # 404 for an unknown unit
        return asked or None
    if principal.unit_code is None:
        raise Forbidden("unit-required", "your account has no unit to keep declarations for")
    if asked and asked != principal.unit_code:
        await require_scope(store, principal, asked)
        return asked
    return principal.unit_code


def declaration_json(request: web.Request, d: Declaration) -> dict[str, Any]:
    """A declaration on the wire."""
    tz = zone(request)
    return {
        "id": d.id,
        "plate": d.plate,
        "driver": d.driver,
        "origin_code": d.origin_code,
        "origin": province_name(d.origin_code),
        "valid_from": iso(d.valid_from, tz),
        "valid_to": iso(d.valid_to, tz),
        "phone": d.phone,
        "source": d.source,
        "unit_code": d.unit_code,
        "imported_by": d.imported_by,
        "imported_at": iso(d.imported_at, tz),
    }


async def list_declarations(request: web.Request) -> web.Response:
    """``GET /api/anpr/declarations?plate=``: those kept for the caller's units, newest first."""
    principal = await feed_principal(request)
    plates = request.app[FEED_MANAGER].plates
    scope = await plate_event_scope(request.app[CONFERENCE].store, principal)
    plate = request.query.get("plate", "")
    if plate:
        normalized = normalize_plate(plate)
        if normalized is None:
            raise ApiError(400, "bad-plate", f"{plate[:40]!r} is not a plate")
        found = await plates.declarations_of_plate(normalized)
        found = [d for d in found if scope is None or d.unit_code in scope]
    else:
        found = await plates.list_declarations(scope, LIST_MAX)
    return web.json_response({"declarations": [declaration_json(request, d) for d in found]})


async def add_declaration(request: web.Request) -> web.Response:
    """``POST /api/anpr/declarations``: one by hand (any officer, for their unit)."""
    principal = await feed_principal(request)
    data = await json_body(request, DeclarationIn)
    errors = []
    plate = normalize_plate(data.plate)
    if plate is None:
        errors.append({"field": "plate", "code": "bad-plate", "message": "biển số không hợp lệ"})
    origin = province_code_of(data.origin)
    if origin is None:
        errors.append(
            {"field": "origin", "code": "unknown-province", "message": "không rõ tỉnh/thành"}
        )
    tz = zone(request)
    start, end = epoch(data.valid_from, tz), epoch(data.valid_to, tz)
    if end <= start:
        errors.append(
            {
                "field": "valid_to",
                "code": "inverted-window",
                "message": "thời gian đến phải sau thời gian từ",
            }
        )
    phone = normalize_phone(data.phone) if data.phone.strip() else ""
    if phone is None:
        errors.append(
            {"field": "phone", "code": "bad-phone", "message": "số điện thoại không hợp lệ"}
        )
    if errors:
        raise ApiError(400, "bad-declaration", errors[0]["message"], {"errors": errors})
    assert plate is not None and origin is not None and phone is not None
    unit = await _unit_for(request, principal, data.unit_code)
    row = DeclarationRow(0, plate, " ".join(data.driver.split()), origin, start, end, phone)
    [declaration] = declarations_of([row], unit, principal.username, "form", time.time())
    await request.app[FEED_MANAGER].plates.add_declarations([declaration])
    return web.json_response(declaration_json(request, declaration), status=201)


@max_bytes(UPLOAD_MAX_BYTES)
async def upload_declarations(request: web.Request) -> web.Response:
    """``POST /api/anpr/declarations/upload?unit=&name=``: a CSV or JSON file, all or nothing.

    A file with any bad row is refused (400 ``bad-upload``) with every error
    and its line in ``details.errors``; nothing of it is stored.
    """
    principal = await supervisor_of(request)
    data = await request.read()  # whole: web/request_body.py read it, in time
    if len(data) > UPLOAD_MAX_BYTES:
        raise ApiError(413, "too-large", f"the file is over {UPLOAD_MAX_BYTES // 1024 // 1024} MB")
    unit = await _unit_for(request, principal, request.query.get("unit") or None)
    plates = request.app[FEED_MANAGER].plates
    try:
        # Thousands of plates parsed: off the event loop.
        rows = await asyncio.to_thread(
            parse_declarations, data, request.content_type or "", zone(request)
        )
        stored = await plates.declarations_of_plates([r.plate for r in rows])
        await asyncio.to_thread(refuse_stored, rows, stored, unit)
    except DeclarationImportError as exc:
        raise ApiError(
            400,
            "bad-upload",
            str(exc),
            {"errors": [e.as_dict() for e in exc.errors], "more_errors": exc.more},
        ) from exc
    name = request.query.get("name", "")[:100] or "tệp tải lên"
    declarations = declarations_of(rows, unit, principal.username, f"upload:{name}", time.time())
    await plates.add_declarations(declarations)
    return web.json_response({"added": len(declarations)}, status=201)


async def delete_declaration(request: web.Request) -> web.Response:
    """``DELETE /api/anpr/declarations/{id}``: supervisors of its unit (and above), admins."""
    principal = await supervisor_of(request)
    plates = request.app[FEED_MANAGER].plates
    store = request.app[CONFERENCE].store
    try:
        declaration = await plates.get_declaration(request.match_info["id"])
    except NotFound as exc:
        raise ApiError(404, "not-found", "no such declaration") from exc
    scope = await plate_event_scope(store, principal)
    # Out of the caller's units it is 404, not 403: its existence is not theirs to learn.
    if scope is not None and declaration.unit_code not in scope:
        raise ApiError(404, "not-found", "no such declaration")
    try:
        await plates.delete_declaration(declaration.id)
    except NotFound as exc:  # deleted meanwhile by someone else
        raise ApiError(404, "not-found", "no such declaration") from exc
    return web.Response(status=204)


def rule_json(rule: CheckpointRule) -> dict[str, Any]:
    """A camera's declaration rule on the wire."""
    return {
        "feed_id": rule.feed_id,
        "province_code": rule.province_code,
        "province": province_name(rule.province_code),
        "required": rule.required,
        "set_by": rule.set_by,
        "set_at": rule.set_at,
    }


async def set_rule(request: web.Request) -> web.Response:
    """``PUT /api/anpr/feeds/{id}/declaration-rule`` {province_code, required}."""
    principal = await feed_principal(request)
    store = request.app[CONFERENCE].store
    feed = await store.get_feed(request.match_info["id"])
    try:
        await check_feed_admin(store, principal, feed.unit_code)
    except Forbidden as exc:
        raise ApiError(404, "not-found", "no such feed") from exc
    data = await json_body(request, RuleIn)
    province = province_code_of(data.province_code)
    if province is None:
        raise ApiError(400, "unknown-province", f"không rõ tỉnh/thành {data.province_code!r}")
    if data.required not in REQUIREMENTS:
        raise ApiError(400, "bad-required", f"required is one of {', '.join(REQUIREMENTS)}")
    rule = CheckpointRule(feed.id, province, data.required, principal.username, time.time())
    manager = request.app[FEED_MANAGER]
    await manager.plates.set_checkpoint_rule(rule)
    manager.declarations.rules_changed()
    return web.json_response(rule_json(rule))


async def list_rules(request: web.Request) -> web.Response:
    """``GET /api/anpr/declaration-rules``: the rules of the cameras the caller may see."""
    principal = await feed_principal(request)
    store = request.app[CONFERENCE].store
    scope = await plate_event_scope(store, principal)
    feeds = {f.id: f for f in await store.list_feeds()}
    rules = [
        r
        for r in await request.app[FEED_MANAGER].plates.checkpoint_rules()
        if scope is None or (r.feed_id in feeds and feeds[r.feed_id].unit_code in scope)
    ]
    return web.json_response({"rules": [rule_json(r) for r in rules]})


async def _visible_alert(request: web.Request, principal: Principal) -> DeclarationAlert:
    """The alert ``{id}``; 404 out of the caller's scope (as for plate events)."""
    plates = request.app[FEED_MANAGER].plates
    alert = await plates.get_declaration_alert(request.match_info["id"])
    if not await can_see_plate_event(request.app[CONFERENCE].store, principal, alert):
        raise ApiError(404, "not-found", "no such alert")
    return alert


def alert_json(request: web.Request, alert: DeclarationAlert) -> dict[str, Any]:
    """An alert on the wire (its list form: no evidence, no history)."""
    return {
        "id": alert.id,
        "event_id": alert.event_id,
        "plate": alert.plate,
        "at": alert.at,
        "time": iso(alert.at, zone(request)),
        "feed_id": alert.feed_id,
        "checkpoint": alert.checkpoint,
        "unit_code": alert.unit_code,
        "kind": alert.kind,
        "reason": alert.reason,
        "outcome": alert.outcome,
        "outcome_label": OUTCOMES.get(alert.outcome or ""),
    }


async def list_alerts(request: web.Request) -> web.Response:
    """``GET /api/anpr/declaration-alerts``: those of the caller's units, newest pass first."""
    principal = await feed_principal(request)
    scope = await plate_event_scope(request.app[CONFERENCE].store, principal)
    alerts = await request.app[FEED_MANAGER].plates.list_declaration_alerts(scope, LIST_MAX)
    return web.json_response({"alerts": [alert_json(request, a) for a in alerts]})


async def get_alert(request: web.Request) -> web.Response:
    """``GET /api/anpr/declaration-alerts/{id}``: with its evidence, declaration and history."""
    principal = await feed_principal(request)
    alert = await _visible_alert(request, principal)
    plates = request.app[FEED_MANAGER].plates
    evidence: list[dict[str, Any]] = []
    for event_id in alert.evidence:
        try:
            event: PlateEvent = await plates.get_plate_event(event_id)
        except NotFound:
            continue  # gone by retention
        shown = event_json(request, event)
        # The alert shows its evidence to whoever may see it, whichever unit read it.
        base = f"/api/anpr/declaration-alerts/{alert.id}/evidence/{event.id}"
        shown["crop_url"] = f"{base}/plate.jpg" if event.crop else None
        shown["thumbnail_url"] = f"{base}/frame.jpg" if event.thumbnail else None
        evidence.append(shown)
    declaration = None
    if alert.declaration_id is not None:
        try:
            declaration = declaration_json(
                request, await plates.get_declaration(alert.declaration_id)
            )
        except NotFound:
            pass  # deleted since the alert was raised
    tz = zone(request)
    notes = [
        {
            "at": iso(n.at, tz),
            "by": n.by,
            "by_name": n.by_name,
            "outcome": n.outcome,
            "outcome_label": OUTCOMES.get(n.outcome),
            "text": n.text,
        }
        for n in await plates.alert_notes(alert.id)
    ]
    return web.json_response(
        {
            **alert_json(request, alert),
            "evidence": evidence,
            "declaration": declaration,
            "notes": notes,
        }
    )


async def evidence_image(request: web.Request) -> web.StreamResponse:
    """``GET /api/anpr/declaration-alerts/{id}/evidence/{event}/{plate|frame}.jpg``."""
    principal = await feed_principal(request)
    alert = await _visible_alert(request, principal)
    event_id = request.match_info["event"]
    if event_id not in alert.evidence:
        raise ApiError(404, "not-found", "not evidence of this alert")
    manager = request.app[FEED_MANAGER]
    event = await manager.plates.get_plate_event(event_id)
    name = event.crop if request.match_info["kind"] == "plate" else event.thumbnail
    path = manager.image_path(name) if name else None
    if path is None:
        raise ApiError(404, "not-found", "this picture is not kept (or was deleted by retention)")
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"}
    )


async def add_note(request: web.Request) -> web.Response:
    """``POST /api/anpr/declaration-alerts/{id}/notes`` {outcome, text}: kept in its history."""
    principal = await feed_principal(request)
    alert = await _visible_alert(request, principal)
    data = await json_body(request, NoteIn)
    if data.outcome not in OUTCOMES:
        raise ApiError(400, "bad-outcome", f"outcome is one of {', '.join(OUTCOMES)}")
    note = AlertNote(
        alert.id,
        time.time(),
        principal.username,
        principal.display_name,
        data.outcome,
        data.text.strip(),
    )
    await request.app[FEED_MANAGER].plates.add_alert_note(note)
    return web.json_response(
        {
            "at": iso(note.at, zone(request)),
            "by": note.by,
            "by_name": note.by_name,
            "outcome": note.outcome,
            "outcome_label": OUTCOMES[note.outcome],
            "text": note.text,
        },
        status=201,
    )


ROUTES = [
    Route("GET", "/api/anpr/declarations", list_declarations),
    Route("POST", "/api/anpr/declarations", add_declaration, DeclarationIn),
    Route("POST", "/api/anpr/declarations/upload", upload_declarations),
    Route("DELETE", "/api/anpr/declarations/{id}", delete_declaration),
    Route("GET", "/api/anpr/declaration-rules", list_rules),
    Route("PUT", "/api/anpr/feeds/{id}/declaration-rule", set_rule, RuleIn),
    Route("GET", "/api/anpr/declaration-alerts", list_alerts),
    Route("GET", "/api/anpr/declaration-alerts/{id}", get_alert),
    Route("POST", "/api/anpr/declaration-alerts/{id}/notes", add_note, NoteIn),
    Route(
        "GET",
        "/api/anpr/declaration-alerts/{id}/evidence/{event}/{kind:plate|frame}.jpg",
        evidence_image,
    ),
]
