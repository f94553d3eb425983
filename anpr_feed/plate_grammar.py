"""The plate grammar the decoder works under, and how far it may overrule the model.

:class:`Grammar` builds the automata of :mod:`anpr_feed.ocr_decode` for
one-row plates, top rows and bottom rows from :data:`anpr_feed.plates.LAYOUTS`;
the functions score a decoded path against the model's own unconstrained one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from anpr_feed import plates
from anpr_feed.ocr_decode import Decoded, area_codes, build_automaton


@dataclass(frozen=True)
class Pattern:
    """A layout the decoder can end in: how to rebuild the ``Plate``."""

    layout: plates.Layout
    series_len: int
    rows: int
    log_prior: float


class Grammar:
    """The decoder's automata: one-row plates, top rows, bottom rows."""

    def __init__(self) -> None:
        codes = area_codes()
        digits = plates.DIGITS
        one: list[tuple[str, list[Any]]] = []
        top: list[tuple[str, list[Any]]] = []
        self.one_row: dict[str, Pattern] = {}
        self.two_row: list[tuple[str, str, Pattern]] = []  # top label, bottom label, pattern
        top_labels: dict[tuple[str, int, frozenset[str]], str] = {}
        for i, layout in enumerate(plates.LAYOUTS):
            prior = math.log(layout.prior)
            for slen in layout.series_lengths:
                words = [s for s in layout.series if len(s) == slen]
                if 1 in layout.rows:
                    label = f"{i}:{slen}"
                    one.append((label, [codes, words, *[digits] * layout.digits]))
                    self.one_row[label] = Pattern(layout, slen, 1, prior)
                if 2 in layout.rows:
                    # Layouts that differ only in the number share their top row.
                    key = (layout.family, slen, frozenset(words))
                    if key not in top_labels:
                        top_labels[key] = f"top{len(top_labels)}"
                        top.append((top_labels[key], [codes, words]))
                    pattern = Pattern(layout, slen, 2, prior)
                    self.two_row.append((top_labels[key], str(layout.digits), pattern))
        bottoms = sorted({layout.digits for layout in plates.LAYOUTS if 2 in layout.rows})
        self.one = build_automaton(one)
        self.top = build_automaton(top)
        self.bottom = build_automaton([(str(n), [digits] * n) for n in bottoms])


def best_one(res: dict[str, Decoded], g: Grammar) -> tuple[Decoded, Pattern] | None:
    """The best one-row decoding, its layout's prior counted."""
    best: tuple[float, Decoded, Pattern] | None = None
    for label, d in res.items():
        pat = g.one_row[label]
        score = d.score + pat.log_prior
        if best is None or score > best[0]:
            best = (score, d, pat)
    return None if best is None else (best[1], best[2])


def free_score(projected: npt.NDArray[np.float64]) -> float:
    """Log-probability of the best unconstrained path (every frame's most likely class)."""
    return float(np.log(np.maximum(projected.max(axis=1), 1e-12)).sum())


# How much of the model's own reading the grammar may overrule before the
# confidence suffers (in nats of path log-probability), and how fast it falls
# after that. A plate read with a look-alike or two costs a few nats; text that
# only fits the grammar by dropping confident characters (a phone number
# "0208.3855.123" read as 20B-855.23) costs ten or more per character dropped.
FORCING_SLACK = 3.0
FORCING_SCALE = 6.0


def forcing_factor(gap: float) -> float:
    """Confidence multiplier for a grammar path ``gap`` nats below the free reading."""
    return math.exp(-max(0.0, gap - FORCING_SLACK) / FORCING_SCALE)


def combine_conf(a: Decoded, b: Decoded) -> float:
    """Confidence of a two-row reading: the geometric mean of every character's."""
    probs = a.char_probs + b.char_probs
    return float(np.exp(np.mean(np.log(np.maximum(probs, 1e-12)))))


def greedy(projected: npt.NDArray[np.float64]) -> str:
    """Greedy CTC text over the plate symbols (blank-like classes dropped)."""
    idx = projected.argmax(axis=1)
    out: list[str] = []
    prev = 0
    for i in idx:
        if i != prev and i != 0:
            out.append((plates.DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ")[i - 1])
        prev = int(i)
    return "".join(out)


def repairs(raw: str, text: str) -> tuple[str, ...]:
    """Substitutions between the greedy text and the decoded one, when they align."""
    flat = raw.replace("/", "")
    if len(flat) != len(text) or flat == text:
        return ()
    return tuple(
        f"{a}->{b} at {i}" for i, (a, b) in enumerate(zip(flat, text, strict=True)) if a != b
    )
