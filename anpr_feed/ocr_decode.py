"""Grammar-constrained CTC decoding of a text-recognition model's output.

A CTC recognizer (RapidOCR's PP-OCR rec model) gives, for every time step
(a column of the row image, 8 px at its 48 px height), a probability for each
character and for "blank". Greedy decoding takes the best class at each step
and collapses repeats; the plate grammar is then applied afterwards, too late
to fix an ``8`` the model read where only a letter can be.

Here the grammar drives the decoding instead: the plate layouts are compiled
into a small automaton (area code -> series -> number), and a Viterbi search
over (automaton arc x time step) finds the most probable CTC path whose
collapsed text the automaton accepts. The model's own probabilities then
decide between admissible readings (``B`` vs ``8`` at a series position, one
or two digits around a dot), and the number of characters is fixed by the
layout so a weak digit cannot simply vanish.

Look-alike characters that cannot occur at a position lend their probability
to the one admissible character they resemble (``O`` -> ``0`` in the number,
``8`` -> ``B`` in a letter-only series position), using the same unambiguous
look-alike table as :mod:`anpr_feed.plates`.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from anpr_feed.plates import LOOKALIKES, PROVINCES

FloatArray = npt.NDArray[np.float64]

SYMBOLS = string.digits + string.ascii_uppercase  # the 36 symbols a plate can hold
_SYM_INDEX = {c: i for i, c in enumerate(SYMBOLS)}
NEG = -1e9  # log of "impossible"; finite so that sums stay finite
# How much of a look-alike's probability counts for the admissible character
# it resembles. Below 1 so that, where the grammar admits the character the
# model actually saw (a 1 as a motorbike series digit), that reading beats a
# repaired one (the 1 as the T of a KT series).
ALIAS_WEIGHT = 0.5


class Vocabulary:
    """Maps the recognizer's classes onto the 36 plate symbols.

    Lower-case letters count as their capitals and Đ/đ/Ð as D; every other
    class (blank, separators, punctuation, non-Latin characters) is
    "blank-like": it may sit between plate characters without being one.
    """

    def __init__(self, characters: Sequence[str]) -> None:
        """``characters[i]`` is the text of class ``i``; class 0 is the CTC blank."""
        rows: list[int] = []
        cols: list[int] = []
        for i, ch in enumerate(characters):
            if i == 0 or len(ch) != 1:
                continue
            c = ch.upper()
            if c in "ĐÐ":
                c = "D"
            if c in _SYM_INDEX:
                rows.append(i)
                cols.append(_SYM_INDEX[c])
        self.size = len(characters)
        self._classes = np.array(rows, dtype=np.int64)
        self._symbols = np.array(cols, dtype=np.int64)

    def project(self, probs: npt.NDArray[np.floating]) -> FloatArray:
        """(T, classes) probabilities -> (T, 37): column 0 blank-like, 1..36 the symbols."""
        p = np.asarray(probs, dtype=np.float64)
        out = np.zeros((p.shape[0], 37), dtype=np.float64)
        for symbol, cls in zip(self._symbols + 1, self._classes, strict=True):
            out[:, symbol] += p[:, cls]
        out[:, 0] = np.clip(1.0 - out[:, 1:].sum(axis=1), 1e-12, 1.0)
        return out


@dataclass
class Automaton:
    """A small NFA over the 36 symbols, stored as arrays of arcs."""

    n_nodes: int = 1  # node 0 is the start
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    sym: list[int] = field(default_factory=list)
    finals: dict[int, str] = field(default_factory=dict)  # node -> label
    _seen: set[tuple[int, int, int]] = field(default_factory=set)

    def new_node(self) -> int:
        """Add a node and return its index."""
        self.n_nodes += 1
        return self.n_nodes - 1

    def add_chunk(self, entry: int, words: Iterable[str], exit_node: int | None = None) -> int:
        """Accept any of ``words`` from ``entry``; returns the node reached after it.

        The words share a prefix tree so that the look-alike sets (which depend
        on what may follow a node) stay exact.
        """
        words = sorted(set(words))
        end = exit_node if exit_node is not None else self.new_node()
        children: dict[tuple[int, str], int] = {}
        for w in words:
            node = entry
            for k, ch in enumerate(w):
                if k == len(w) - 1:
                    self._arc(node, end, ch)
                    break
                key = (node, ch)
                if key not in children:
                    children[key] = self.new_node()
                    self._arc(node, children[key], ch)
                node = children[key]
        return end

    def _arc(self, a: int, b: int, ch: str) -> None:
        key = (a, b, _SYM_INDEX[ch])
        if key in self._seen:
            return
        self._seen.add(key)
        self.src.append(a)
        self.dst.append(b)
        self.sym.append(_SYM_INDEX[ch])

    def compile(self, alias_weight: float = ALIAS_WEIGHT) -> CompiledAutomaton:
        """Freeze into arrays, with the look-alike emission sets of every arc."""
        return CompiledAutomaton(self, alias_weight)


class CompiledAutomaton:
    """Arrays for the Viterbi search; build once, decode many rows."""

    def __init__(self, auto: Automaton, alias_weight: float = ALIAS_WEIGHT) -> None:
        """Compile ``auto``: arc arrays and each arc's look-alike set."""
        self.n_nodes = auto.n_nodes
        self.src = np.array(auto.src, dtype=np.int64)
        self.dst = np.array(auto.dst, dtype=np.int64)
        self.sym = np.array(auto.sym, dtype=np.int64)
        self.finals = dict(auto.finals)
        self.final_nodes = np.array(sorted(self.finals), dtype=np.int64)
        out: dict[int, set[str]] = {}
        for s, c in zip(auto.src, auto.sym, strict=True):
            out.setdefault(s, set()).add(SYMBOLS[c])
        # Emission set per arc: its symbol, plus symbols not admissible at the
        # node that look like exactly one admissible symbol, this one.
        sets: dict[tuple[int, frozenset[int]], int] = {}
        cols: list[int] = []
        for s, c in zip(auto.src, auto.sym, strict=True):
            here = out[s]
            members = {c}
            for x, looks in LOOKALIKES.items():
                if x in here or x not in _SYM_INDEX:
                    continue
                options = [y for y in looks if y in here]
                if options == [SYMBOLS[c]]:
                    members.add(_SYM_INDEX[x])
            key = (c, frozenset(members))  # the arc's own symbol weighs 1, look-alikes less
            if key not in sets:
                sets[key] = len(sets)
            cols.append(sets[key])
        self.col = np.array(cols, dtype=np.int64)
        weights = np.zeros((37, len(sets)), dtype=np.float64)
        for (own, members_set), j in sets.items():
            for m in members_set:
                weights[m + 1, j] = 1.0 if m == own else alias_weight
        self.weights = weights
        # Arcs into each node, for the "best predecessor arc" step.
        self.n_arcs = len(self.src)

    def emissions(self, projected: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Log-probabilities (T, arcs) of each arc's symbol set, and (T,) of blank."""
        e = np.log(np.maximum(projected @ self.weights, 1e-12))
        return e[:, self.col], np.log(projected[:, 0])


@dataclass(frozen=True)
class Decoded:
    """The best accepted reading ending in one final label."""

    label: str
    text: str
    score: float  # log-probability of the CTC path
    char_probs: tuple[float, ...]  # per character: its best frame's probability
    spans: tuple[tuple[int, int], ...]  # per character: first and last frame

    @property
    def confidence(self) -> float:
        """Geometric mean of the character probabilities."""
        if not self.char_probs:
            return 0.0
        return float(np.exp(np.mean(np.log(np.maximum(self.char_probs, 1e-12)))))


def viterbi(auto: CompiledAutomaton, projected: FloatArray) -> dict[str, Decoded]:
    """Best CTC path per final label of ``auto`` for one row's projected probabilities."""
    arc_e, blank_e = auto.emissions(projected)
    t_len = arc_e.shape[0]
    n, a = auto.n_nodes, auto.n_arcs
    src, dst, sym = auto.src, auto.dst, auto.sym
    node_hist = np.full((t_len, n), NEG)
    arc_hist = np.full((t_len, a), NEG)
    node_s = np.full(n, NEG)
    node_s[0] = blank_e[0]
    arc_s = np.full(a, NEG)
    first = src == 0
    arc_s[first] = arc_e[0, first]
    node_hist[0], arc_hist[0] = node_s, arc_s
    rows = np.arange(n)
    for t in range(1, t_len):
        # Best arc into each node per symbol, then the best and second best symbols:
        # an arc may not follow an arc of the same symbol without a blank (CTC).
        per = np.full((n, 36), NEG)
        np.maximum.at(per, (dst, sym), arc_s)
        c1 = per.argmax(axis=1)
        v1 = per[rows, c1]
        per[rows, c1] = NEG
        v2 = per.max(axis=1)
        via_arc = np.where(c1[src] == sym, v2[src], v1[src])
        arc_s = np.maximum(np.maximum(arc_s, node_s[src]), via_arc) + arc_e[t]
        node_s = np.maximum(node_s, v1) + blank_e[t]
        node_hist[t], arc_hist[t] = node_s, arc_s
    results: dict[str, Decoded] = {}
    for f in auto.final_nodes:
        into = np.flatnonzero(dst == f)
        best_arc = into[np.argmax(arc_hist[-1, into])] if len(into) else -1
        arc_score = arc_hist[-1, best_arc] if best_arc >= 0 else NEG
        blank_score = node_hist[-1, f]
        score = max(arc_score, blank_score)
        if score <= NEG / 2:
            continue
        state = ("arc", int(best_arc)) if arc_score >= blank_score else ("node", int(f))
        decoded = _backtrack(auto, arc_hist, node_hist, arc_e, state, auto.finals[int(f)])
        label = auto.finals[int(f)]
        if label not in results or results[label].score < score:
            results[label] = Decoded(label, decoded[0], float(score), decoded[1], decoded[2])
    return results


def _backtrack(
    auto: CompiledAutomaton,
    arc_hist: FloatArray,
    node_hist: FloatArray,
    arc_e: FloatArray,
    state: tuple[str, int],
    label: str,
) -> tuple[str, tuple[float, ...], tuple[tuple[int, int], ...]]:
    src, dst, sym = auto.src, auto.dst, auto.sym
    chars: list[tuple[int, int, int, float]] = []  # arc, first frame, last frame, best prob
    kind, idx = state
    t = arc_hist.shape[0] - 1
    while t >= 0:
        if kind == "arc":
            if chars and chars[-1][0] == idx and chars[-1][1] == t + 1:
                a0, _, last, p = chars[-1]
                chars[-1] = (a0, t, last, max(p, float(np.exp(arc_e[t, idx]))))
            else:
                chars.append((idx, t, t, float(np.exp(arc_e[t, idx]))))
            if t == 0:
                break
            s = src[idx]
            options: list[tuple[float, str, int]] = [
                (arc_hist[t - 1, idx], "arc", idx),
                (node_hist[t - 1, s], "node", int(s)),
            ]
            into = np.flatnonzero((dst == s) & (sym != sym[idx]))
            if len(into):
                j = into[np.argmax(arc_hist[t - 1, into])]
                options.append((arc_hist[t - 1, j], "arc", int(j)))
            _, kind, idx = max(options, key=lambda o: o[0])
        else:
            if t == 0:
                break
            into = np.flatnonzero(dst == idx)
            options = [(node_hist[t - 1, idx], "node", idx)]
            if len(into):
                j = into[np.argmax(arc_hist[t - 1, into])]
                options.append((arc_hist[t - 1, j], "arc", int(j)))
            _, kind, idx = max(options, key=lambda o: o[0])
        t -= 1
    chars.reverse()
    text = "".join(SYMBOLS[sym[a]] for a, _, _, _ in chars)
    return (
        text,
        tuple(p for _, _, _, p in chars),
        tuple((t0, t1) for _, t0, t1, _ in chars),
    )


def _area_codes() -> list[str]:
    return sorted(PROVINCES)


def build_automaton(
    patterns: Sequence[tuple[str, Sequence[Iterable[str]]]], alias_weight: float = ALIAS_WEIGHT
) -> CompiledAutomaton:
    """Compile labelled patterns; a pattern is a sequence of chunks of literal words.

    Example: ``("car5", [area_codes, series_letters, *[digits] * 5])``.
    """
    auto = Automaton()
    for label, chunks in patterns:
        node = 0
        for chunk in chunks:
            node = auto.add_chunk(node, chunk)
        auto.finals[node] = label
    return auto.compile(alias_weight)


def area_codes() -> list[str]:
    """The assigned two-digit area codes (the first chunk of every pattern)."""
    return _area_codes()
