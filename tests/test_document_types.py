"""What a document upload may be: its name cleaned, its type proved by its bytes, no PDF scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from conference.documents.names import ascii_fallback, clean_name
from conference.documents.types import DocumentRejected, check_file
from tests.support.documents import (
    DOCX_MAIN,
    docx_bytes,
    jpeg_bytes,
    office_bytes,
    pdf_bytes,
    pdf_with_hidden_script,
    pdf_with_launch,
    pdf_with_open_action_script,
    png_bytes,
    xlsx_bytes,
)


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.part"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Báo cáo quý 3.pdf", "Báo cáo quý 3.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\x\\Tờ trình.docx", "Tờ trình.docx"),
        ("..", ""),
        (".hidden.pdf", "hidden.pdf"),
        ("a\x00b\nc.pdf", "ab c.pdf"),
        ("fdp\u202eexe.pdf", "fdpexe.pdf"),  # a right-to-left override is dropped
        ("Bao cao  \t  moi.pdf", "Bao cao moi.pdf"),
    ],
)
def test_names_are_cleaned_to_a_last_part_without_controls(raw, clean):
    assert clean_name(raw) == clean


def test_a_long_name_keeps_its_extension():
    name = clean_name("x" * 500 + ".xlsx")
    assert len(name) == 180 and name.endswith(".xlsx")


def test_the_ascii_fallback_drops_diacritics_and_quotes():
    assert ascii_fallback('Đề án "số 1"; Thái Nguyên.pdf') == "De an _so 1__ Thai Nguyen.pdf"


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("Báo cáo.pdf", pdf_bytes(), "pdf"),
        ("Tờ trình.DOCX", docx_bytes(), "docx"),
        ("Số liệu.xlsx", xlsx_bytes(), "xlsx"),
        ("Sơ đồ.png", png_bytes(), "png"),
        ("Ảnh.jpg", jpeg_bytes(), "jpeg"),
        ("Ảnh.jpeg", jpeg_bytes(), "jpeg"),
    ],
)
def test_each_accepted_kind_is_recognised(tmp_path, name, data, kind):
    assert check_file(_file(tmp_path, data), name).name == kind


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("setup.exe", b"MZ\x90\x00", "unsupported-type"),
        ("no extension", pdf_bytes(), "unsupported-type"),
        ("trang.html", b"<html><script>alert(1)</script>", "unsupported-type"),
        ("ảnh.pdf", png_bytes(), "type-mismatch"),  # the name says PDF, the bytes PNG
        ("báo cáo.png", pdf_bytes(), "type-mismatch"),
        ("tờ trình.docx", xlsx_bytes(), "type-mismatch"),  # a workbook named as a document
        ("số liệu.xlsx", pdf_bytes(), "type-mismatch"),
        ("nén.docx", b"PK\x03\x04 not really a zip", "type-mismatch"),
        ("tờ trình.docx", office_bytes("application/xml"), "type-mismatch"),
        (
            "macro.docx",
            office_bytes(DOCX_MAIN, {"word/vbaProject.bin": b"\x00" * 10}),
            "document-has-macros",
        ),
        ("trống.pdf", b"", "empty-file"),
        ("script.pdf", pdf_with_open_action_script(), "pdf-script"),
        ("ẩn.pdf", pdf_with_hidden_script(), "pdf-script"),
        ("launch.pdf", pdf_with_launch(), "pdf-script"),
        ("khóa.pdf", pdf_bytes() + b"\ntrailer << /Encrypt 5 0 R >>\n", "pdf-encrypted"),
    ],
)
def test_bad_files_are_refused_with_a_code(tmp_path, name, data, code):
    with pytest.raises(DocumentRejected) as refused:
        check_file(_file(tmp_path, data), name)
    assert refused.value.code == code
