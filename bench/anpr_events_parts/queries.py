"""The searches the benchmark times, per kind: parts of stored plates, windows, scopes."""

from __future__ import annotations

import random
from collections.abc import Callable

from anpr_events_parts.traffic import DAY, END, START
from anpr_feed.events_store import PlateEvent


def make_queries(events: list[PlateEvent], per_kind: int, seed: int = 7) -> dict[str, list[dict]]:
    """Search arguments per kind, parts of stored plates (the number's middle)."""
    rng = random.Random(seed)
    feeds = sorted({e.feed_id for e in events})
    checkpoints = sorted({e.checkpoint for e in events})
    cars = [
        e for e in events if len(e.plate) == 8 and e.plate[2].isalpha() and e.plate[3:].isdigit()
    ]
    pool = cars or events

    def number(event: PlateEvent) -> str:
        return event.plate[-5:]

    def part(length: int) -> str:
        if length == 4:  # series letter + the number's first three digits: "A123"
            return rng.choice(pool).plate[2:6]
        digits = number(rng.choice(pool))
        first = rng.randint(0, len(digits) - length)
        return digits[first : first + length]

    def window() -> tuple[float, float]:
        lo = rng.uniform(START, END - DAY)
        return lo, lo + DAY

    kinds: dict[str, Callable[[], dict]] = {
        "partial_3": lambda: {"plate": part(3)},
        "partial_4": lambda: {"plate": part(4)},
        "partial_5": lambda: {"plate": part(5)},
        "full_plate": lambda: {"plate": rng.choice(events).plate},
        "partial_4_day_window": lambda: (
            dict(zip(("start", "end"), window(), strict=True)) | {"plate": part(4)}
        ),
        "partial_4_checkpoint": lambda: {"plate": part(4), "checkpoint": rng.choice(checkpoints)},
        "partial_4_feed_scope_5": lambda: {"plate": part(4), "feed_ids": rng.sample(feeds, 5)},
        "partial_3_feed_scope_5": lambda: {"plate": part(3), "feed_ids": rng.sample(feeds, 5)},
        "common_prefix_2": lambda: {
            "plate": rng.choice(["20", "29", "30", "99", "98"]),
            "limit": 100,
        },
        "no_match_5": lambda: {"plate": rng.choice(["ZZ999", "QQ123", "W7777", "00000Z", "LDLD1"])},
        "rare_2_chars": lambda: {"plate": rng.choice(["QQ", "WW", "ZZ", "JJ", "OO"])},
        # A letter no Vietnamese plate has: the worst case of a short part.
        "rare_1_char": lambda: {"plate": rng.choice(["W", "J", "O", "I", "Q"])},
        "no_plate_feed_scope_5": lambda: {"feed_ids": rng.sample(feeds, 5)},
    }
    return {kind: [make() for _ in range(per_kind)] for kind, make in kinds.items()}
