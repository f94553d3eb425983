"""Browser pages: the meeting page and the front page."""

from __future__ import annotations

import json

from aiohttp import web

from conference.service import Forbidden
from conference.store import RoomNotFound
from conference.tokens import TokenError
from web.keys import CONFERENCE, TEMPLATES

# Messages for the error page, Vietnamese first.
PAGE_ERRORS = {
    "token-missing": ("Thiếu mã tham gia trong đường dẫn.", "The link has no join token."),
    "token-expired": (
        "Đường dẫn tham gia đã hết hạn. Xin liên hệ ban tổ chức để nhận đường dẫn mới.",
        "This join link has expired. Ask the organiser for a new one.",
    ),
    "token-invalid": ("Đường dẫn tham gia không hợp lệ.", "This join link is not valid."),
    "token-malformed": ("Đường dẫn tham gia không hợp lệ.", "This join link is not valid."),
    "wrong-room": (
        "Đường dẫn này dành cho phòng họp khác.",
        "This link is for another meeting room.",
    ),
    "room-not-found": ("Không tìm thấy phòng họp.", "The meeting room does not exist."),
}


def render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    """Render a jinja2 template to an HTML response."""
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def error_page(request: web.Request, status: int, code: str) -> web.Response:
    """A bilingual error page for people who opened a bad link."""
    vi, en = PAGE_ERRORS.get(code, ("Đã có lỗi xảy ra.", "Something went wrong."))
    return render(request, "error.html", status=status, code=code, message_vi=vi, message_en=en)


async def join_page(request: web.Request) -> web.Response:
    """``GET /join/{room}?token=...``: the meeting page."""
    token = request.query.get("token", "")
    if not token:
        return error_page(request, 401, "token-missing")
    try:
        claims, record = await request.app[CONFERENCE].authorize(token, request.match_info["room"])
    except TokenError as exc:
        return error_page(request, 401, exc.code)
    except Forbidden as exc:
        return error_page(request, 403, exc.code)
    except RoomNotFound:
        return error_page(request, 404, "room-not-found")
    config = {
        "room": {"id": record.id, "name": record.name},
        "site": {"name": claims.name, "role": claims.role.value},
        "expires": claims.exp,
    }
    return render(
        request,
        "meeting.html",
        room=record,
        site=claims,
        config_json=json.dumps(config, ensure_ascii=False),
    )


async def index_page(request: web.Request) -> web.Response:
    """``GET /``: what this server is and how to join."""
    return render(request, "index.html")
