"""Small real files of each document kind, and PDFs that hide a script in various ways."""

from __future__ import annotations

import io
import zipfile
import zlib

from PIL import Image, ImageDraw

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def pdf_bytes(pages: int = 2, text: str = "Trang") -> bytes:
    """A real PDF of ``pages`` pages (drawn by Pillow), each with its number on it."""
    images = []
    for number in range(1, pages + 1):
        image = Image.new("RGB", (420, 594), "white")
        ImageDraw.Draw(image).text((40, 40), f"{text} {number}", fill="black")
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def png_bytes() -> bytes:
    """A small PNG picture."""
    out = io.BytesIO()
    Image.new("RGB", (32, 16), "red").save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    """A small JPEG picture."""
    out = io.BytesIO()
    Image.new("RGB", (32, 16), "blue").save(out, format="JPEG")
    return out.getvalue()


def office_bytes(main: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip laid out like an Office file whose main part is of type ``main``."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_bytes() -> bytes:
    """A DOCX as far as its type goes."""
    return office_bytes(DOCX_MAIN)


def xlsx_bytes() -> bytes:
    """An XLSX as far as its type goes."""
    return office_bytes(XLSX_MAIN)


def pdf_with_open_action_script() -> bytes:
    """A PDF whose catalog runs JavaScript when opened, in plain sight."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript "
        b"/JS (app.alert('x')) >> >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def pdf_with_hidden_script() -> bytes:
    """A real PDF with a JavaScript action inside a compressed object stream, name hex-escaped."""
    hidden = zlib.compress(b"2 0 obj << /S /J#61vaScript /J#53 (app.alert(1)) >> endobj")
    return (
        pdf_bytes(1)
        + b"\n3 0 obj << /Type /ObjStm /Filter /FlateDecode /Length "
        + str(len(hidden)).encode()
        + b" >>\nstream\n"
        + hidden
        + b"\nendstream\nendobj\n"
    )


def pdf_with_launch() -> bytes:
    """A PDF with a /Launch action (runs a program)."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /Launch "
        b"/F (cmd.exe) >> >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
