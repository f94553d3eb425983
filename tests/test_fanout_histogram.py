"""The fan-out delay histogram: counted per received packet with a sink, read back as quantiles."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from conference.sfu import FANOUT_BUCKETS, DelayHistogram, SfuMetrics, Source
from conference.watchdog import LoopWatchdog
from tests.support.slots import make_slot, video_packets

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the bench's parts import each other as sites_parts

from sites_parts.report import histogram_quantile  # noqa: E402


def as_metrics(histogram: DelayHistogram) -> dict[str, float]:
    """The histogram as /metrics lines parse into (name with labels -> value)."""
    values = {
        f'conference_fanout_seconds_bucket{{le="{le}"}}': float(count)
        for le, count in histogram.cumulative()
    }
    values["conference_fanout_seconds_count"] = float(sum(histogram.counts))
    return values


def test_quantiles_of_the_window_come_from_the_bucket_deltas():
    histogram = DelayHistogram()
    for _ in range(90):
        histogram.observe(0.0007)  # in (0.0005, 0.001]
    first = as_metrics(histogram)
    for _ in range(80):
        histogram.observe(0.0015)  # in (0.001, 0.002]
    for _ in range(20):
        histogram.observe(0.03)  # in (0.02, 0.05]
    last = as_metrics(histogram)
    # Only the window's 100 observations count: the 90 before it do not.
    median = histogram_quantile(first, last, "conference_fanout_seconds", 0.5)
    assert median is not None and 0.001 < median <= 0.002
    p95 = histogram_quantile(first, last, "conference_fanout_seconds", 0.95)
    assert p95 is not None and 0.02 < p95 <= 0.05
    assert histogram_quantile(first, first, "conference_fanout_seconds", 0.5) is None
    assert histogram.cumulative()[-1] == ("+Inf", 190)
    assert len(histogram.cumulative()) == len(FANOUT_BUCKETS) + 1


def test_a_packet_with_a_subscriber_is_counted_one_without_is_not():
    metrics = SfuMetrics()
    camera = Source(source_id="a:video", owner="a", kind="video", metrics=metrics)
    camera.codec = "VP8"
    packets = video_packets(2, first_seq=10, first_ts=0)
    camera.push(packets[0])  # nobody takes it
    assert sum(metrics.fanout.counts) == 0
    slot, _, _ = make_slot()
    slot.metrics = metrics
    slot.assign(camera)
    late = packets[1]
    late.arrival = time.monotonic() - 0.03  # read 30 ms ago: the fan-out finished after that
    camera.push(late)
    assert sum(metrics.fanout.counts) == 1
    assert metrics.fanout.total >= 0.03
    assert (
        histogram_quantile({}, as_metrics(metrics.fanout), "conference_fanout_seconds", 0.5) > 0.02
    )


async def test_the_watchdog_counts_each_heartbeat_wait():
    watchdog = LoopWatchdog(asyncio.get_running_loop(), check_interval=0.01)
    watchdog.start()
    try:
        for _ in range(500):
            if sum(watchdog.health.waits.counts) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        watchdog.close()
    assert sum(watchdog.health.waits.counts) >= 3
    assert watchdog.health.waits.total >= 0
