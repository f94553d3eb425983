"""iCalendar (RFC 5545) export of meetings, so sites see them in their calendars."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from conference.store import Meeting

PRODID = "-//conference//Hop truc tuyen//VI"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # do not cut inside a multi-byte character
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(parts)


def calendar(
    meetings: Iterable[tuple[Meeting, str, str]], name: str, host: str = "conference"
) -> str:
    """A VCALENDAR of (meeting, location, description) triples."""
    stamp = _utc(time.time())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for meeting, location, description in meetings:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{meeting.id}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(meeting.start)}",
            f"DTEND:{_utc(meeting.end)}",
            f"SUMMARY:{_escape(meeting.title)}",
            f"LOCATION:{_escape(location)}",
            f"DESCRIPTION:{_escape(description)}",
            f"STATUS:{'CANCELLED' if meeting.cancelled_at is not None else 'CONFIRMED'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
