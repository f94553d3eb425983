"""A meeting's paperless documents: the :class:`Document` record and :class:`DocumentStore`.

The store keeps what is known of each file (its name as shown, type, size,
SHA-256, who uploaded it and when); the bytes live under the data directory
(:mod:`conference.documents.files`), named by the document's id. The Redis
engine, shared by several nodes, keeps the bytes too (in chunks), so that a
node that did not receive the upload can serve it; the embedded engine (one
node) leaves them in the data directory alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Document:
    """One file of a meeting, as uploaded by a host."""

    id: str  # random hex; also the file's name on disk
    meeting_id: str
    name: str  # the uploaded name, cleaned (see conference.documents.names); never a path
    kind: str  # pdf, docx, xlsx, png or jpeg: checked against the bytes
    content_type: str
    size: int  # bytes
    sha256: str  # hex digest of the bytes as stored
    uploaded_by: str  # the host's username
    uploaded_at: float  # unix seconds


class DocumentStore(Protocol):
    """The documents of each meeting."""

    async def add_document(self, document: Document) -> None:
        """Keep ``document`` (its id is new)."""
        ...

    async def get_document(self, meeting_id: str, document_id: str) -> Document:
        """The meeting's document, or :class:`~conference.store.errors.NotFound`."""
        ...

    async def meeting_documents(self, meeting_id: str) -> list[Document]:
        """The meeting's documents, oldest upload first (then by id)."""
        ...

    async def delete_document(self, meeting_id: str, document_id: str) -> None:
        """Forget the document (and its bytes, if kept here); NotFound if it is not kept."""
        ...

    async def keep_document_bytes(self, document_id: str, chunks: AsyncIterator[bytes]) -> bool:
        """Keep a new document's bytes for the other nodes, before its record is added.

        False if this engine does not keep bytes (one node: the data directory
        holds them). A failure leaves no partial bytes where it can.
        """
        ...

    def document_bytes(self, document_id: str) -> AsyncIterator[bytes]:
        """The document's kept bytes, a chunk at a time; NotFound if none are kept here."""
        ...

    async def drop_document_bytes(self, document_id: str) -> None:
        """Forget a document's kept bytes (an upload that failed after keeping them)."""
        ...


def document_fields(document: Document) -> dict[str, Any]:
    """The record as a JSON object (what the Redis engine keeps)."""
    return {
        "id": document.id,
        "meeting_id": document.meeting_id,
        "name": document.name,
        "kind": document.kind,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at,
    }


def document_from_fields(data: dict[str, Any]) -> Document:
    """A record read back from :func:`document_fields`."""
    return Document(
        id=str(data["id"]),
        meeting_id=str(data["meeting_id"]),
        name=str(data["name"]),
        kind=str(data["kind"]),
        content_type=str(data["content_type"]),
        size=int(data["size"]),
        sha256=str(data["sha256"]),
        uploaded_by=str(data["uploaded_by"]),
        uploaded_at=float(data["uploaded_at"]),
    )
