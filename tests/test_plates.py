"""The plate grammar (anpr_feed.plates) and the area-code table (anpr_feed.provinces)."""

from __future__ import annotations

import pytest

from anpr_feed import plates
from anpr_feed.plates import is_valid, parse
from anpr_feed.provinces import PROVINCES, UNASSIGNED_CODES, all_provinces, province_name

# text as OCR might give it -> (normalized, display, lines, kind, series)
LAYOUT_CASES: list[tuple[str | list[str], tuple[str, str, int, str, str]]] = [
    # car, one row, five digits (Circular 58/2020)
    ("20A-123.45", ("20A12345", "20A-123.45", 1, "car", "A")),
    # car, one row, older four-digit number
    ("30E-1534", ("30E1534", "30E-1534", 1, "car", "E")),
    # car, two rows
    (["75A", "123.45"], ("75A12345", "75A 123.45", 2, "car", "A")),
    (["30F", "1234"], ("30F1234", "30F 1234", 2, "car", "F")),
    # motorbike: letter + digit series, five and four digits
    (["20-B1", "123.45"], ("20B112345", "20-B1 123.45", 2, "motorbike", "B1")),
    (["59-S2", "2061"], ("59S22061", "59-S2 2061", 2, "motorbike", "S2")),
    # motorbike: two letters (under 50 cc; all new motorbike plates from 2023)
    (["21-LA", "021.13"], ("21LA02113", "21-LA 021.13", 2, "motorbike", "LA")),
    # electric motorbike: MĐ + digit; Đ is D in machine fields, Đ on display
    (["29-MĐ2", "729.72"], ("29MD272972", "29-MĐ2 729.72", 2, "motorbike", "MD2")),
    # special series: one row and two rows
    ("51LD-123.45", ("51LD12345", "51LD-123.45", 1, "special", "LD")),
    (["29KT", "123.45"], ("29KT12345", "29KT 123.45", 2, "special", "KT")),
    ("29TĐ-123.45", ("29TD12345", "29TĐ-123.45", 1, "special", "TD")),
    # tractor (MK + digit), two rows
    (["29-MK1", "123.45"], ("29MK112345", "29MK1 123.45", 2, "special", "MK1")),
    # foreign series: country code and serial
    ("80-NG-123-45", ("80NG12345", "80-NG-123-45", 1, "special", "NG")),
]


@pytest.mark.parametrize(("text", "expected"), LAYOUT_CASES)
def test_every_layout_parses_with_its_display_form(
    text: str | list[str], expected: tuple[str, str, int, str, str]
) -> None:
    normalized, display, lines, kind, series = expected
    plate = parse(text)
    assert plate is not None, text
    assert plate.normalized == normalized
    assert plate.display == display
    assert plate.lines == lines
    assert plate.kind == kind
    assert plate.series == series
    assert plate.province_code == normalized[:2]
    assert plate.number == normalized[2 + len(series) :]
    assert plate.repaired == ()
    assert is_valid(normalized)


def test_separators_spaces_case_and_line_breaks_do_not_matter() -> None:
    for text in ("20A-123.45", "20a 123 45", "20A12345", " 20A.123-45 "):
        plate = parse(text)
        assert plate is not None and plate.normalized == "20A12345", text
    two = parse("20-B1\n123.45")
    assert two is not None
    assert two.display == "20-B1 123.45"
    assert two.lines == 2


def test_display_of_each_family() -> None:
    assert plates.display_of("20", "A", "12345", "car", 1) == "20A-123.45"
    assert plates.display_of("20", "A", "12345", "car", 2) == "20A 123.45"
    assert plates.display_of("20", "A", "1234", "car", 1) == "20A-1234"
    assert plates.display_of("20", "B1", "12345", "motorbike", 2) == "20-B1 123.45"
    assert plates.display_of("29", "MD2", "72972", "motorbike", 2) == "29-MĐ2 729.72"
    assert plates.display_of("80", "NG", "12345", "foreign", 1) == "80-NG-123-45"


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("20", "Thái Nguyên"),
        ("29", "Hà Nội"),
        ("30", "Hà Nội"),
        ("31", "Hà Nội"),
        ("32", "Hà Nội"),
        ("33", "Hà Nội"),
        ("40", "Hà Nội"),
        ("41", "TP Hồ Chí Minh"),
        *[(str(c), "TP Hồ Chí Minh") for c in range(50, 60)],
        ("97", "Bắc Kạn"),
        ("98", "Bắc Giang"),
        ("99", "Bắc Ninh"),
        ("15", "Hải Phòng"),
        ("43", "Đà Nẵng"),
        ("65", "Cần Thơ"),
    ],
)
def test_province_from_the_area_code(code: str, province: str) -> None:
    assert PROVINCES[code] == province
    assert province_name(code) == province
    plate = parse(f"{code}A-123.45")
    assert plate is not None
    assert plate.province == province
    assert plate.province_code == code


def test_province_table_covers_the_63_provinces_and_only_assigned_codes() -> None:
    names = {name for code, name in PROVINCES.items() if code != "80"}
    assert len(names) == 63
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCES)
    assert min(PROVINCES) == "11"
    assert set(UNASSIGNED_CODES) == {"10", "13", "42", "44", "45", "46", "87", "91", "96"}
    assert all_provinces()[0] == ("11", "Cao Bằng")
    assert len(all_provinces()) == len(PROVINCES)
    assert province_name("13") is None


@pytest.mark.parametrize("code", ["00", "05", "10", "13", "42", "44", "45", "46", "87", "91", "96"])
def test_unknown_province_codes_are_rejected(code: str) -> None:
    assert parse(f"{code}A-123.45") is None
    assert parse([f"{code}-B1", "123.45"]) is None
    assert not is_valid(f"{code}A12345")


@pytest.mark.parametrize(
    "text",
    [
        "0208.3855.123",  # a phone number on a truck
        "KM 52+300",  # a kilometre post
        "CAM 03 QL3 KM52+300",
        "CHẬM LẠI",
        "60",
        "",
        "   ",
        "20A-123",  # too short
        "20A-123.456",  # too long for a car, and the dots say it is not 20-A1 234.56
        "12345678",  # no series
        "TM-12-34",  # a military plate (letters instead of the area code)
        "20A-123.45 汉",  # a character no plate has
        ["20-R1", "123.45"],  # R is never the first letter of a motorbike series
        "20I-123.45",  # I, J, O, Q, W are not series letters (I as 1 is not a letter either)
        "20W-123.45",
    ],
)
def test_non_plates_are_rejected(text: str | list[str]) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "normalized", "repaired"),
    [
        ("2OA-123.45", "20A12345", ("O->0 at 1",)),  # O where only a digit can be
        ("208-123.45", "20B12345", ("8->B at 2",)),  # 8 where only a letter can be
        (["20-81", "123.45"], "20B112345", ("8->B at 2",)),
        ("20A-1Z3.45", "20A12345", ("Z->2 at 4",)),  # Z in the number
        ("302-123.45", "30Z12345", ("2->Z at 2",)),  # 2 as the series letter
        ("20A-I23.45", "20A12345", ("I->1 at 3",)),  # I in the number
        ("20A-1D3.45", "20A10345", ("D->0 at 4",)),  # D in the number
    ],
)
def test_look_alikes_are_repaired_where_only_one_reading_fits(
    text: str | list[str], normalized: str, repaired: tuple[str, ...]
) -> None:
    plate = parse(text)
    assert plate is not None, text
    assert plate.normalized == normalized
    assert plate.repaired == repaired
    # The repaired text is a plate as it stands.
    assert is_valid(plate.normalized)
    raw = "".join(c for c in "".join(text) if c.isalnum()).upper()
    assert not is_valid(raw)


def test_a_zero_in_a_two_letter_series_is_a_d() -> None:
    plate = parse("29-0A-123.45")
    assert plate is not None
    assert plate.series == "DA"
    assert plate.repaired == ("0->D at 2",)


@pytest.mark.parametrize(
    "text",
    [
        "291-123.45",  # 1 as a series letter: T or L
        "297-123.45",  # 7 as a series letter: T or Z
        "20A-T23.45",  # T in the number: 1 or 7
    ],
)
def test_ambiguous_look_alikes_are_refused(text: str) -> None:
    assert parse(text) is None


def test_repairs_never_insert_or_remove_characters() -> None:
    # One character missing: no repair can make it a five-digit car plate by guessing.
    plate = parse("20A-123.4")
    assert plate is not None
    assert plate.normalized == "20A1234"  # it is a valid older four-digit plate as read
    assert plate.repaired == ()
    assert parse("20A-12.3") is None


def test_clean_reading_wins_over_a_repaired_one() -> None:
    # "1" in a motorbike series is a digit as read; it must not become the T of a KT series.
    plate = parse(["29-K1", "123.45"])
    assert plate is not None
    assert plate.series == "K1"
    assert plate.repaired == ()


def test_layouts_are_the_decoders_source() -> None:
    # Every layout family the module promises is present.
    families = {layout.family for layout in plates.LAYOUTS}
    assert families == {"car", "motorbike", "special", "foreign"}
    car5 = plates.LAYOUTS[0]
    assert car5.family == "car" and car5.digits == 5
    assert set(car5.slots[0]) == set(plates.SERIES_LETTERS)
    assert not set("IJOQW") & set(plates.SERIES_LETTERS)
