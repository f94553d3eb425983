"""Meetings' chat in the Redis engine: ``P chat:<meeting id>``, a list of message JSON.

RPUSH answers with the list's new length, atomically: that length is the
message's ``seq``, so two nodes adding at once never share a number.
"""

from __future__ import annotations

from dataclasses import replace

from conference.store.chat import ChatMessage, chat_from_json, chat_json
from conference.store.redis.engine import RedisAggregate, text


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
