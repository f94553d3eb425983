"""Lean reception statistics and NACK tracking give what aiortc's objects give on the same packets."""

from __future__ import annotations

import random
import time

import pytest
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import RtpPacket

from conference.media import bounded_estimators  # noqa: F401  (aiortc's NACK generator, bounded)
from conference.media.nack_tracker import NackTracker
from conference.media.reception_stats import ReceptionStatistics


def arrivals(seed: int, first_seq: int, count: int) -> list[tuple[int, int, float]]:
    """(seq, RTP timestamp, arrival) of a 90 kHz stream with loss, reordering, repeats, jitter."""
    rng = random.Random(seed)
    out: list[tuple[int, int, float]] = []
    seq, ts, now = first_seq, 1234, 1_700_000_000.0
    for _ in range(count):
        now += 0.002 + rng.random() * 0.01
        roll = rng.random()
        if roll < 0.08:
            seq += rng.randint(2, 5)  # a few lost
        elif roll < 0.12 and out:
            out.append((out[-1][0], out[-1][1], now))  # a repeat
            continue
        elif roll < 0.16 and out:
            out.append(((seq - rng.randint(3, 9)) & 0xFFFF, ts - 3000, now))  # late
            continue
        else:
            seq += 1
        if rng.random() < 0.3:
            ts += 3000  # a new frame
        out.append((seq & 0xFFFF, ts & 0xFFFFFFFF, now))
    return out


def report(stats: StreamStatistics) -> tuple[int, int, int | None, int, int, int]:
    """What a receiver report and getStats read."""
    return (
        stats.packets_received,
        stats.packets_lost,
        stats.max_seq,
        stats.jitter,
        stats.cycles,
        stats.fraction_lost,
    )


@pytest.mark.parametrize(("seed", "first_seq"), [(1, 100), (2, 65500), (3, 65530), (4, 0)])
def test_statistics_match_aiortc_across_loss_reordering_and_wrap(
    seed: int, first_seq: int, monkeypatch: pytest.MonkeyPatch
):
    ours, theirs = ReceptionStatistics(90000), StreamStatistics(90000)
    stream = arrivals(seed, first_seq, 3000)
    for index, (seq, ts, now) in enumerate(stream):
        ours.count(seq, ts, now)
        monkeypatch.setattr(time, "time", lambda now=now: now)
        theirs.add(RtpPacket(sequence_number=seq, timestamp=ts))
        if index % 97 == 0:  # a receiver report now and then (fraction_lost resets its interval)
            assert report(ours) == report(theirs)
    assert report(ours) == report(theirs)
    if first_seq > 60000:
        assert ours.cycles >= 1 << 16  # 3000 packets from near the top did wrap
    assert ours.packets_lost > 0 and ours.jitter > 0


def test_statistics_take_aiortc_packets_too():
    stats = ReceptionStatistics(48000)
    for seq in (10, 11, 13):
        stats.add(RtpPacket(sequence_number=seq, timestamp=seq * 960))
    assert (stats.packets_received, stats.packets_lost, stats.max_seq) == (3, 1, 13)


@pytest.mark.parametrize(("seed", "first_seq"), [(5, 10), (6, 65520)])
def test_nack_tracker_matches_aiortcs_bounded_generator(seed: int, first_seq: int):
    ours, theirs = NackTracker(), NackGenerator()
    for seq, ts, _ in arrivals(seed, first_seq, 3000):
        assert ours.add(seq) == theirs.add(RtpPacket(sequence_number=seq, timestamp=ts))
        assert ours.missing == theirs.missing
        assert ours.max_seq == theirs.max_seq


def test_nack_tracker_bounds_a_leap():
    tracker = NackTracker()
    tracker.add(1)
    assert tracker.add(30001)  # 29,999 missing: only the last 128 are worth asking for
    assert len(tracker.missing) == 128 and max(tracker.missing) == 30000
    assert not tracker.add(29990)  # a late one: no longer missing, no new NACK
    assert 29990 not in tracker.missing
