"""A meeting's chat and votes over HTTP, for its hosts (and the minutes).

``GET /api/meetings/{id}/chat``: every message in order; ``GET
/api/meetings/{id}/votes``: every vote with its counts and, unless secret, who
answered what. Scoped like the meeting's attendance: its hosts only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from conference.permissions import Forbidden
from conference.store import ChatMessage, Meeting, VoteResult
from conference.votes import vote_results
from web.auth import principal_of
from web.keys import CONFERENCE
from web.routes import Route
from web.times import iso, zone


async def _meeting(request: web.Request) -> Meeting:
    """The meeting of the path, if the caller runs it (403 otherwise, 404 if none)."""
    principal = await principal_of(request)
    view = await request.app[CONFERENCE].meetings.view(principal, request.match_info["id"])
    if not view.can_manage:
        raise Forbidden("not-your-meeting", "only the meeting's hosts see its chat and votes")
    return view.meeting


def chat_json(message: ChatMessage, tz: ZoneInfo) -> dict[str, Any]:
    """One message for the API."""
    return {
        "seq": message.seq,
        "at": iso(message.at, tz),
        "site": message.site,
        "name": message.name,
        "to": message.audience,
        "host": message.host,
        "text": message.text,
    }


def vote_json(result: VoteResult, tz: ZoneInfo) -> dict[str, Any]:
    """One vote and its result for the API."""
    vote = result.vote
    return {
        "id": vote.id,
        "question": vote.question,
        "options": vote.options,
        "secret": vote.secret,
        "open": vote.open,
        "opened_at": iso(vote.opened_at, tz),
        "opened_by": vote.opened_by,
        "closed_at": iso(vote.closed_at, tz) if vote.closed_at is not None else None,
        "counts": result.counts,
        "answered": result.answered,
        "ballots": [
            {
                "site": b.site,
                "name": b.name,
                "choice": b.choice,
                "option": vote.options[b.choice] if b.choice is not None else None,
                "at": iso(b.at, tz),
            }
            for b in result.ballots
        ],
    }


async def chat_list(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/chat``: the meeting's chat in order (its hosts)."""
    meeting = await _meeting(request)
    messages = await request.app[CONFERENCE].store.meeting_chat(meeting.id)
    tz = zone(request)

    def encode() -> str:
        return json.dumps(
            {"meeting": meeting.id, "messages": [chat_json(m, tz) for m in messages]},
            ensure_ascii=False,
        )

    # A day-long meeting's chat is thousands of messages: not on the loop that forwards media.
    return web.Response(text=await asyncio.to_thread(encode), content_type="application/json")


async def vote_list(request: web.Request) -> web.Response:
    """``GET /api/meetings/{id}/votes``: the meeting's votes and results (its hosts)."""
    meeting = await _meeting(request)
    results = await vote_results(request.app[CONFERENCE].store, meeting.id)
    tz = zone(request)
    return web.json_response({"meeting": meeting.id, "votes": [vote_json(r, tz) for r in results]})


ROUTES = [
    Route("GET", "/api/meetings/{id}/chat", chat_list),
    Route("GET", "/api/meetings/{id}/votes", vote_list),
]
