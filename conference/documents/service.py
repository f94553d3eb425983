"""A meeting's documents: upload, list, read, delete and show, scoped like the meeting.

Whoever may see a meeting (:meth:`MeetingService.view`: its hosts in scope,
its invited sites' accounts, administrators) may list and read its
documents; a site in the meeting page reads them with its join token (the
web layer checks that token is for this meeting). Only those who may manage
the meeting upload, delete and show a document.

With several nodes: the store may keep the bytes too (the Redis engine), and a
node whose data directory lacks a file fetches it from there (checked against
its SHA-256) before serving it. Showing runs in the live room of the meeting's
home: a node holding only a carrier copy (or no room) forwards it there, as a
console command (``document-show``, ``document-hide``, and
``documents-changed`` after an upload or delete), and the cascade carries the
shown document and the count of changes to the carrier copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from conference.console_commands import CommandContext, CommandHandler, CommandResult
from conference.documents.files import DocumentFiles, TooLarge, new_document_id
from conference.documents.names import clean_name
from conference.documents.types import DocumentRejected, check_file, kind_of_name
from conference.meetings import MeetingService, MeetingView
from conference.permissions import Forbidden, Principal
from conference.rooms.console_events import CommandReply
from conference.rooms.events import DocumentShown
from conference.rooms.room import Room
from conference.store import Document, Meeting, NotFound, Store

logger = logging.getLogger(__name__)

MAX_PAGE = 100_000

# Runs a console command at the meeting's home node (conference.cluster.commands):
# (principal, meeting id, room id, command, site, its arguments).
Forward = Callable[
    [Principal, str, str, str, str | None, Mapping[str, Any] | None], Awaitable[CommandReply]
]


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
        self.forward: Forward | None = None  # set with several nodes (server/compose.py)

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
            # The other nodes read the bytes from the store (if it keeps them).
            await self.store.keep_document_bytes(document.id, self.files.chunks(document.id))
            await self.store.add_document(document)
        except BaseException:
            await self.files.delete(document.id)
            with contextlib.suppress(Exception):
                await self.store.drop_document_bytes(document.id)
            raise
        await self._changed(principal, meeting)
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
            # Uploaded to another node (or removed by hand): from the store, if it keeps it.
            await self._fetch(document)
        return document, path

    async def _fetch(self, document: Document) -> None:
        """Copy a document's bytes from the store to this node's disk, checked by its SHA-256.

        A chunk at a time through a temporary file (as an upload): never the
        whole file in memory, and nothing kept unless size and digest match.
        NotFound if the store does not keep them or they do not match.
        """
        try:
            received = await self.files.receive(
                self.store.document_bytes(document.id), document.size
            )
        except (NotFound, TooLarge) as exc:
            raise NotFound(f"the file of document {document.id!r} is not on this server") from exc
        if received.size != document.size or received.sha256 != document.sha256:
            await self.files.discard(received)
            logger.error("documents: the store's bytes of %s do not match its SHA-256", document.id)
            raise NotFound(f"the file of document {document.id!r} is damaged")
        await self.files.keep(received, document.id)

    async def delete(self, principal: Principal, meeting_id: str, document_id: str) -> None:
        """Delete a document (its record, then its bytes); a site showing it closes it."""
        meeting = await self.managed(principal, meeting_id)
        await self.store.delete_document(meeting.id, document_id)
        await self.files.delete(document_id)
        room = self._live_room(meeting.room_id)
        if room is None or room.carrier:
            if self.forward is not None:
                with contextlib.suppress(Forbidden):  # no home: nothing is shown anywhere
                    await self._at_home(principal, meeting, "document-hide", document_id)
        else:
            self.hide_here(room, document_id)
        await self._changed(principal, meeting)

    async def _changed(self, principal: Principal, meeting: Meeting) -> None:
        """Tell the sites in the live meeting (at every node) to list its documents again."""
        room = self._live_room(meeting.room_id)
        if room is not None and not room.carrier:
            room.documents_changed()  # the carrier copies follow (the home's state)
        elif self.forward is not None:
            with contextlib.suppress(Forbidden):  # the meeting is not open anywhere
                await self._at_home(principal, meeting, "documents-changed")

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
        room = self._live_room(meeting.room_id)
        if room is None or room.carrier:
            await self._at_home(principal, meeting, "document-show", document.id, page)
        else:
            room.show_document(shown)
        return shown

    async def hide(self, principal: Principal, meeting_id: str) -> None:
        """Close the shown document on every site's page."""
        meeting = await self.managed(principal, meeting_id)
        room = self._live_room(meeting.room_id)
        if room is None or room.carrier:
            await self._at_home(principal, meeting, "document-hide")
        else:
            room.show_document(DocumentShown(id=None))

    def shown(self, meeting: Meeting) -> DocumentShown | None:
        """The document the meeting's live room shows, if any (a carrier copy follows the home)."""
        room = self._live_room(meeting.room_id)
        return room.document if room is not None else None

    @staticmethod
    def hide_here(room: Room, document_id: str) -> None:
        """Close the shown document in ``room`` if it is ``document_id`` (deleted)."""
        if room.document is not None and room.document.id == document_id:
            room.show_document(DocumentShown(id=None))

    async def _at_home(
        self,
        principal: Principal,
        meeting: Meeting,
        command: str,
        document_id: str | None = None,
        page: int = 1,
    ) -> None:
        """Run a showing command at the node of the meeting's home (its live room)."""
        if self.forward is None:
            # One node, and the room is not open (or only a carrier copy is).
            raise Forbidden("room-not-open", "the meeting room is not open on this server")
        args: dict[str, Any] = {"page": page}
        if document_id is not None:
            args["document"] = document_id
        await self.forward(principal, meeting.id, meeting.room_id, command, None, args)

    def commands(self) -> dict[str, CommandHandler]:
        """The console commands another node forwards here, the meeting's home.

        Not reachable from a console socket (its commands are a fixed list):
        only from ``/api/meetings/{id}/shown-document`` on another node, through
        :mod:`conference.cluster.commands`, whose sender is not trusted: the
        home checks that the account may manage the meeting, and here the document.
        """

        async def show(c: CommandContext) -> CommandResult:
            document = await self._document_of(c)
            page = c.args.get("page")
            if not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
                raise Forbidden("bad-page", f"the page must be 1 to {MAX_PAGE}")
            c.room.show_document(
                DocumentShown(id=document.id, name=document.name, kind=document.kind, page=page)
            )
            return None

        async def hide(c: CommandContext) -> CommandResult:
            document_id = c.args.get("document")
            if document_id is None:
                c.room.show_document(DocumentShown(id=None))
            else:
                self.hide_here(c.room, str(document_id))  # deleted at another node
            return None

        async def changed(c: CommandContext) -> CommandResult:
            c.room.documents_changed()
            return None

        return {"document-show": show, "document-hide": hide, "documents-changed": changed}

    async def _document_of(self, c: CommandContext) -> Document:
        try:
            return await self.store.get_document(c.meeting.id, str(c.args.get("document")))
        except NotFound as exc:
            raise Forbidden("not-found", "no such document in this meeting") from exc
