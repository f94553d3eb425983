"""Meetings' chat in the Redis engine: ``P chat:<meeting id>``, a list of message JSON.

RPUSH answers with the list's new length, atomically: that length is the
message's ``seq``, so two nodes adding at once never share a number.
"""

from __future__ import annotations

from dataclasses import replace

from conference.store.chat import ChatMessage, chat_from_json, chat_json, readable_by
from conference.store.redis.engine import RedisAggregate, text

PAGE = 200  # messages read per round trip when looking back for a site's latest


class RedisChat(RedisAggregate):
    """:class:`~conference.store.chat.ChatStore` on Redis."""

    def _chat_key(self, meeting_id: str) -> str:
        return f"{self.prefix}chat:{meeting_id}"

    async def add_chat(self, message: ChatMessage) -> ChatMessage:
        """Append the message; its ``seq`` is its place in the list (from 1)."""
        length = await self._redis.rpush(self._chat_key(message.meeting_id), chat_json(message))
        return replace(message, seq=int(length))

    async def meeting_chat(self, meeting_id: str) -> list[ChatMessage]:
        """The whole list, in order."""
        items = await self._redis.lrange(self._chat_key(meeting_id), 0, -1)
        return [chat_from_json(text(item), seq) for seq, item in enumerate(items, start=1)]

    async def latest_chat(
        self, meeting_id: str, limit: int, site: str | None = None
    ) -> list[ChatMessage]:
        """Pages back from the list's end until ``limit`` readable messages are found."""
        key = self._chat_key(meeting_id)
        end = int(await self._redis.llen(key))  # messages 1..end; seq is the place
        found: list[ChatMessage] = []
        while end > 0 and len(found) < limit:
            start = max(1, end - PAGE + 1)
            items = await self._redis.lrange(key, start - 1, end - 1)
            page = [chat_from_json(text(item), seq) for seq, item in enumerate(items, start=start)]
            found[:0] = [m for m in page if readable_by(m, site)]
            end = start - 1
        return found[-limit:] if limit > 0 else []
