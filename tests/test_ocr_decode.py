"""Grammar-constrained CTC decoding (anpr_feed/ocr_decode.py) on synthetic recogniser output.

Each test builds the per-time-step class probabilities a CTC recogniser would
give for a row (a few frames per character, blanks between), so what the
decoder must do is known exactly: no model, no image.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from anpr_feed.ocr_decode import SYMBOLS, Vocabulary, viterbi
from anpr_feed.plate_grammar import Grammar, best_one, forcing_factor, free_score, greedy

# A recogniser's class list as PP-OCR's has it: blank first, then characters
# (lower case, separators and a Đ among them).
CLASSES = ["<blank>", *SYMBOLS, *"abcdgxyz", "-", ".", " ", "Đ", "中"]
INDEX = {c: i for i, c in enumerate(CLASSES)}

Step = dict[str, float]  # class text -> probability; the rest goes to blank


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar()


def frames(steps: list[Step], width: int = 2) -> npt.NDArray[np.float64]:
    """(T, classes) probabilities: each step held ``width`` frames, a blank frame after it."""
    rows: list[npt.NDArray[np.float64]] = []
    for step in steps:
        p = np.zeros(len(CLASSES))
        for ch, prob in step.items():
            p[INDEX[ch]] += prob
        p[0] += max(0.0, 1.0 - p.sum())
        rows.extend([p] * width)
        blank = np.zeros(len(CLASSES))
        blank[0] = 0.98
        blank[INDEX["-"]] = 0.02
        rows.append(blank)
    return np.array(rows)


def clean(text: str, p: float = 0.95) -> list[Step]:
    """Every character of ``text`` seen plainly at probability ``p``."""
    return [{c: p} for c in text]


def one_row(g: Grammar, probs: npt.NDArray[np.float64]) -> tuple[str, float]:
    projected = Vocabulary(CLASSES).project(probs)
    best = best_one(viterbi(g.one, projected), g)
    assert best is not None
    decoded, _ = best
    return decoded.text, decoded.confidence


def two_rows(
    g: Grammar, top: npt.NDArray[np.float64], bottom: npt.NDArray[np.float64]
) -> tuple[str, str]:
    vocab = Vocabulary(CLASSES)
    tres = viterbi(g.top, vocab.project(top))
    bres = viterbi(g.bottom, vocab.project(bottom))
    best: tuple[float, str, str] | None = None
    for tlabel, blabel, pat in g.two_row:
        if tlabel in tres and blabel in bres:
            score = tres[tlabel].score + bres[blabel].score + pat.log_prior
            if best is None or score > best[0]:
                best = (score, tres[tlabel].text, bres[blabel].text)
    assert best is not None
    return best[1], best[2]


def test_a_plainly_read_plate_decodes_to_itself(grammar: Grammar) -> None:
    text, conf = one_row(grammar, frames(clean("30A12345")))
    assert text == "30A12345"
    assert conf == pytest.approx(0.95, abs=0.01)


def test_separators_and_lower_case_are_not_characters(grammar: Grammar) -> None:
    steps = [*clean("51"), {"g": 0.9}, {"-": 0.9}, *clean("123"), {".": 0.9}, *clean("45")]
    text, _ = one_row(grammar, frames(steps))
    assert text == "51G12345"


def test_series_position_takes_the_letter_a_digit_looks_like(grammar: Grammar) -> None:
    # The model prefers 8 where only a letter may stand; B is its second guess.
    steps = [*clean("30"), {"8": 0.6, "B": 0.3}, *clean("12345")]
    probs = frames(steps)
    assert greedy(Vocabulary(CLASSES).project(probs)) == "30812345"
    text, _ = one_row(grammar, probs)
    assert text == "30B12345"


def test_number_position_takes_the_digit_a_letter_looks_like(grammar: Grammar) -> None:
    steps = [*clean("30A123"), {"B": 0.55, "8": 0.35}, *clean("5")]
    text, _ = one_row(grammar, frames(steps))
    assert text == "30A12385"


def test_the_model_decides_between_admissible_readings(grammar: Grammar) -> None:
    # 6 and 8 are both digits: the grammar has no say, the probabilities do.
    for first, second in (("6", "8"), ("8", "6")):
        steps = [*clean("31F1"), {first: 0.6, second: 0.35}, *clean("923")]
        text, _ = one_row(grammar, frames(steps))
        assert text == f"31F1{first}923"


def test_unassigned_area_code_loses_to_an_assigned_one(grammar: Grammar) -> None:
    # "13" is no province's code (the former Hà Bắc): the second guess 3 -> "18".
    steps = [{"1": 0.95}, {"3": 0.55, "8": 0.4}, *clean("A12345")]
    text, _ = one_row(grammar, frames(steps))
    assert text == "18A12345"


def test_a_weak_character_is_not_dropped_when_the_layout_needs_it(grammar: Grammar) -> None:
    # The fourth digit is seen at only 0.3 (blank 0.7 at its frames): greedy drops
    # it, and 4 digits would be an (older) layout too, but the path through the
    # model's own 5 digits is still likelier than the 4-digit one's prior allows.
    steps = [*clean("29A123"), {"4": 0.45}, *clean("5")]
    probs = frames(steps, width=1)
    text, _ = one_row(grammar, probs)
    assert text == "29A12345"


def test_two_row_motorbike_plate_with_md_series(grammar: Grammar) -> None:
    top = frames([*clean("29"), {"M": 0.9}, {"Đ": 0.8, "D": 0.1}, *clean("2")])
    bottom = frames(clean("72972"))
    assert two_rows(grammar, top, bottom) == ("29MD2", "72972")


def test_two_row_top_digit_read_as_letter(grammar: Grammar) -> None:
    # A motorbike series is a letter then a digit 1-9: "59-XZ" cannot hold Z as
    # a second letter unless the row is a two-letter series; Z looks like 2.
    top = frames([*clean("59X"), {"Z": 0.5, "2": 0.45}])
    bottom = frames(clean("20617"))
    row, number = two_rows(grammar, top, bottom)
    assert number == "20617"
    assert row in {"59X2", "59XZ"}  # both are grammatical; the scores decide
    top_clear = frames([*clean("59X"), {"2": 0.9}])
    assert two_rows(grammar, top_clear, bottom) == ("59X2", "20617")


def test_text_forced_into_the_grammar_loses_confidence(grammar: Grammar) -> None:
    # A phone number painted on a taxi door: 11 confident digits. The grammar can
    # make a plate of it only by overruling several confident characters.
    probs = frames(clean("02083855123"))
    projected = Vocabulary(CLASSES).project(probs)
    best = best_one(viterbi(grammar.one, projected), grammar)
    assert best is not None
    decoded, _ = best
    gap = free_score(projected) - decoded.score
    assert gap > 10
    assert forcing_factor(gap) < 0.3
    # A plain plate costs nothing.
    plain = Vocabulary(CLASSES).project(frames(clean("30A12345")))
    d2, _ = best_one(viterbi(grammar.one, plain), grammar) or (None, None)
    assert d2 is not None
    assert forcing_factor(free_score(plain) - d2.score) == 1.0


def test_character_spans_and_probabilities_follow_the_frames(grammar: Grammar) -> None:
    steps = clean("30A12345")
    steps[3] = {"1": 0.6}
    projected = Vocabulary(CLASSES).project(frames(steps))
    best = best_one(viterbi(grammar.one, projected), grammar)
    assert best is not None
    decoded, _ = best
    assert len(decoded.spans) == 8
    assert decoded.spans[0] == (0, 1)
    assert decoded.spans[3] == (9, 10)
    assert decoded.char_probs[3] == pytest.approx(0.6, abs=0.01)
    assert decoded.confidence < 0.95
