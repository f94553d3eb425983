"""A meeting's documents in the Redis engine.

``P documents:<meeting>``: a hash of id -> record JSON. ``P document-bytes:<id>``:
the document's bytes, a list of chunks (:data:`CHUNK_BYTES` each, the last
shorter), so that every node of the cluster can serve a file only one of them
received; no command carries more than one chunk. Written before the record
is added (a record always has its bytes), deleted with it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

from conference.store.documents import Document, document_fields, document_from_fields
from conference.store.errors import Conflict, NotFound
from conference.store.redis.engine import RedisAggregate, RedisEngine, dump, text

CHUNK_BYTES = 1024 * 1024  # the size of each list item (the caller's chunks are regrouped)


class RedisDocuments(RedisAggregate):
    """:class:`~conference.store.documents.DocumentStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)

    def _documents_key(self, meeting_id: str) -> str:
        return f"{self.prefix}documents:{meeting_id}"

    def _bytes_key(self, document_id: str) -> str:
        return f"{self.prefix}document-bytes:{document_id}"

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
        """Forget the document and its bytes, or NotFound."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._documents_key(meeting_id), document_id)
            pipe.delete(self._bytes_key(document_id))
            removed, _ = await pipe.execute()
        if not removed:
            # Not this meeting's: the bytes (if any) are another meeting's; keep them.
            raise NotFound(f"no document {document_id!r} in this meeting")

    async def keep_document_bytes(self, document_id: str, chunks: AsyncIterator[bytes]) -> bool:
        """RPUSH the bytes a :data:`CHUNK_BYTES` item at a time; removed again on a failure."""
        key = self._bytes_key(document_id)
        pending = bytearray()
        try:
            await self.engine.raw.delete(key)
            async for chunk in chunks:
                pending += chunk
                while len(pending) >= CHUNK_BYTES:
                    await self.engine.raw.rpush(key, bytes(pending[:CHUNK_BYTES]))
                    del pending[:CHUNK_BYTES]
            if pending:
                await self.engine.raw.rpush(key, bytes(pending))
        except BaseException:
            with contextlib.suppress(Exception):
                await self.engine.raw.delete(key)
            raise
        return True

    async def document_bytes(self, document_id: str) -> AsyncIterator[bytes]:
        """The chunks in order, one LINDEX each (never the whole file in memory)."""
        key = self._bytes_key(document_id)
        count = await self.engine.raw.llen(key)
        if not count:
            raise NotFound(f"the bytes of document {document_id!r} are not kept in the store")
        for index in range(count):
            chunk = await self.engine.raw.lindex(key, index)
            if not isinstance(chunk, bytes):  # None: deleted meanwhile (the raw client: no text)
                raise NotFound(f"the bytes of document {document_id!r} are gone")
            yield chunk

    async def drop_document_bytes(self, document_id: str) -> None:
        """DEL the chunks."""
        await self.engine.raw.delete(self._bytes_key(document_id))
