"""Alerts: a pass matches the watch list or comes from an outbreak province.

A watch-list pattern is a normalised plate with ``*`` (any run of characters)
and ``?`` (one character). A read can be off by one character that OCR
confuses (8/B, 0/D, ...): such a near match still alerts, and the alert says
it was fuzzy and which character was read differently, so an officer checks
the picture before stopping anyone. Nothing else is fuzzy: a plate that is
not on a list, not even one confusion away, never alerts.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from anpr_feed.events_store.records import Outbreak, WatchEntry
from conference import client_json

# Characters OCR mistakes for each other on plates (both ways).
CONFUSABLE: dict[str, str] = {}
for _a, _b in (
    ("8", "B"),
    ("0", "D"),
    ("0", "O"),
    ("6", "G"),
    ("2", "Z"),
    ("5", "S"),
    ("1", "T"),
    ("1", "I"),
    ("4", "A"),
    ("M", "N"),
):
    CONFUSABLE.setdefault(_a, "")
    CONFUSABLE.setdefault(_b, "")
    CONFUSABLE[_a] += _b
    CONFUSABLE[_b] += _a

PATTERN_CHARS = re.compile(r"^[A-Z0-9*?]{2,16}$")


class WatchListError(ValueError):
    """A pattern or an upload that cannot be used; the message says what is wrong."""


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut short: an upload's field may be huge."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def normalize_pattern(text: str) -> str:
    """Upper case, Đ as D, separators dropped; raises :class:`WatchListError` if unusable."""
    pattern = "".join(ch for ch in text.upper().replace("Đ", "D") if ch not in " -._")
    if not PATTERN_CHARS.match(pattern):
        raise WatchListError(
            f"{_shown(text)} is not a plate pattern: use letters, digits, * (any run) "
            "and ? (one character)"
        )
    if pattern.strip("*?") == "" or len(pattern.replace("*", "").replace("?", "")) < 2:
        raise WatchListError(f"{_shown(text)} would match almost every plate")
    return pattern


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")


@dataclass(frozen=True)
class Alert:
    """Why a pass alerts."""

    kind: str  # "watch" or "outbreak"
    reason: str
    pattern: str | None = None
    province_code: str | None = None
    fuzzy: str | None = None  # e.g. "read 8 where the list has B (position 3)"

    def describe(self) -> str:
        """One line for people."""
        base = (
            f"danh sách theo dõi {self.pattern}: {self.reason}"
            if self.kind == "watch"
            else f"xe từ vùng dịch (mã tỉnh {self.province_code}): {self.reason}"
        )
        return base + (f" — gần đúng, {self.fuzzy}" if self.fuzzy else "")


class Matcher:
    """Matches plates against a watch list and outbreak markings."""

    def __init__(
        self, watch: Sequence[WatchEntry] = (), outbreaks: Sequence[Outbreak] = ()
    ) -> None:
        self._watch = [(entry, _regex(entry.pattern)) for entry in watch]
        self._outbreaks = list(outbreaks)

    def match(self, plate: str, province_code: str, when: date) -> list[Alert]:
        """Every alert a pass of ``plate`` on ``when`` raises (exact matches first)."""
        alerts: list[Alert] = []
        for entry, regex in self._watch:
            if regex.match(plate):
                alerts.append(Alert("watch", entry.reason, pattern=entry.pattern))
        if not alerts:
            for entry, regex in self._watch:
                near = _one_confusion(plate, regex)
                if near is not None:
                    alerts.append(Alert("watch", entry.reason, pattern=entry.pattern, fuzzy=near))
        day = when.isoformat()
        for outbreak in self._outbreaks:
            if outbreak.province_code == province_code and outbreak.start <= day <= outbreak.end:
                alerts.append(Alert("outbreak", outbreak.reason, province_code=province_code))
        # The same province marked twice for the same reason (overlapping
        # dates, or entered twice) is one reason to stop the vehicle, said once.
        return list(dict.fromkeys(alerts))


def _one_confusion(plate: str, regex: re.Pattern[str]) -> str | None:
    """If changing one confusable character makes ``plate`` match, say which."""
    for index, char in enumerate(plate):
        for other in CONFUSABLE.get(char, ""):
            candidate = plate[:index] + other + plate[index + 1 :]
            if regex.match(candidate):
                return f"đọc được {char} ở vị trí {index + 1}, danh sách ghi {other}"
    return None


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """The non-empty rows of a CSV text, numbered; a malformed one raises WatchListError."""
    rows: list[tuple[int, list[str]]] = []
    number = 0
    try:
        # csv raises csv.Error on a field over its limit (128 KiB) or a stray newline.
        for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
            if any(row):
                rows.append((number, row))
    except csv.Error as exc:
        raise WatchListError(f"line {number + 1}: the CSV is malformed ({exc})") from exc
    return rows


def parse_upload(data: bytes, content_type: str) -> list[tuple[str, str]]:
    """(pattern, reason) pairs from an uploaded CSV (pattern,reason) or JSON list.

    An empty or malformed upload raises :class:`WatchListError` naming the
    line, and nothing of it is taken.
    """
    if not data.strip():
        raise WatchListError("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WatchListError("the file is not UTF-8 text") from exc
    rows: Iterable[tuple[int, list[str]]]
    if "json" in content_type or text.lstrip().startswith(("[", "{")):
        try:
            items = client_json.loads(text)
        except client_json.ClientJsonError as exc:
            raise WatchListError(f"the JSON is malformed: {exc}") from exc
        if not isinstance(items, list):
            raise WatchListError('the JSON must be a list of {"pattern": ..., "reason": ...}')
        rows = []
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict) or not isinstance(item.get("pattern"), str):
                raise WatchListError(f"item {number}: needs a text 'pattern'")
            rows.append((number, [item["pattern"], str(item.get("reason", ""))]))
    else:
        rows = _csv_rows(text)
    out: list[tuple[str, str]] = []
    for number, row in rows:
        if (
            number == 1
            and row
            and row[0].strip().lower() in ("pattern", "plate", "biển số", "bien so")
        ):
            continue  # a header
        if len(row) < 2 or not row[1].strip():
            raise WatchListError(f"line {number}: needs a plate pattern and a reason")
        try:
            out.append((normalize_pattern(row[0]), row[1].strip()[:300]))
        except WatchListError as exc:
            raise WatchListError(f"line {number}: {exc}") from exc
    if not out:
        raise WatchListError("the file has no entries")
    return out
