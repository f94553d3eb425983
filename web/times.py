"""Times on the wire: ISO 8601 in the server's time zone, epoch seconds inside.

A time given without an offset is read in the server's time zone
(``CONFERENCE_TIMEZONE``, Asia/Ho_Chi_Minh by default), and times go out
with that zone's offset.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from web.errors import ApiError
from web.keys import SETTINGS


def zone(request: web.Request) -> ZoneInfo:
    """The server's time zone (used for times given without an offset)."""
    return ZoneInfo(request.app[SETTINGS].timezone)


def epoch(moment: datetime, tz: ZoneInfo) -> float:
    """Seconds since the epoch; a naive time is read in ``tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def iso(seconds: float, tz: ZoneInfo) -> str:
    """ISO 8601 with the server's offset."""
    return datetime.fromtimestamp(seconds, tz).isoformat(timespec="seconds")


def query_time(request: web.Request, name: str, *, seconds: bool = False) -> float | None:
    """The query parameter ``name`` as epoch seconds; None when it is absent or empty.

    It is an ISO 8601 time, or with ``seconds`` also plain epoch seconds (the
    value is then stripped of blanks first, as the plate search always took
    it); anything else is a 400 ``bad-time``.
    """
    text = request.query.get(name, "")
    if seconds:
        text = text.strip()
    if not text:
        return None
    try:
        if seconds and text.replace(".", "", 1).isdigit():
            return float(text)
        return epoch(datetime.fromisoformat(text), zone(request))
    except ValueError as exc:
        raise ApiError(400, "bad-time", f"{name} must be an ISO 8601 time") from exc
