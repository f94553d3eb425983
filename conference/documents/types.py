"""The type a file's bytes prove, checked against its name; PDFs with scripts are refused.

A document is accepted only if its extension and its bytes agree: PDF
(``%PDF-``), PNG, JPEG, and DOCX and XLSX (zip archives whose
``[Content_Types].xml`` declares a Word document or an Excel workbook; the
macro-enabled kinds and archives carrying a ``vbaProject.bin`` are refused).

A PDF that can run something when opened is refused rather than cleaned:
any name ``/JS``, ``/JavaScript`` or ``/Launch`` (also spelled with ``#xx``
escapes, also inside compressed streams, where object streams hide
dictionaries) makes it "a PDF with a script". An encrypted PDF is refused
too, because its streams cannot be read to check them. Everything here
reads the file from disk and blocks: callers run it in a thread.
"""

from __future__ import annotations

import mmap
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conference.documents.names import extension


class DocumentRejected(ValueError):
    """A file that is not accepted; ``code`` is stable, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Kind:
    """A type of document: its name, its media type, the extensions it may carry."""

    name: str
    content_type: str
    extensions: tuple[str, ...]


PDF = Kind("pdf", "application/pdf", ("pdf",))
DOCX = Kind(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ("docx",),
)
XLSX = Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PNG = Kind("png", "image/png", ("png",))
JPEG = Kind("jpeg", "image/jpeg", ("jpg", "jpeg"))
KINDS = (PDF, DOCX, XLSX, PNG, JPEG)
ACCEPTED_EXTENSIONS = tuple(ext for kind in KINDS for ext in kind.extensions)

# The main part each Office kind's [Content_Types].xml must declare.
_OFFICE_MAIN = {
    "docx": b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
_CONTENT_TYPES_LIMIT = 1024 * 1024  # a real one is a few KiB; more is not an Office file

# Names that make a PDF run something. A name may spell any character as #xx.
_PDF_ACTIVE = {b"JS", b"JavaScript", b"Launch"}
_PDF_NAME = re.compile(rb"/(?:[JLE]|#[0-9A-Fa-f]{2})[^\s/<>\[\]()%{}]{0,40}")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")
# Decompressed bytes checked at most, over all streams: a small file that
# inflates without end (a "zip bomb") is refused, not scanned for ever.
_INFLATE_BUDGET = 512 * 1024 * 1024
_PIECE = 1024 * 1024


def kind_of_name(name: str) -> Kind:
    """The kind a file name claims, or :class:`DocumentRejected` (unsupported-type)."""
    ext = extension(name)
    for kind in KINDS:
        if ext in kind.extensions:
            return kind
    raise DocumentRejected(
        "unsupported-type",
        f"only {', '.join('.' + e for e in ACCEPTED_EXTENSIONS)} files are accepted",
    )


def check_file(path: Path, name: str) -> Kind:
    """The kind of the file at ``path``, uploaded as ``name``, or :class:`DocumentRejected`."""
    claimed = kind_of_name(name)
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise DocumentRejected("empty-file", "the file is empty")
    found = _kind_of_bytes(head)
    if found is None or (found.name in ("docx", "xlsx")) != (claimed.name in ("docx", "xlsx")):
        raise DocumentRejected(
            "type-mismatch", f"the file's contents are not a {claimed.name.upper()} file"
        )
    if claimed.name in ("docx", "xlsx"):
        _check_office(path, claimed)
    elif found is not claimed:
        raise DocumentRejected(
            "type-mismatch",
            f"the file is named .{extension(name)} but its contents are {found.name.upper()}",
        )
    if claimed is PDF:
        check_pdf_scripts(path)
    return claimed


def _kind_of_bytes(head: bytes) -> Kind | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return DOCX  # a zip: which Office kind, if any, is read from its content types
    return None


def _check_office(path: Path, claimed: Kind) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename for info in archive.infolist()}
            if "[Content_Types].xml" not in names:
                raise DocumentRejected("type-mismatch", "the archive is not an Office document")
            with archive.open("[Content_Types].xml") as part:
                types = part.read(_CONTENT_TYPES_LIMIT + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as exc:
        raise DocumentRejected(
            "type-mismatch", "the file is not a readable Office document"
        ) from exc
    if len(types) > _CONTENT_TYPES_LIMIT:
        raise DocumentRejected("type-mismatch", "the archive is not an Office document")
    if _OFFICE_MAIN[claimed.name] not in types:
        raise DocumentRejected(
            "type-mismatch", f"the file's contents are not a {claimed.name.upper()} document"
        )
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise DocumentRejected("document-has-macros", "documents with macros are not accepted")


def check_pdf_scripts(path: Path) -> None:
    """:class:`DocumentRejected` (pdf-script) if the PDF can run a script or a program."""
    if path.stat().st_size == 0:
        raise DocumentRejected("empty-file", "the file is empty")
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if _active_name(data):
            raise _script_refusal()
        if re.search(rb"/Encrypt(?![A-Za-z])", data) is not None:
            raise DocumentRejected(
                "pdf-encrypted",
                "encrypted or password-protected PDFs cannot be checked; save it without protection",
            )
        budget = _INFLATE_BUDGET
        for start in _stream_starts(data):
            for piece in _inflate(data, start):
                budget -= len(piece)
                if budget < 0:
                    raise DocumentRejected("pdf-unreadable", "the PDF's contents cannot be checked")
                if _active_name(piece):
                    raise _script_refusal()


def _script_refusal() -> DocumentRejected:
    return DocumentRejected(
        "pdf-script", "PDFs that contain JavaScript or launch actions are not accepted"
    )


def _active_name(data: bytes | mmap.mmap) -> bool:
    for match in _PDF_NAME.finditer(data):
        name = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group()[1:])
        if name in _PDF_ACTIVE:
            return True
    return False


def _stream_starts(data: mmap.mmap) -> Iterator[int]:
    for match in _STREAM.finditer(data):
        yield match.end()


def _inflate(data: mmap.mmap, start: int) -> Iterator[bytes]:
    """The stream at ``start`` inflated, a piece at a time (nothing if it is not zlib data).

    A piece overlaps the one before by a few bytes, so a name cut between
    two pieces is still seen whole.
    """
    inflater = zlib.decompressobj()
    position, tail = start, b""
    while position < len(data):
        chunk = data[position : position + _PIECE]
        position += len(chunk)
        try:
            out = inflater.decompress(chunk, _PIECE)
            while out:
                yield tail + out
                tail = out[-48:]
                out = inflater.decompress(inflater.unconsumed_tail, _PIECE)
        except zlib.error:
            return
        if inflater.eof:
            return
