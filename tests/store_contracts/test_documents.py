"""DocumentStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from conference.store import Conflict, Document, NotFound, Store
from conference.store.sqlite import SqliteStore

PDF = Document(
    id="a1" * 16,
    meeting_id="mtg-1",
    name="Báo cáo quý 3.pdf",
    kind="pdf",
    content_type="application/pdf",
    size=12345,
    sha256="0f" * 32,
    uploaded_by="chu.tri",
    uploaded_at=1000.5,
)


async def test_documents_are_kept_per_meeting_in_upload_order(any_store):
    assert await any_store.meeting_documents("mtg-1") == []
    later = replace(PDF, id="b2" * 16, name="Số liệu.xlsx", kind="xlsx", uploaded_at=2000.0)
    other = replace(PDF, id="c3" * 16, meeting_id="mtg-2")
    for document in (later, PDF, other):
        await any_store.add_document(document)

    assert await any_store.meeting_documents("mtg-1") == [PDF, later]
    assert await any_store.meeting_documents("mtg-2") == [other]
    assert await any_store.get_document("mtg-1", PDF.id) == PDF
    # A document is found only through its own meeting.
    with pytest.raises(NotFound):
        await any_store.get_document("mtg-2", PDF.id)


async def test_a_document_id_is_taken_once(any_store):
    await any_store.add_document(PDF)
    with pytest.raises(Conflict):
        await any_store.add_document(replace(PDF, name="khác.pdf"))
    assert await any_store.meeting_documents("mtg-1") == [PDF]


async def test_deleting_a_document_forgets_it(any_store):
    await any_store.add_document(PDF)
    with pytest.raises(NotFound):
        await any_store.delete_document("mtg-2", PDF.id)  # not that meeting's
    await any_store.delete_document("mtg-1", PDF.id)
    assert await any_store.meeting_documents("mtg-1") == []
    with pytest.raises(NotFound):
        await any_store.get_document("mtg-1", PDF.id)
    with pytest.raises(NotFound):
        await any_store.delete_document("mtg-1", PDF.id)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _read(store: Store, document_id: str) -> bytes:
    return b"".join([chunk async for chunk in store.document_bytes(document_id)])


async def test_the_bytes_are_kept_for_the_other_nodes_where_the_engine_keeps_them(any_store):
    # Not a multiple of the chunk size, given in pieces of another size.
    data = bytes(range(256)) * (3 * 4096 + 7)
    pieces = [data[i : i + 300_000] for i in range(0, len(data), 300_000)]
    kept = await any_store.keep_document_bytes(PDF.id, _chunks(*pieces))
    if not kept:  # the embedded engine: one node, the data directory holds them
        assert isinstance(any_store, SqliteStore)
        with pytest.raises(NotFound):
            await _read(any_store, PDF.id)
        return
    await any_store.add_document(PDF)
    assert await _read(any_store, PDF.id) == data
    # Deleting the document deletes its bytes.
    await any_store.delete_document("mtg-1", PDF.id)
    with pytest.raises(NotFound):
        await _read(any_store, PDF.id)


async def test_bytes_of_an_upload_that_failed_are_dropped(any_store):
    if not await any_store.keep_document_bytes(PDF.id, _chunks(b"kept")):
        assert isinstance(any_store, SqliteStore)  # keeps none, so drops none
        await any_store.drop_document_bytes(PDF.id)
        return
    assert await _read(any_store, PDF.id) == b"kept"
    await any_store.drop_document_bytes(PDF.id)
    with pytest.raises(NotFound):
        await _read(any_store, PDF.id)

    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * (3 * 1024 * 1024)
        raise OSError("the disk went away")

    with pytest.raises(OSError):
        await any_store.keep_document_bytes(PDF.id, failing())
    with pytest.raises(NotFound):
        await _read(any_store, PDF.id)
