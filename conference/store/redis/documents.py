"""A meeting's documents in the Redis engine: ``P documents:<meeting>``, a hash of id -> record JSON."""

from __future__ import annotations

import json

from conference.store.documents import Document, document_fields, document_from_fields
from conference.store.errors import Conflict, NotFound
from conference.store.redis.engine import RedisAggregate, RedisEngine, dump, text


class RedisDocuments(RedisAggregate):
    """:class:`~conference.store.documents.DocumentStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)

    def _documents_key(self, meeting_id: str) -> str:
        return f"{self.prefix}documents:{meeting_id}"

    async def add_document(self, document: Document) -> None:
        """Keep ``document``."""
        kept = await self._redis.hsetnx(
            self._documents_key(document.meeting_id), document.id, dump(document_fields(document))
        )
        if not kept:
            raise Conflict("this document id is taken")

    async def get_document(self, meeting_id: str, document_id: str) -> Document:
        """The meeting's document, or NotFound."""
        raw = await self._redis.hget(self._documents_key(meeting_id), document_id)
        if raw is None:
            raise NotFound(f"no document {document_id!r} in this meeting")
        return document_from_fields(json.loads(text(raw)))

    async def meeting_documents(self, meeting_id: str) -> list[Document]:
        """The meeting's documents, oldest upload first."""
        kept = await self._redis.hgetall(self._documents_key(meeting_id))
        documents = [document_from_fields(json.loads(text(raw))) for raw in kept.values()]
        return sorted(documents, key=lambda d: (d.uploaded_at, d.id))

    async def delete_document(self, meeting_id: str, document_id: str) -> None:
        """Forget the document, or NotFound."""
        await self.engine.hdel_or_missing(
            self._documents_key(meeting_id),
            document_id,
            f"no document {document_id!r} in this meeting",
        )
