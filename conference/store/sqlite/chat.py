"""Meetings' chat in the SQLite engine (table ``chat``; ``seq`` is its autoincrement key)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from conference.store.chat import Audience, ChatMessage
from conference.store.sqlite.engine import SqliteAggregate


class SqliteChat(SqliteAggregate):
    """:class:`~conference.store.chat.ChatStore` on SQLite."""

    async def add_chat(self, message: ChatMessage) -> ChatMessage:
        """Keep the message; its ``seq`` is its row's."""

        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO chat (meeting_id, at, site, name, audience, text, host) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    message.meeting_id,
                    message.at,
                    message.site,
                    message.name,
                    message.audience,
                    message.text,
                    int(message.host),
                ),
            )
            return int(cursor.lastrowid or 0)

        return replace(message, seq=await self._run(write))

    async def meeting_chat(self, meeting_id: str) -> list[ChatMessage]:
        """The meeting's messages by ``seq``."""
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM chat WHERE meeting_id = ? ORDER BY seq",
                (meeting_id,),
            ).fetchall()
        )
        return [_message(row) for row in rows]

    async def latest_chat(
        self, meeting_id: str, limit: int, site: str | None = None
    ) -> list[ChatMessage]:
        """The newest readable rows first (by the ``chat_meeting`` index), then turned round."""
        if limit <= 0:
            return []
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM chat WHERE meeting_id = ? "
                "AND (? IS NULL OR audience = 'all' OR site = ?) ORDER BY seq DESC LIMIT ?",
                (meeting_id, site, site, limit),
            ).fetchall()
        )
        return [_message(row) for row in reversed(rows)]


_COLUMNS = "seq, meeting_id, at, site, name, audience, text, host"


def _message(row: tuple[Any, ...]) -> ChatMessage:
    seq, meeting, at, site, name, audience, text, host = row
    kind: Audience = "host" if audience == "host" else "all"
    return ChatMessage(meeting, at, site, name, kind, text, bool(host), int(seq))
