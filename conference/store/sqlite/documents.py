"""A meeting's documents in the SQLite engine (table ``documents``, see migration 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from conference.store.documents import Document
from conference.store.errors import NotFound
from conference.store.sqlite.engine import SqliteAggregate

_COLUMNS = "id, meeting_id, name, kind, content_type, size, sha256, uploaded_by, uploaded_at"


class SqliteDocuments(SqliteAggregate):
    """:class:`~conference.store.documents.DocumentStore` on SQLite."""

    async def add_document(self, document: Document) -> None:
        """Keep ``document``."""
        await self._insert_unique("documents", _COLUMNS, document, "this document id is taken")

    async def get_document(self, meeting_id: str, document_id: str) -> Document:
        """The meeting's document, or NotFound."""
        found = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE meeting_id = ? AND id = ?",
                (meeting_id, document_id),
            ).fetchone()
        )
        if found is None:
            raise NotFound(f"no document {document_id!r} in this meeting")
        return Document(*found)

    async def meeting_documents(self, meeting_id: str) -> list[Document]:
        """The meeting's documents, oldest upload first."""
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE meeting_id = ? ORDER BY uploaded_at, id",
                (meeting_id,),
            ).fetchall()
        )
        return [Document(*r) for r in rows]

    async def delete_document(self, meeting_id: str, document_id: str) -> None:
        """Forget the document, or NotFound."""
        deleted = await self._run(
            lambda conn: (
                conn.execute(
                    "DELETE FROM documents WHERE meeting_id = ? AND id = ?",
                    (meeting_id, document_id),
                ).rowcount
            )
        )
        if not deleted:
            raise NotFound(f"no document {document_id!r} in this meeting")

    async def keep_document_bytes(self, document_id: str, chunks: AsyncIterator[bytes]) -> bool:
        """Not kept: with one node the data directory holds the bytes."""
        return False

    async def document_bytes(self, document_id: str) -> AsyncIterator[bytes]:
        """None kept here (see :meth:`keep_document_bytes`): NotFound."""
        raise NotFound(f"the bytes of document {document_id!r} are not kept in the store")
        yield b""  # an async generator, as the protocol reads it

    async def drop_document_bytes(self, document_id: str) -> None:
        """Nothing to forget."""
