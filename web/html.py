"""HTML responses: a page rendered from its jinja2 template, and the bilingual error page."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from web.keys import TEMPLATES

# An origin as it may stand in a CSP source list: scheme, host (a name, IPv4 or
# [IPv6]) and port; nothing that could end the directive or add another.
_CSP_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


def connect_origins(urls: Iterable[str]) -> list[str]:
    """The origins of ``urls`` that may stand in ``connect-src``, in order, once each.

    The meeting page is handed the same list as data (``connect`` in its
    config): a node missing from it is one the page must not fetch from.
    """
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if _CSP_ORIGIN.match(origin) and origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(connect: Iterable[str] = ()) -> str:
    """Every page's CSP; ``connect`` adds origins the page may fetch from (a
    meeting page asks the cluster's other nodes where its meeting went)."""
    connect_src = " ".join(["'self'", *connect_origins(connect)])
    return (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        # 'self' covers ws:/wss: to this same host (CSP3; Chromium and Firefox).
        f"connect-src {connect_src}; style-src 'self'; script-src 'self'"
    )


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
    "token-not-yet-valid": (
        "Phòng họp chưa mở. Xin quay lại gần giờ họp.",
        "The meeting room is not open yet. Come back closer to the start.",
    ),
    "meeting-not-open": (
        "Phòng họp chưa mở. Xin quay lại gần giờ họp.",
        "The meeting room is not open yet. Come back closer to the start.",
    ),
    "meeting-ended": ("Cuộc họp đã kết thúc.", "The meeting has ended."),
    "meeting-cancelled": ("Cuộc họp đã bị hủy.", "The meeting was cancelled."),
    "meeting-not-found": ("Không tìm thấy cuộc họp.", "The meeting does not exist."),
    "removed": (
        "Chủ trì đã mời điểm cầu này rời cuộc họp.",
        "The host removed this site from the meeting.",
    ),
    "room-locked": ("Chủ trì đã khóa phòng họp.", "The host has locked the meeting."),
    "not-invited": (
        "Điểm cầu của bạn không được mời dự cuộc họp này.",
        "Your site is not invited to this meeting.",
    ),
    "not-your-meeting": ("Bạn không chủ trì cuộc họp này.", "You do not host this meeting."),
    "role-forbidden": ("Tài khoản của bạn không có quyền này.", "Your account may not do this."),
}


def render(
    request: web.Request,
    template: str,
    status: int = 200,
    response: web.Response | None = None,
    **context: Any,
) -> web.Response:
    """Render a jinja2 template to HTML, into ``response`` if given (keeping its cookies)."""
    html = request.app[TEMPLATES].get_template(template).render(**context)
    if response is None:
        response = web.Response()
    response.set_status(status)
    response.text = html
    response.content_type = "text/html"
    response.charset = "utf-8"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def error_page(
    request: web.Request, status: int, code: str, join_link: bool = False
) -> web.Response:
    """A bilingual error page for people who opened a bad link.

    ``join_link``: the page answers ``/join/{room}``, and its script hides the
    token or comes back with the tab's own (see ``static/shared/join_token.js``).
    """
    vi, en = PAGE_ERRORS.get(code, ("Đã có lỗi xảy ra.", "Something went wrong."))
    return render(
        request,
        "error.html",
        status=status,
        code=code,
        message_vi=vi,
        message_en=en,
        join_link=join_link,
    )
