"""The site simulator's emulated link (bench/sites_parts/link.py), in virtual time."""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from sites_parts.link import IP_UDP_OVERHEAD, LinkDirection, LinkSpec  # noqa: E402

COMMUNE = "commune=1mbit,150ms,2%,5ms"


def test_a_link_spec_reads_rate_rtt_loss_jitter_and_queue() -> None:
    spec = LinkSpec.parse(COMMUNE)
    assert (spec.name, spec.rate_bps, spec.rtt_s, spec.loss, spec.jitter_s) == (
        "commune",
        1e6,
        0.15,
        0.02,
        0.005,
    )
    assert LinkSpec.parse("x=512kbit,80ms,0.5%,0ms,1s").queue_s == 1.0
    assert LinkSpec.parse("x=2mbit,40ms").loss == 0.0
    for bad in ("1mbit,150ms", "x=fast,150ms", "x=1mbit", "x=1mbit,1ms,100%"):
        with pytest.raises(ValueError):
            LinkSpec.parse(bad)


def test_a_packet_arrives_after_its_serialisation_and_half_the_rtt() -> None:
    link = LinkDirection(LinkSpec("x", 1e6, 0.150, 0.0, 0.0))
    arrival = link.send(1000, now=10.0)
    assert arrival == pytest.approx(10.0 + (1000 + IP_UDP_OVERHEAD) * 8 / 1e6 + 0.075)


def test_the_rate_holds_and_a_full_queue_drops() -> None:
    # 8 Mbit/s offered into 1 Mbit/s with a 300 ms buffer, for 2 s of virtual time.
    link = LinkDirection(LinkSpec("x", 1e6, 0.0, 0.0, 0.0, queue_s=0.3))
    arrivals = [link.send(1000, now=i / 1000) for i in range(2000)]
    delivered = [a for a in arrivals if a is not None]
    # What left the link in the 2 s: the rate's worth (the queue's 300 ms still in flight).
    bits = len(delivered) * (1000 + IP_UDP_OVERHEAD) * 8
    last = max(delivered)
    assert bits / last == pytest.approx(1e6, rel=0.01)
    assert last == pytest.approx(2.0 + 0.3, abs=0.02)  # the backlog never exceeds the buffer
    assert link.dropped_queue == 2000 - len(delivered) > 1500
    gaps = [b - a for a, b in itertools.pairwise(delivered)]
    assert min(gaps) == pytest.approx((1000 + IP_UDP_OVERHEAD) * 8 / 1e6)


def test_under_the_rate_nothing_waits_or_drops() -> None:
    link = LinkDirection(LinkSpec("x", 1e6, 0.1, 0.0, 0.0))
    # 500 kbit/s offered: 1000-byte packets every 16.448 ms (twice their serialisation).
    step = 2 * (1000 + IP_UDP_OVERHEAD) * 8 / 1e6
    for i in range(1000):
        arrival = link.send(1000, now=i * step)
        assert arrival == pytest.approx(i * step + step / 2 + 0.05)
    assert link.dropped_queue == 0


def test_random_loss_is_the_configured_fraction() -> None:
    link = LinkDirection(LinkSpec("x", 1e9, 0.0, 0.02, 0.0), random.Random(7))
    arrivals = [link.send(100, now=i * 0.01) for i in range(20000)]
    lost = sum(a is None for a in arrivals)
    assert lost == link.lost
    assert 0.017 < lost / 20000 < 0.023


def test_jitter_stays_in_bounds_and_never_reorders() -> None:
    link = LinkDirection(LinkSpec("x", 1e9, 0.2, 0.0, 0.005), random.Random(3))
    arrivals = [link.send(100, now=i * 0.002) for i in range(5000)]
    assert all(a is not None for a in arrivals)
    delays = [a - i * 0.002 for i, a in enumerate(arrivals) if a is not None]
    assert min(delays) >= 0.1 - 0.005 - 1e-9
    assert max(delays) <= 0.1 + 0.005 + 2e-3  # + the wait behind a late predecessor
    assert max(delays) - min(delays) > 0.008  # it does jitter
    assert all(b >= a for a, b in itertools.pairwise(arrivals))  # type: ignore[operator]
