"""Reading a file of travel declarations: CSV with a header row, or a JSON list of objects.

Every row is checked before anything is kept: a file with any bad row gives
back every error found (up to :data:`MAX_ERRORS`), each with its line (CSV)
or item (JSON) number, and nothing of it is stored.

Columns (CSV header names or JSON keys; case, diacritics, spaces and ``_``
do not matter; Vietnamese or English):

============  ==========================================  ========
column        also written                                required
============  ==========================================  ========
``plate``     ``biển số``, ``bks``                          yes
``driver``    ``họ tên``, ``tài xế``, ``người khai``        yes
``origin``    ``nơi đi``, ``xuất phát``, ``tỉnh đi``        yes
``from``      ``từ``, ``từ ngày``, ``valid_from``           yes
``to``        ``đến``, ``đến ngày``, ``valid_to``           yes
``phone``     ``điện thoại``, ``số điện thoại``, ``sđt``    no
============  ==========================================  ========

``origin`` is a province: its plate code (``29``) or its name, with or
without diacritics (``Hà Nội``, ``ha noi``, ``TP HCM``). ``from``/``to`` are
``2021-11-05``, ``2021-11-05 08:00``, ISO 8601 with an offset, or day first
``05/11/2021 08:00``; a time without an offset is the server's time zone; a
date alone is the start of that day for ``from`` and its end for ``to``.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from anpr_feed.events_store.declaration_records import Declaration
from anpr_feed.plates import parse
from anpr_feed.provinces import fold_name, province_code_of
from conference import client_json

MAX_ROWS = 20_000  # a day's declarations of a province, with room to spare
MAX_ERRORS = 200  # errors given back for one file; the rest are counted
MAX_WINDOW_DAYS = 31  # a declaration is for one trip, not a season
MAX_FIELD = 200

# Column -> the folded names it may be written as.
COLUMNS: dict[str, tuple[str, ...]] = {
    "plate": ("plate", "bien so", "bks", "bien kiem soat"),
    "driver": ("driver", "ho ten", "tai xe", "nguoi khai", "name"),
    "origin": ("origin", "noi di", "xuat phat", "tinh di", "origin province"),
    "from": ("from", "tu", "tu ngay", "valid from", "tu luc"),
    "to": ("to", "den", "den ngay", "valid to", "den luc"),
    "phone": ("phone", "dien thoai", "so dien thoai", "sdt"),
}
REQUIRED = ("plate", "driver", "origin", "from", "to")
_BY_NAME = {name: column for column, names in COLUMNS.items() for name in names}

_PHONE = re.compile(r"^0[1-9]\d{8}$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass(frozen=True)
class RowError:
    """One problem of an imported file, at a line (CSV) or an item (JSON)."""

    line: int
    code: str  # bad-plate, unknown-province, bad-time, inverted-window, bad-phone, ...
    message: str  # Vietnamese, for the person who imports

    def as_dict(self) -> dict[str, Any]:
        """On the wire."""
        return {"line": self.line, "code": self.code, "message": self.message}


class DeclarationImportError(ValueError):
    """A file that cannot be imported; ``errors`` says every reason, with its line."""

    def __init__(self, errors: list[RowError], more: int = 0) -> None:
        self.errors = errors
        self.more = more  # errors found beyond MAX_ERRORS
        first = errors[0]
        super().__init__(
            f"dòng {first.line}: {first.message}"
            + (f" (và {len(errors) - 1 + more} lỗi khác)" if len(errors) + more > 1 else "")
        )


@dataclass(frozen=True)
class DeclarationRow:
    """One checked row, ready to be stored."""

    line: int
    plate: str
    driver: str
    origin_code: str
    valid_from: float
    valid_to: float
    phone: str


def normalize_phone(text: str) -> str | None:
    """A Vietnamese phone number as ``0xxxxxxxxx`` (``+84``/``84`` read as ``0``); None if unfit."""
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _PHONE.match(digits) else None


def normalize_plate(text: str) -> str | None:
    """A plate as the reader normalises it ("30A-123.45" -> "30A12345"), or None.

    A person typed it, so nothing is repaired: a letter where a digit belongs
    is an error to fix in the file, not a guess.
    """
    plate = parse(text[:MAX_FIELD])
    if plate is None or plate.repaired:
        return None
    return plate.normalized


def parse_time(text: str, zone: tzinfo, end_of_day: bool) -> float | None:
    """``text`` as unix seconds (see the module docstring); None if it is not a time."""
    text = text.strip()
    day_first = _DAY_FIRST.match(text)
    try:
        if day_first:
            d, m, y, hh, mm, ss = day_first.groups()
            moment = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
            date_only = hh is None
        else:
            moment = datetime.fromisoformat(text)
            date_only = len(text) <= 10
    except ValueError:
        return None
    if date_only and end_of_day:
        moment = datetime.combine(moment.date() + timedelta(days=1), time()) - timedelta(seconds=1)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _header(row: list[str]) -> dict[str, int] | None:
    """Column -> index, if ``row`` names at least the plate column; else None."""
    found: dict[str, int] = {}
    for index, name in enumerate(row):
        column = _BY_NAME.get(fold_name(name).replace("_", " "))
        if column is not None and column not in found:
            found[column] = index
    return found if "plate" in found else None


def _csv_items(text: str) -> Iterable[tuple[int, dict[str, str]]]:
    """(line, {column: value}) of a CSV with a header row; raises on a missing column."""
    reader = csv.reader(io.StringIO(text))
    header: dict[str, int] | None = None
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row)
                if header is None:
                    raise DeclarationImportError(
                        [
                            RowError(
                                reader.line_num,
                                "missing-header",
                                "dòng đầu phải là tên cột: plate, driver, origin, from, to, "
                                "phone (hoặc biển số, họ tên, nơi đi, từ, đến, điện thoại)",
                            )
                        ]
                    )
                missing = [c for c in REQUIRED if c not in header]
                if missing:
                    raise DeclarationImportError(
                        [
                            RowError(
                                reader.line_num,
                                "missing-column",
                                f"thiếu cột: {', '.join(missing)}",
                            )
                        ]
                    )
                continue
            yield (
                reader.line_num,
                {
                    column: row[index] if index < len(row) else ""
                    for column, index in header.items()
                },
            )
    except csv.Error as exc:
        raise DeclarationImportError(
            [RowError(reader.line_num + 1, "bad-csv", f"CSV hỏng ({exc})")]
        ) from exc


def _json_items(text: str) -> Iterable[tuple[int, dict[str, str]]]:
    """(item number, {column: value}) of a JSON list of objects (or {"declarations": [...]})."""
    try:
        items = client_json.loads(text)
    except client_json.ClientJsonError as exc:
        raise DeclarationImportError([RowError(1, "bad-json", f"JSON hỏng: {exc}")]) from exc
    if isinstance(items, dict) and isinstance(items.get("declarations"), list):
        items = items["declarations"]
    if not isinstance(items, list):
        raise DeclarationImportError(
            [RowError(1, "bad-json", "JSON phải là một danh sách các khai báo {plate, ...}")]
        )
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            yield number, {}
            continue
        fields: dict[str, str] = {}
        for key, value in item.items():
            column = _BY_NAME.get(fold_name(str(key)).replace("_", " "))
            if column is not None and isinstance(value, (str, int, float)):
                fields[column] = str(value)
        yield number, fields


def _check(line: int, fields: dict[str, str], zone: tzinfo) -> DeclarationRow | list[RowError]:
    """One row checked: the row, or every error in it."""
    errors: list[RowError] = []
    missing = [c for c in REQUIRED if not fields.get(c, "").strip()]
    if missing:
        return [RowError(line, "missing-value", f"thiếu giá trị: {', '.join(missing)}")]
    raw = {c: v.strip() for c, v in fields.items()}
    shown = {c: (v if len(v) <= 40 else v[:40] + "…") for c, v in raw.items()}
    plate = normalize_plate(raw["plate"])
    if plate is None:
        errors.append(RowError(line, "bad-plate", f"biển số {shown['plate']!r} không hợp lệ"))
    origin = province_code_of(raw["origin"][:MAX_FIELD])
    if origin is None:
        errors.append(
            RowError(line, "unknown-province", f"không rõ tỉnh/thành {shown['origin']!r}")
        )
    start = parse_time(raw["from"][:MAX_FIELD], zone, end_of_day=False)
    end = parse_time(raw["to"][:MAX_FIELD], zone, end_of_day=True)
    for name, value in (("from", start), ("to", end)):
        if value is None:
            errors.append(
                RowError(line, "bad-time", f"thời gian {name} {shown[name]!r} không đọc được")
            )
    if start is not None and end is not None:
        if end <= start:
            errors.append(RowError(line, "inverted-window", "thời gian đến phải sau thời gian từ"))
        elif end - start > MAX_WINDOW_DAYS * 86400:
            errors.append(
                RowError(line, "long-window", f"khoảng thời gian dài quá {MAX_WINDOW_DAYS} ngày")
            )
    phone = ""
    if raw.get("phone"):
        phone = normalize_phone(raw["phone"][:MAX_FIELD]) or ""
        if not phone:
            errors.append(
                RowError(line, "bad-phone", f"số điện thoại {shown['phone']!r} không hợp lệ")
            )
    driver = " ".join(raw["driver"].split())
    if len(driver) > MAX_FIELD:
        errors.append(RowError(line, "long-field", f"họ tên dài quá {MAX_FIELD} ký tự"))
    if errors:
        return errors
    assert plate is not None and origin is not None and start is not None and end is not None
    return DeclarationRow(line, plate, driver, origin, start, end, phone)


def parse_declarations(data: bytes, content_type: str, zone: tzinfo) -> list[DeclarationRow]:
    """Every row of an uploaded file, checked; :class:`DeclarationImportError` if any is bad.

    Slow for a big file (every plate parsed): callers on the event loop run
    it in a thread.
    """
    if not data.strip():
        raise DeclarationImportError([RowError(1, "empty", "tệp trống")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeclarationImportError(
            [RowError(1, "not-utf8", "tệp không phải văn bản UTF-8")]
        ) from exc
    is_json = "json" in content_type or text.lstrip().startswith(("[", "{"))
    items = _json_items(text) if is_json else _csv_items(text)
    rows: list[DeclarationRow] = []
    errors: list[RowError] = []
    more = 0
    seen: dict[tuple[str, float, float], int] = {}
    for count, (line, fields) in enumerate(items, 1):
        if count > MAX_ROWS:
            raise DeclarationImportError(
                [RowError(line, "too-many-rows", f"tối đa {MAX_ROWS} khai báo một tệp")]
            )
        checked = _check(line, fields, zone)
        if isinstance(checked, DeclarationRow):
            key = (checked.plate, checked.valid_from, checked.valid_to)
            if key in seen:
                checked = [RowError(line, "duplicate", f"trùng với dòng {seen[key]}")]
            else:
                seen[key] = line
                rows.append(checked)
                continue
        for error in checked:
            if len(errors) < MAX_ERRORS:
                errors.append(error)
            else:
                more += 1
    if errors:
        raise DeclarationImportError(errors, more)
    if not rows:
        raise DeclarationImportError([RowError(1, "no-rows", "tệp không có khai báo nào")])
    return rows


def refuse_stored(
    rows: list[DeclarationRow], stored: Iterable[Declaration], unit_code: str | None
) -> None:
    """Refuse rows already stored for ``unit_code``: same plate, origin and window.

    ``stored`` is what the store holds for the rows' plates. A file imported
    twice, or a day's file sent again with a few rows added, would otherwise
    keep every repeated declaration twice; each such row is named by its line
    (:class:`DeclarationImportError`) and, as for any bad row, nothing is kept.
    """
    kept = {
        (d.plate, d.origin_code, d.valid_from, d.valid_to)
        for d in stored
        if d.unit_code == unit_code
    }
    errors = [
        RowError(r.line, "already-stored", "khai báo này (cùng biển số, nơi đi, thời gian) đã có")
        for r in rows
        if (r.plate, r.origin_code, r.valid_from, r.valid_to) in kept
    ]
    if errors:
        raise DeclarationImportError(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))


def declarations_of(
    rows: list[DeclarationRow], unit_code: str | None, by: str, source: str, now: float
) -> list[Declaration]:
    """The records of checked rows, imported by ``by`` for ``unit_code`` from ``source``."""
    return [
        Declaration(
            id=secrets.token_hex(8),
            plate=r.plate,
            driver=r.driver,
            origin_code=r.origin_code,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            phone=r.phone,
            source=source[:MAX_FIELD],
            unit_code=unit_code,
            imported_by=by,
            imported_at=now,
        )
        for r in rows
    ]
