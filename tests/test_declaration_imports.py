"""Reading files of travel declarations: every bad row named with its line, nothing half-kept."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from anpr_feed.declarations.imports import (
    DeclarationImportError,
    declarations_of,
    normalize_phone,
    parse_declarations,
    refuse_stored,
)
from anpr_feed.events_store import plate_store_for
from anpr_feed.provinces import province_code_of
from conference.store import open_store
from tests.support.server import TEST_SECRET

VN = ZoneInfo("Asia/Ho_Chi_Minh")

BAD_CSV = """biển số,họ tên,nơi đi,từ,đến,điện thoại
30A-123.45,Nguyễn Văn A,Hà Nội,2021-11-05,2021-11-06,0912 345 678
30A-12,Trần B,Hà Nội,2021-11-05,2021-11-06,
30A12346,Lê C,Hà Bắc,2021-11-05,2021-11-06,
30A12347,Phạm D,29,2021-11-06,2021-11-05,
30A12348,Hoàng E,29,2021-11-05,2021-11-06,12345
30A-123.45,Nguyễn Văn A,Hà Nội,2021-11-05,2021-11-06,
30A12349,Vũ G,29,hôm qua,2021-11-06,
""".encode()


def _errors(data: bytes, content_type: str = "text/csv") -> list[tuple[int, str]]:
    with pytest.raises(DeclarationImportError) as caught:
        parse_declarations(data, content_type, VN)
    return [(e.line, e.code) for e in caught.value.errors]


def test_every_bad_row_is_named_with_its_line():
    assert _errors(BAD_CSV) == [
        (3, "bad-plate"),
        (4, "unknown-province"),
        (5, "inverted-window"),
        (6, "bad-phone"),
        (7, "duplicate"),
        (8, "bad-time"),
    ]


def test_missing_columns_and_values_and_empty_files():
    assert _errors(b"plate,driver,from,to\n30A12345,A,2021-11-05,2021-11-06\n") == [
        (1, "missing-column")
    ]
    assert _errors(b"xe,ten\n30A12345,A\n") == [(1, "missing-header")]
    assert _errors(b"plate,driver,origin,from,to\n\n30A12345,,29,2021-11-05,2021-11-06\n") == [
        (3, "missing-value")
    ]
    assert _errors(b"  \n") == [(1, "empty")]
    assert _errors(b"\xff\xfe") == [(1, "not-utf8")]
    assert _errors(b"plate,driver,origin,from,to\n") == [(1, "no-rows")]


def test_json_items_are_numbered():
    items = [
        {
            "plate": "20A-123.45",
            "driver": "A",
            "origin": "Thái Nguyên",
            "from": "2021-11-05",
            "to": "2021-11-05",
        },
        {
            "plate": "20A12345",
            "driver": "B",
            "origin": "Atlantis",
            "from": "2021-11-05",
            "to": "2021-11-06",
        },
        "not an object",
    ]
    assert _errors(json.dumps(items).encode(), "application/json") == [
        (2, "unknown-province"),
        (3, "missing-value"),
    ]
    assert _errors(b"{broken", "application/json") == [(1, "bad-json")]


def test_a_good_file_in_either_form_gives_normalised_rows():
    csv_rows = parse_declarations(
        "Bien_so,Ho_ten,Noi_di,Tu,Den,SDT\n"
        "30A-123.45,Nguyễn Văn A,ha noi,05/11/2021 08:00,2021-11-06,+84 912 345 678\n".encode(),
        "text/csv",
        VN,
    )
    json_rows = parse_declarations(
        json.dumps(
            {
                "declarations": [
                    {
                        "plate": "30a 123 45",
                        "driver": "Nguyễn  Văn A",
                        "origin": "30",
                        "valid_from": "2021-11-05T08:00:00+07:00",
                        "to": "2021-11-06",
                        "phone": "0912.345.678",
                    }
                ]
            }
        ).encode(),
        "application/json",
        VN,
    )
    for rows in (csv_rows, json_rows):
        [row] = rows
        assert row.plate == "30A12345"
        assert row.driver == "Nguyễn Văn A"
        assert row.origin_code == "29"  # Hà Nội, whichever of its codes was written
        assert row.valid_from == datetime(2021, 11, 5, 8, tzinfo=VN).timestamp()
        assert row.valid_to == datetime(2021, 11, 6, 23, 59, 59, tzinfo=VN).timestamp()
        assert row.phone == "0912345678"


def test_provinces_and_phones_are_read_as_people_write_them():
    assert [
        province_code_of(t)
        for t in ("29", "Hà Nội", "ha noi", "Tỉnh Thái Nguyên", "TP HCM", "Đắk Lắk", "dak lak")
    ] == ["29", "29", "29", "20", "41", "47", "47"]
    assert [province_code_of(t) for t in ("80", "13", "Hà Bắc", "")] == [None] * 4
    assert normalize_phone("84912345678") == "0912345678"
    assert [normalize_phone(t) for t in ("12345", "0012345678", "091234567a")] == [None] * 3


def test_rows_already_stored_for_the_unit_are_refused_by_line():
    header, first = BAD_CSV.splitlines()[:2]
    again = b"\n".join(
        [
            header,
            b"30A99999,Vu G,29,2021-11-05,2021-11-06,",  # stored from another origin only
            first,  # line 3: stored already
            b"30A-123.45,Nguyen Van A,Ha Noi,2021-11-05,2021-11-07,",  # another window
        ]
    )
    rows = parse_declarations(again, "text/csv", VN)
    stored = declarations_of([rows[1]], "167", "host", "upload:a.csv", 1.0)
    stored += declarations_of(
        [dataclasses.replace(rows[0], origin_code="98")], "167", "host", "upload:a.csv", 1.0
    )
    with pytest.raises(DeclarationImportError) as caught:
        refuse_stored(rows, stored, "167")
    assert [(e.line, e.code) for e in caught.value.errors] == [(3, "already-stored")]
    assert str(caught.value).startswith("dòng 3: khai báo này")
    refuse_stored(rows, stored, "164")  # another unit keeps its own
    refuse_stored(rows, stored, None)


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CONFERENCE_SECRET=TEST_SECRET, CONFERENCE_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "conference", "anpr", "declarations", "import", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


async def test_the_cli_imports_all_rows_or_none(tmp_path):
    bad = tmp_path / "khai-bao.csv"
    bad.write_bytes(BAD_CSV)
    done = _cli(tmp_path / "data", str(bad))
    assert done.returncode == 2
    assert f"{bad}:3: " in done.stderr and "[bad-plate]" in done.stderr
    assert f"{bad}:8: " in done.stderr and "nothing was imported" in done.stderr
    good = tmp_path / "khai-bao.json"
    good.write_text(
        json.dumps(
            [
                {
                    "plate": "30A-123.45",
                    "driver": "A",
                    "origin": "Hà Nội",
                    "from": "2021-11-05",
                    "to": "2021-11-06",
                }
            ]
        )
    )
    done = _cli(tmp_path / "data", str(good))
    assert done.returncode == 0, done.stderr
    assert "imported 1 declarations" in done.stdout
    store = open_store(tmp_path / "data", None)
    try:
        [stored] = await plate_store_for(store).list_declarations()
    finally:
        await store.close()
    assert (stored.plate, stored.origin_code, stored.source) == (
        "30A12345",
        "29",
        "cli:khai-bao.json",
    )
    done = _cli(tmp_path / "data", str(good))  # the same file again: refused, by its item
    assert done.returncode == 2 and "[already-stored]" in done.stderr, done.stderr
    store = open_store(tmp_path / "data", None)
    try:
        assert len(await plate_store_for(store).list_declarations()) == 1
    finally:
        await store.close()
