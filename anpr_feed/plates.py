"""The grammar of Vietnamese plates: parse OCR text into a validated ``Plate``.

The layouts follow Circular 58/2020/TT-BCA (article 25 on plate colours and
series, appendix 02 for the area codes) and the plates of the older Circular
15/2014/TT-BCA that are still on the road:

========================  ===================  ==========================
layout                    one row              two rows
========================  ===================  ==========================
car, 5-digit number       ``30A-123.45``       ``30A`` / ``123.45``
car, 4-digit (older)      ``30A-1234``         ``30A`` / ``1234``
special car series        ``29LD-123.45``      ``29LD`` / ``123.45``
motorbike, letter+digit   --                   ``59-S2`` / ``206.17`` (or 4 digits)
motorbike, two letters    --                   ``21-LA`` / ``021.13`` (<50 cc; all new plates from 2023)
electric motorbike        --                   ``29-MĐ2`` / ``729.72``
foreign / diplomatic      ``80-NG-123-45``     --
========================  ===================  ==========================

Series letters are the 20 of the circular: A B C D E F G H K L M N P S T U V X
Y Z (never I, J, O, Q, W; R only for trailers and as the second letter of the
older two-letter motorbike series). The motorbike series digit is 1-9. Special
series: LD (foreign-invested enterprises), DA (foreign-funded projects), KT
(military enterprises), HC (limited operating range), TĐ (pilot assembly), CD
(police special-purpose), R/RM (trailers), MK1-9 (tractors), MĐ1-9 (electric
motorbikes), and the foreign series NG (diplomatic), QT (international
organisations), CV (technical/administrative staff) and NN (other foreigners),
whose plates carry a 3-digit country code and a 2-3 digit serial. Military
plates (two letters instead of the area code, red background) are not civilian
registrations and are rejected.

Đ is written D in every machine field (``normalized``, ``series``); only
``display`` writes the Đ of the MĐ and TĐ series, as it is on the plate.

OCR repair: where a position admits only letters, a digit that looks like
exactly one admissible letter is replaced (and the other way round). When a
character looks like two admissible ones (``1`` as T or L, ``T`` as 1 or 7) the
text is refused instead: nothing is guessed and no character is ever inserted
or removed. Each repair is recorded in ``Plate.repaired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anpr_feed.provinces import PROVINCES
from anpr_feed.types import Plate

DIGITS = "0123456789"
NONZERO = "123456789"
# The 20 series letters of Circular 58/2020.
SERIES_LETTERS = "ABCDEFGHKLMNPSTUVXYZ"
# Second letter of a two-letter motorbike series: Circular 15/2014 (appendix 4,
# 2.1.2) used R there; Circular 24/2023 uses the 20 letters. Accept the union.
SECOND_LETTERS = SERIES_LETTERS + "R"

# Special domestic series (two letters, or R alone for trailers).
SPECIAL_SERIES: dict[str, str] = {
    "LD": "foreign-invested enterprise",
    "DA": "foreign-funded project",
    "KT": "military enterprise",
    "HC": "limited operating range",
    "TD": "pilot assembly (TĐ)",
    "CD": "police special-purpose",
    "R": "trailer",
    "RM": "trailer",
}
# Foreign series: 3-digit country/organisation code, then a 2-3 digit serial.
FOREIGN_SERIES: dict[str, str] = {
    "NG": "diplomatic",
    "QT": "international organisation",
    "CV": "technical/administrative staff of a mission",
    "NN": "foreign organisation or individual",
}
# Series whose D is a Đ on the plate (for ``display`` only).
_D_STROKE_SERIES = ("MD", "TD")

# OCR look-alikes: for a character the OCR gave, the characters it may really be.
# A repair happens only when exactly one of them is admissible at the position.
LOOKALIKES: dict[str, str] = {
    # digits read where a letter belongs
    "0": "DO",
    "8": "B",
    "6": "G",
    "2": "Z",
    "5": "S",
    "4": "A",
    "1": "ITL",  # T and L are both series letters: refused
    "7": "TZ",  # both series letters: refused
    # letters read where a digit belongs (or O where a letter belongs)
    "O": "0D",
    "Q": "0",
    "D": "0",
    "U": "0",
    "B": "8",
    "G": "6",
    "Z": "2",
    "S": "5",
    "I": "1",
    "L": "1",
    "J": "1",
    "T": "17",  # 1 or 7: refused
    "A": "4",
}


@dataclass(frozen=True)
class Layout:
    """One plate layout: the series it admits, its number length and rows.

    ``normalized`` = area code (2 digits) + series + number; ``top_len`` is the
    length of the first row of a two-row plate (area code + series).
    """

    family: str  # "car", "special", "motorbike", "foreign"
    series: frozenset[str]  # every admissible series string
    digits: int  # length of the number
    rows: tuple[int, ...]  # (1,), (2,) or (1, 2)
    prior: float  # relative frequency, used only to break ties when decoding

    @property
    def series_lengths(self) -> tuple[int, ...]:
        """The distinct lengths of the admissible series, shortest first."""
        return tuple(sorted({len(s) for s in self.series}))

    @property
    def slots(self) -> list[str]:
        """Admissible characters per series position (the union over series)."""
        width = max(self.series_lengths)
        return ["".join(sorted({s[i] for s in self.series if len(s) > i})) for i in range(width)]


def _cross(first: str, second: str) -> frozenset[str]:
    return frozenset(a + b for a in first for b in second)


_CAR_SERIES = frozenset(SERIES_LETTERS)
_SPECIAL_CAR = frozenset(SPECIAL_SERIES)
_MOTO_SERIES = (
    (
        _cross(SERIES_LETTERS, NONZERO)
        | _cross(SERIES_LETTERS, SECOND_LETTERS)
        | frozenset("MD" + d for d in NONZERO)
    )
    - frozenset(SPECIAL_SERIES)
    - frozenset(FOREIGN_SERIES)
)  # those have their own layouts
_TRACTOR = frozenset("MK" + d for d in NONZERO)
_FOREIGN = frozenset(FOREIGN_SERIES)

# Every layout, most common first. The decoder in ocr_decode.py builds its
# automata from this list, so adding a layout here teaches both.
LAYOUTS: tuple[Layout, ...] = (
    Layout("car", _CAR_SERIES, 5, (1, 2), 1.0),
    Layout("car", _CAR_SERIES, 4, (1, 2), 0.5),
    Layout("motorbike", _MOTO_SERIES, 5, (2,), 1.0),
    Layout("motorbike", _MOTO_SERIES, 4, (2,), 0.5),
    Layout("special", _SPECIAL_CAR, 5, (1, 2), 0.05),
    Layout("special", _SPECIAL_CAR, 4, (1, 2), 0.02),
    Layout("special", _TRACTOR, 5, (2,), 0.01),
    Layout("special", _TRACTOR, 4, (2,), 0.01),
    Layout("foreign", _FOREIGN, 5, (1,), 0.01),
    Layout("foreign", _FOREIGN, 6, (1,), 0.005),
)


def kind_of(family: str, series: str) -> str:
    """``Plate.kind`` for a series: "car", "motorbike" or "special"."""
    if family == "foreign" or series in SPECIAL_SERIES or series.startswith("MK"):
        return "special"
    if family == "motorbike":
        return "motorbike"
    return "car" if family == "car" else "special"


def format_number(number: str, family: str = "car") -> str:
    """The printed form of the number: ``123.45``, ``1234``, or ``123-45`` (foreign)."""
    if family == "foreign":
        return f"{number[:3]}-{number[3:]}"
    if len(number) == 5:
        return f"{number[:3]}.{number[3:]}"
    return number


def _display_series(series: str) -> str:
    if series[:2] in _D_STROKE_SERIES:
        return series[0] + "Đ" + series[2:]
    return series


def display_of(code: str, series: str, number: str, family: str, lines: int) -> str:
    """The human form: ``20A-123.45``, ``20A 123.45`` (two rows), ``20-B1 123.45``."""
    shown = _display_series(series)
    num = format_number(number, family)
    if family == "foreign":
        return f"{code}-{shown}-{num}"
    if family == "motorbike":
        return f"{code}-{shown} {num}"
    if lines == 2:
        return f"{code}{shown} {num}"
    return f"{code}{shown}-{num}"


def _clean_line(line: str) -> tuple[str, list[int]] | None:
    """Upper-case ASCII letters and digits of a line, and where separators were.

    Returns None if the line holds a letter or digit that cannot be on a plate
    (e.g. Chinese characters the OCR produced from noise).
    """
    chars: list[str] = []
    seps: list[int] = []
    for raw in line:
        c = raw.upper()
        if c in "ĐÐ":
            c = "D"
        if c.isascii() and c.isalnum():
            chars.append(c)
        elif c.isalnum():
            return None
        elif chars and (not seps or seps[-1] != len(chars)):
            seps.append(len(chars))
    if seps and seps[-1] == len(chars):
        seps.pop()  # a trailing separator says nothing
    return "".join(chars), seps


@dataclass(frozen=True)
class _Candidate:
    normalized: str
    layout: Layout
    series: str
    repairs: tuple[str, ...]
    hint: int
    order: int


def _match(chars: str, layout: Layout, series_len: int) -> tuple[str, str, tuple[str, ...]] | None:
    """Fit ``chars`` to a layout with a series of ``series_len``, repairing look-alikes."""
    if len(chars) != 2 + series_len + layout.digits:
        return None
    series_slots = [
        "".join(sorted({s[i] for s in layout.series if len(s) == series_len}))
        for i in range(series_len)
    ]
    slots = [DIGITS, DIGITS, *series_slots, *([DIGITS] * layout.digits)]
    out: list[str] = []
    repairs: list[str] = []
    for i, (c, allowed) in enumerate(zip(chars, slots, strict=True)):
        if c in allowed:
            out.append(c)
            continue
        options = [x for x in LOOKALIKES.get(c, "") if x in allowed]
        if len(options) != 1:
            return None  # not a look-alike, or ambiguous: refuse
        out.append(options[0])
        repairs.append(f"{c}->{options[0]} at {i}")
    text = "".join(out)
    series = text[2 : 2 + series_len]
    if text[:2] not in PROVINCES or series not in layout.series:
        return None
    return text, series, tuple(repairs)


def _boundaries(layout: Layout, series_len: int, lines: int) -> set[int]:
    """Where separators are expected in the normalized string for this layout."""
    top = 2 + series_len
    marks = {top}
    if layout.family in ("motorbike", "foreign"):
        marks.add(2)
    if layout.digits >= 5:
        marks.add(top + 3)  # 123.45, or the country code of 123-45
    if lines == 2 and layout.family == "special":
        marks.add(2)  # two-row special plates are often printed "29-LD"
    return marks


def candidates(
    chars: str, seps: Iterable[int] = (), line_split: int | None = None
) -> list[_Candidate]:
    """Every layout reading of ``chars`` with repairs and a hint score, best first."""
    sep_set = set(seps)
    found: list[_Candidate] = []
    order = 0
    for layout in LAYOUTS:
        for series_len in layout.series_lengths:
            order += 1
            m = _match(chars, layout, series_len)
            if m is None:
                continue
            text, series, repairs = m
            top = 2 + series_len
            hint = 0
            if line_split is not None:
                hint += 3 if line_split == top else -3
                if 2 not in layout.rows:
                    hint -= 3
            marks = _boundaries(layout, series_len, 2 if line_split is not None else 1)
            if sep_set and not sep_set & marks:
                continue  # every separator contradicts the layout: "20A-T23.45" is no 20-AT 2345
            hint += sum(1 if p in marks else -1 for p in sep_set)
            found.append(_Candidate(text, layout, series, repairs, hint, order))
    found.sort(key=lambda c: (len(c.repairs), -c.hint, c.order))
    return found


def parse(text: str | Sequence[str]) -> Plate | None:
    """A validated plate from OCR text, or None.

    ``text`` is one line, a string with a line break, or a list of lines (top
    row first). Separators, spaces and case do not matter. Returns None for
    garbage, unassigned area codes, and readings that would need an ambiguous
    repair.
    """
    raw_lines = text.splitlines() if isinstance(text, str) else list(text)
    cleaned: list[tuple[str, list[int]]] = []
    for line in raw_lines:
        c = _clean_line(line)
        if c is None:
            return None
        if c[0]:
            cleaned.append(c)
    if not cleaned:
        return None
    chars = ""
    seps: list[int] = []
    for i, (line_chars, line_seps) in enumerate(cleaned):
        if i:
            seps.append(len(chars))
        seps.extend(len(chars) + p for p in line_seps)
        chars += line_chars
    line_split = len(cleaned[0][0]) if len(cleaned) == 2 else None
    if line_split is not None:
        seps = [p for p in seps if p != line_split]
    found = candidates(chars, seps, line_split)
    if not found:
        return None
    best = found[0]
    # Only one reading may survive: a different text with the same repairs and
    # the same hint means the grammar cannot choose between them.
    for other in found[1:]:
        if len(other.repairs) != len(best.repairs) or other.hint != best.hint:
            break
        if other.normalized != best.normalized:
            return None
    return make_plate(
        best.normalized,
        best.layout,
        len(best.series),
        lines=2 if line_split is not None else 1,
        repaired=best.repairs,
    )


def make_plate(
    normalized: str,
    layout: Layout,
    series_len: int,
    lines: int = 1,
    repaired: tuple[str, ...] = (),
) -> Plate:
    """A ``Plate`` for a normalized string already known to fit ``layout``."""
    code = normalized[:2]
    series = normalized[2 : 2 + series_len]
    number = normalized[2 + series_len :]
    rows = 2 if layout.family == "motorbike" else (1 if layout.family == "foreign" else lines)
    if rows not in layout.rows:
        rows = layout.rows[0]
    return Plate(
        normalized=normalized,
        display=display_of(code, series, number, layout.family, rows),
        province_code=code,
        province=PROVINCES[code],
        series=series,
        number=number,
        lines=rows,
        kind=kind_of(layout.family, series),
        repaired=repaired,
    )


def is_valid(normalized: str) -> bool:
    """True if ``normalized`` (no separators) is a plate as it stands, without repairs."""
    found = candidates(normalized)
    return bool(found) and not found[0].repairs
