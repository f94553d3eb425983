"""A meeting's documents: upload, list, read, delete and show, scoped like the meeting.

Whoever may see a meeting (:meth:`MeetingService.view`: its hosts in scope,
its invited sites' accounts, administrators) may list and read its
documents; a site in the meeting page reads them with its join token (the
web layer checks that token is for this meeting). Only those who may manage
the meeting upload, delete and show a document.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from conference.documents.files import DocumentFiles, new_document_id
from conference.documents.names import clean_name
from conference.documents.types import DocumentRejected, check_file, kind_of_name
from conference.meetings import MeetingService, MeetingView
from conference.permissions import Forbidden, Principal
from conference.rooms.events import DocumentsChanged, DocumentShown
from conference.rooms.room import Room
from conference.store import Document, Meeting, NotFound, Store

MAX_PAGE = 100_000


class DocumentService:
    """The documents of every meeting: records in the store, bytes in :class:`DocumentFiles`."""

    def __init__(
        self,
        store: Store,
        meetings: MeetingService,
        files: DocumentFiles,
        max_bytes: int,
        live_room: Callable[[str], Room | None],
    ) -> None:
        self.store = store
        self.meetings = meetings
        self.files = files
        self.max_bytes = max_bytes
        self._live_room = live_room

    # -- who may ----------------------------------------------------------------------

    async def readable(self, principal: Principal, meeting_id: str) -> MeetingView:
        """The meeting, if ``principal`` may see it (and so read its documents)."""
        return await self.meetings.view(principal, meeting_id)

    async def managed(self, principal: Principal, meeting_id: str) -> Meeting:
        """The meeting, if ``principal`` may manage it (and so change its documents)."""
        view = await self.meetings.view(principal, meeting_id)
        if not view.can_manage:
            raise Forbidden("not-your-meeting", "only the meeting's hosts manage its documents")
        return view.meeting

    # -- documents --------------------------------------------------------------------

    async def upload(
        self,
        principal: Principal,
        meeting_id: str,
        raw_name: str,
        chunks: AsyncIterator[bytes],
    ) -> Document:
        """Receive a file for the meeting, check it, and keep it.

        :class:`DocumentRejected` for a bad name or type (nothing is kept),
        :class:`~conference.documents.files.TooLarge` past the size limit.
        """
        meeting = await self.managed(principal, meeting_id)
        if meeting.cancelled_at is not None:
            raise Forbidden("meeting-cancelled", "this meeting was cancelled")
        name = clean_name(raw_name)
        if not name:
            raise DocumentRejected("bad-name", "the file needs a name")
        kind_of_name(name)  # refuse an unaccepted extension before reading any byte
        received = await self.files.receive(chunks, self.max_bytes)
        try:
            if received.size == 0:
                raise DocumentRejected("empty-file", "the file is empty")
            kind = await asyncio.to_thread(check_file, received.path, name)
            document = Document(
                id=new_document_id(),
                meeting_id=meeting.id,
                name=name,
                kind=kind.name,
                content_type=kind.content_type,
                size=received.size,
                sha256=received.sha256,
                uploaded_by=principal.username,
                uploaded_at=time.time(),
            )
            await self.files.keep(received, document.id)
        except BaseException:
            await self.files.discard(received)
            raise
        try:
            await self.store.add_document(document)
        except BaseException:
            await self.files.delete(document.id)
            raise
        self._changed(meeting)
        return document

    async def meeting_documents(self, meeting_id: str) -> list[Document]:
        """The meeting's documents (name, size, SHA-256, uploader, time), oldest first.

        No access check: for callers that checked it already (the web layer,
        the minutes of a meeting its host downloads).
        """
        return await self.store.meeting_documents(meeting_id)

    async def open(self, meeting_id: str, document_id: str) -> tuple[Document, Path]:
        """A document of the meeting and where its bytes are (access checked by the caller)."""
        document = await self.store.get_document(meeting_id, document_id)
        path = self.files.path(document.id)
        if not await asyncio.to_thread(path.is_file):
            # Kept in the store (shared by the nodes) but uploaded to another
            # node's data directory, or removed by hand.
            raise NotFound(f"the file of document {document_id!r} is not on this server")
        return document, path

    async def delete(self, principal: Principal, meeting_id: str, document_id: str) -> None:
        """Delete a document (its record, then its bytes); a site showing it closes it."""
        meeting = await self.managed(principal, meeting_id)
        await self.store.delete_document(meeting.id, document_id)
        await self.files.delete(document_id)
        room = self._live_room(meeting.room_id)
        if room is not None and room.document is not None and room.document.id == document_id:
            room.show_document(DocumentShown(id=None))
        self._changed(meeting)

    def _changed(self, meeting: Meeting) -> None:
        """Tell the sites in the live meeting to list its documents again."""
        room = self._live_room(meeting.room_id)
        if room is not None:
            room.broadcast(DocumentsChanged())

    # -- showing ----------------------------------------------------------------------

    async def show(
        self, principal: Principal, meeting_id: str, document_id: str, page: int
    ) -> DocumentShown:
        """Open the document on every site's page of the live meeting, at ``page``."""
        meeting = await self.managed(principal, meeting_id)
        document = await self.store.get_document(meeting.id, document_id)
        if not 1 <= page <= MAX_PAGE:
            raise DocumentRejected("bad-page", f"the page must be 1 to {MAX_PAGE}")
        shown = DocumentShown(id=document.id, name=document.name, kind=document.kind, page=page)
        self._room(meeting).show_document(shown)
        return shown

    async def hide(self, principal: Principal, meeting_id: str) -> None:
        """Close the shown document on every site's page."""
        meeting = await self.managed(principal, meeting_id)
        self._room(meeting).show_document(DocumentShown(id=None))

    def shown(self, meeting: Meeting) -> DocumentShown | None:
        """The document the meeting's live room shows, if any."""
        room = self._live_room(meeting.room_id)
        return room.document if room is not None else None

    def _room(self, meeting: Meeting) -> Room:
        room = self._live_room(meeting.room_id)
        if room is None or room.carrier:
            # A carrier copy's sites follow the home's room; showing runs there.
            raise Forbidden("room-not-open", "the meeting room is not open on this server")
        return room
