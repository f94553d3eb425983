"""DocumentStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conference.store import Conflict, Document, NotFound

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
