"""The lean REMB estimator answers as aiortc's ``RemoteBitrateEstimator`` does, packet by packet."""

from __future__ import annotations

import random

import pytest
from aiortc.rate import RemoteBitrateEstimator

from conference.media.remb_estimator import RembEstimator


def stream(seed: int) -> list[tuple[int, int, int, int]]:
    """(arrival ms, abs-send-time, size, SSRC) of ~40 s of 30 fps video plus 50 pps audio.

    Queueing delay builds up for a while (the detector must see overuse),
    drains (underuse), the sender pauses for 2 s (the rate window empties),
    and a few packets arrive out of order.
    """
    rng = random.Random(seed)
    packets: list[tuple[float, float, int, int]] = []
    send = 1000.0  # ms
    queue = 0.0
    for frame in range(1200):
        if frame == 700:
            send += 2000.0  # paused
        if 300 <= frame < 420:
            queue += 1.5  # a link filling up
        elif queue > 0:
            queue = max(0.0, queue - 3.0)
        for index in range(rng.randint(2, 6)):
            at = send + index * 0.7
            packets.append((at + 20 + queue + rng.random() * 2, at, rng.randint(300, 1200), 1111))
        packets.append((send + 21 + queue + rng.random(), send + 0.3, 80, 2222))  # audio
        send += 1000 / 30
    packets.sort()
    for _ in range(15):  # a few neighbours arrive in the other order
        i = rng.randrange(len(packets) - 1)
        first, second = packets[i], packets[i + 1]
        packets[i], packets[i + 1] = (first[0], *second[1:]), (second[0], *first[1:])
    # abs-send-time: 6.18 fixed point seconds, 24 bits (it wraps every 64 s)
    return [
        (int(arrival), int(sent / 1000 * (1 << 18)) & 0xFFFFFF, size, ssrc)
        for arrival, sent, size, ssrc in packets
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_rembs_as_aiortc_on_the_same_packets(seed: int):
    ours, theirs = RembEstimator(), RemoteBitrateEstimator()
    sent = []
    for arrival, abs_send_time, size, ssrc in stream(seed):
        expected = theirs.add(arrival, abs_send_time, size, ssrc)
        got = ours.add(arrival, abs_send_time, size, ssrc)
        assert got == expected, (arrival, got, expected)
        if got is not None:
            sent.append(got[0])
    assert len(sent) > 50  # about one every 500 ms, more when overusing
    assert min(sent) < max(sent)  # the estimate moved (overuse and recovery were seen)
