"""Pieces of the Prometheus text format (0.0.4) that ``/metrics`` writes."""

from __future__ import annotations


def label_value(value: str) -> str:
    r"""``value`` as it goes between a label's quotes: ``\``, ``"`` and line feeds escaped.

    The format asks for exactly those three escapes. Names, checkpoints and
    site ids come from outside, so the rest is made safe too: a lone surrogate
    (which JSON can carry) cannot be written as UTF-8 and would fail the whole
    response, so it becomes ``?``.
    """
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value
