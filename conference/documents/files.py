"""The documents' bytes: ``<data dir>/documents/<id>``, received a chunk at a time.

An upload is written to ``documents/incoming/`` as it arrives (never held
whole in memory), hashed on the way, and moved to its id's name only once
its type was checked; a refused or cut-off upload leaves nothing behind.
The name on disk is the document's id (random hex): an uploaded file name
never reaches a path. Every disk call runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from conference.private_files import FILE_MODE, private_dir

_ID = re.compile(r"[0-9a-f]{32}")
_WRITE_BATCH = 1024 * 1024  # bytes gathered before one write in the thread


class TooLarge(Exception):
    """The upload went over the size limit (what was written of it is gone)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Received:
    """An upload written to a temporary file: its path, size and SHA-256."""

    path: Path
    size: int
    sha256: str


def new_document_id() -> str:
    """A fresh document id (128 random bits, hex)."""
    return secrets.token_hex(16)


def is_document_id(value: str) -> bool:
    """Whether ``value`` has the form of a document id (and so is safe as a file name)."""
    return _ID.fullmatch(value) is not None


class DocumentFiles:
    """The documents folder of a data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"

    def path(self, document_id: str) -> Path:
        """Where a document's bytes are kept; ValueError for anything but an id."""
        if not is_document_id(document_id):
            raise ValueError("not a document id")
        return self.root / document_id

    async def receive(self, chunks: AsyncIterator[bytes], limit: int) -> Received:
        """Write ``chunks`` to a new temporary file, at most ``limit`` bytes.

        :class:`TooLarge` past the limit; on any failure (the client went
        away too) the temporary file is removed before the error goes on.
        """
        await asyncio.to_thread(private_dir, self.incoming)
        path = self.incoming / (secrets.token_hex(16) + ".part")
        fd = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        digest = hashlib.sha256()
        size = 0
        batch: list[bytes] = []
        pending = 0
        try:
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    batch.append(chunk)
                    pending += len(chunk)
                    if pending >= _WRITE_BATCH:
                        await asyncio.to_thread(_write, fd, digest, batch)
                        batch, pending = [], 0
                if batch:
                    await asyncio.to_thread(_write, fd, digest, batch)
                await asyncio.to_thread(os.fsync, fd)
            finally:
                os.close(fd)
        except BaseException:
            await asyncio.to_thread(_remove, path)
            raise
        return Received(path, size, digest.hexdigest())

    async def keep(self, received: Received, document_id: str) -> Path:
        """Move a checked upload to its document's name."""
        target = self.path(document_id)
        await asyncio.to_thread(os.replace, received.path, target)
        return target

    async def discard(self, received: Received) -> None:
        """Remove an upload that was refused."""
        await asyncio.to_thread(_remove, received.path)

    async def chunks(self, document_id: str) -> AsyncIterator[bytes]:
        """A kept document's bytes, :data:`_WRITE_BATCH` at a time (each read in a thread)."""
        fd = await asyncio.to_thread(os.open, self.path(document_id), os.O_RDONLY)
        try:
            while chunk := await asyncio.to_thread(os.read, fd, _WRITE_BATCH):
                yield chunk
        finally:
            os.close(fd)

    async def delete(self, document_id: str) -> None:
        """Remove a document's bytes (no error if they are gone already)."""
        await asyncio.to_thread(_remove, self.path(document_id))


def _write(fd: int, digest: hashlib._Hash, batch: list[bytes]) -> None:
    data = b"".join(batch)
    digest.update(data)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
