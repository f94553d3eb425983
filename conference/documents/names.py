"""An uploaded file's name, cleaned for showing and for ``Content-Disposition``.

The name is only ever shown: the file on disk is named by the document's id
(:mod:`conference.documents.files`), so no uploaded name reaches a path.
Cleaning still drops what a name must not carry anywhere: folders (``../``,
``C:\\``), control and format characters (a right-to-left override could
make ``fdp.exe`` read as ``exe.pdf``), and leading dots.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 180


def clean_name(raw: str) -> str:
    """The last path part of ``raw``, NFC, without control characters; "" if nothing is left."""
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: controls (NUL, newline); Cf: format (bidi overrides, zero-width); Cs/Co: unpaired, private.
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co") or ch in "\t\n\r"
    )
    name = " ".join(name.split()).lstrip(". ").rstrip(". ")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and len(ext) <= 8:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_CHARS]
    return name


def extension(name: str) -> str:
    """The name's extension, lower case, without the dot ("" if none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def ascii_fallback(name: str) -> str:
    """The name in plain ASCII for old clients' ``filename=`` (diacritics dropped)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if ch.isascii() and ch.isprintable())
    plain = "".join(ch if ch not in '"\\;' else "_" for ch in plain).strip()
    return plain or "document"
