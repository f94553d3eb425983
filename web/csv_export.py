"""CSV files the service writes, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some programs skip before reading a formula) is run as a
formula by Excel and LibreOffice: a site named ``=HYPERLINK(...)`` would put a
live link, or worse, into a host's attendance sheet. Following OWASP's CSV
injection guidance, such a text cell is written with a single quote in front,
which spreadsheets show as text and do not evaluate. Numbers are written as
they are. Every CSV the service produces goes through :func:`writer`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will take it as text: a formula-like string gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose text cells are neutralised with :func:`safe_cell`."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write several rows."""
        for row in rows:
            self.writerow(row)


def writer(out: _Writable) -> SafeWriter:
    """A CSV writer onto ``out`` that never writes a cell a spreadsheet would run."""
    return SafeWriter(out)
