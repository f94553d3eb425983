r"""A strict reader of the Prometheus text format, for tests of ``/metrics``.

Label values are un-escaped as Prometheus does (``\\``, ``\"``, ``\n``); a
line that is neither a ``# HELP``/``# TYPE`` comment nor a well-formed sample
fails the test, so a label value that broke out of its quotes shows.
"""

from __future__ import annotations

import re

Sample = tuple[str, dict[str, str], float]

# One sample line: name{label="value",...} number (values: escaped \\ \" \n only).
_VALUE = r'"((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*=" + _VALUE + r",?)*)\})? (?P<value>\S+)$"
)
_PAIR = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=" + _VALUE)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), text)


def parse(lines: list[str]) -> list[Sample]:
    """Every sample of ``lines``; any line that is neither a comment nor a sample fails."""
    samples: list[Sample] = []
    for line in "\n".join(lines).split("\n"):
        if not line:
            continue  # what a scraper sees: split at every line feed
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = _SAMPLE.match(line)
        assert match is not None, f"not a sample line: {line!r}"
        labels = {k: _unescape(v) for k, v in _PAIR.findall(match["labels"] or "")}
        samples.append((match["name"], labels, float(match["value"])))
    return samples
