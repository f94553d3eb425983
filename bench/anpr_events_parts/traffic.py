"""Synthetic plate passes: 80 feeds at 40 checkpoints over 14 days, real province codes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from anpr_feed.events_store import PlateEvent
from anpr_feed.plates import SERIES_LETTERS, display_of
from anpr_feed.provinces import PROVINCES

ZONE = timezone(timedelta(hours=7))
DAY = 86400.0
DAYS = 14
# The data ends here (a fixed instant: the run is reproducible).
END = datetime(2021, 11, 15, tzinfo=ZONE).timestamp()
START = END - DAYS * DAY

# Checkpoints around Hà Nội and Thái Nguyên get most traffic from these.
BUSY_PROVINCES = {"29": 8, "30": 10, "20": 8, "99": 3, "98": 3, "88": 3, "89": 2, "90": 2}
CHECKPOINT_NAMES = [
    "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên",
    "Chốt cầu Đa Phúc",
    "Chốt QL3 Phổ Yên",
    "Chốt QL1A Bắc Ninh",
    "Chốt cửa ngõ Pháp Vân",
    "Chốt QL5 Như Quỳnh",
    "Chốt QL18 Chí Linh",
    "Chốt Km 30 QL3",
]


def checkpoints_and_feeds() -> dict[str, list[str]]:
    """40 checkpoints with 2 cameras each (in and out): 80 feeds."""
    result: dict[str, list[str]] = {}
    for n in range(40):
        name = f"{CHECKPOINT_NAMES[n % len(CHECKPOINT_NAMES)]} #{n // len(CHECKPOINT_NAMES) + 1}"
        result[name] = [f"cam-{n:02d}-in", f"cam-{n:02d}-out"]
    return result


def random_plate(rng: random.Random, codes: list[str], weights: list[float]) -> tuple[str, str]:
    """A normalised plate and its display form: cars (5 or 4 digits), motorbikes, LD, KT."""
    code = rng.choices(codes, weights)[0]
    kind = rng.random()
    if kind < 0.50:  # car, 5 digits: 30A12345
        series, number, family, lines = (
            rng.choice(SERIES_LETTERS),
            f"{rng.randint(1, 99999):05d}",
            "car",
            1,
        )
    elif kind < 0.58:  # older car, 4 digits: 29A1234
        series, number, family, lines = (
            rng.choice(SERIES_LETTERS),
            f"{rng.randint(1, 9999):04d}",
            "car",
            1,
        )
    elif kind < 0.95:  # motorbike: 29B112345
        series = rng.choice(SERIES_LETTERS) + str(rng.randint(1, 9))
        number, family, lines = f"{rng.randint(1, 99999):05d}", "motorbike", 2
    elif kind < 0.98:  # foreign-invested enterprise: 29LD12345
        series, number, family, lines = "LD", f"{rng.randint(1, 99999):05d}", "car", 1
    else:  # military enterprise, 4 digits
        series, number, family, lines = "KT", f"{rng.randint(1, 9999):04d}", "car", 1
    return code + series + number, display_of(code, series, number, family, lines)


def make_events(count: int, seed: int = 20211101) -> list[PlateEvent]:
    """``count`` passes, oldest first; ~5% by a pool of vehicles that come back."""
    rng = random.Random(seed)
    codes = sorted(PROVINCES)
    weights = [float(BUSY_PROVINCES.get(code, 1)) for code in codes]
    places = checkpoints_and_feeds()
    feeds = [(checkpoint, feed) for checkpoint, fs in places.items() for feed in fs]
    feed_weights = [rng.uniform(0.3, 3.0) for _ in feeds]  # some roads are busier
    regulars = [random_plate(rng, codes, weights) for _ in range(max(1, count // 400))]
    times = sorted(rng.uniform(START, END) for _ in range(count))
    chosen = rng.choices(range(len(feeds)), feed_weights, k=count)
    events = []
    for n, at in enumerate(times):
        checkpoint, feed = feeds[chosen[n]]
        plate, display = (
            rng.choice(regulars) if rng.random() < 0.05 else random_plate(rng, codes, weights)
        )
        local = datetime.fromtimestamp(at, ZONE)
        event_id = f"{local:%Y%m%d%H%M%S}-{rng.getrandbits(40):010x}"
        pictures = rng.random() < 0.9
        events.append(
            PlateEvent(
                id=event_id,
                feed_id=feed,
                checkpoint=checkpoint,
                at=round(at, 3),
                plate=plate,
                display=display,
                province_code=plate[:2],
                confidence=round(rng.uniform(0.6, 0.99), 3),
                crop=f"{local:%Y-%m-%d}/{event_id}-plate.jpg" if pictures else None,
                thumbnail=f"{local:%Y-%m-%d}/{event_id}-frame.jpg" if pictures else None,
                alert="watch: 29A*" if rng.random() < 0.002 else None,
            )
        )
    return events
