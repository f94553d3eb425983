"""Video paced out to a subscriber on a thin downlink, so that its audio never waits.

A keyframe leaves the publisher as a burst (30-60 KB within a few
milliseconds). Sent on at once, it lands in the queue of a commune's 1 Mbit/s
router as one block that takes a third of a second to drain, and every audio
packet that arrives behind it waits as long, or is dropped when the queue
is full: the gaps in speech the commune link bench measured
(docs/benchmarks.md, "Issue 10: the commune link again").

A :class:`Pacer` holds one subscriber's video packets and lets them out at
about its downlink estimate (its REMB), so the bottleneck's queue stays
short. Audio and retransmissions never enter it: they go out at once, past
whatever video is waiting here. This is what a browser's own pacer does
(WebRTC's ``PacingController``), and as there the queue has a bound in time:
once more is waiting than :data:`MAX_QUEUE_SECONDS` would drain, the pace
rises to empty it in that time, so a sustained overshoot costs delay, never
packets; the layer policy (:mod:`conference.layer_policy`) is what brings
the rate down for good.

A packet's abs-send-time is stamped as it leaves the pacer, not as it
enters: the subscriber's bandwidth estimator must see the spacing on the
wire, not our queue, or it would read our own pacing as congestion.

Only a subscription whose downlink estimate is below :data:`PACE_BELOW_BPS`
is paced (:meth:`conference.slot.Subscription.update_layers` turns it on and
off); every other packet goes straight out, paying for one ``None`` check.
"""

from __future__ import annotations

import asyncio
import struct
import time
import weakref
from collections import deque
from collections.abc import Callable

from conference.media.ntp import abs_send_time_now
from conference.sfu import SfuMetrics

PACE_BELOW_BPS = 2_500_000  # a downlink estimate below this is paced
PACE_FACTOR = 1.0  # the pace, as a fraction of the downlink estimate
MIN_RATE_BPS = 64_000  # never slower than this, whatever the estimate
MAX_QUEUE_SECONDS = 0.5  # the longest a packet is meant to wait here
TICK_SECONDS = 0.005  # how often the waiting queues of a process are drained
BURST_SECONDS = 0.010  # what may go out at once: two ticks' worth
OVERHEAD_BYTES = 50  # per packet on the wire: SRTP tag, UDP, IP

_STAMP = struct.Struct("!I")

# A queued packet: the slot's send, its header and payload, the header's
# extension word without its value (-1: nothing to stamp) and its size on the wire.
Entry = tuple[Callable[[bytes, bytes], bool], bytes, bytes, int, int]


class Pacer:
    """One subscriber's video queue, drained at a rate in bits per second."""

    def __init__(self, rate_bps: float = MIN_RATE_BPS, metrics: SfuMetrics | None = None) -> None:
        self.metrics = metrics
        self.rate_bps = max(float(rate_bps), MIN_RATE_BPS)
        self._queue: deque[Entry] = deque()
        self._queued_bytes = 0
        self._tokens = 0.0  # bytes that may go out now
        self._refilled = time.monotonic()
        self._ticker: _Ticker | None = None  # set while packets wait
        self.packets_paced = 0  # packets that waited here (not sent at once)

    @property
    def queued_packets(self) -> int:
        """Packets waiting now."""
        return len(self._queue)

    def set_rate(self, rate_bps: float) -> None:
        """Pace at ``rate_bps`` (at least :data:`MIN_RATE_BPS`) from now on."""
        self._refill(time.monotonic())
        self.rate_bps = max(float(rate_bps), MIN_RATE_BPS)

    def push(
        self, send: Callable[[bytes, bytes], bool], header: bytes, payload: bytes, stamp: int
    ) -> None:
        """Send the packet now if the budget allows and nothing waits, else queue it.

        ``stamp`` is the header's abs-send-time extension word without its
        value, or -1: the last four bytes of the header are rewritten with
        the time the packet really leaves.
        """
        size = len(header) + len(payload) + OVERHEAD_BYTES
        if not self._queue:
            self._refill(time.monotonic())
            if self._tokens >= size:
                self._tokens -= size
                send(header, payload)  # stamped a moment ago: no rewrite needed
                return
        self._queue.append((send, header, payload, stamp, size))
        self._queued_bytes += size
        self.packets_paced += 1
        if self.metrics is not None:
            self.metrics.packets_paced += 1
        if self._ticker is None:
            self._ticker = _Ticker.of_running_loop()
            self._ticker.add(self)

    def flush(self) -> None:
        """Send everything waiting at once (pacing turned off)."""
        self._cancel()
        while self._queue:
            self._send_one(self._queue.popleft())
        self._queued_bytes = 0

    def discard(self) -> None:
        """Drop everything waiting (the subscriber is gone)."""
        self._cancel()
        self._queue.clear()
        self._queued_bytes = 0

    # -- inside -------------------------------------------------------------------

    def _rate_now(self) -> float:
        """Bytes per second: the pace, or faster when the queue is longer than its bound."""
        return max(self.rate_bps, self._queued_bytes * 8 / MAX_QUEUE_SECONDS) / 8

    def _refill(self, now: float) -> None:
        rate = self._rate_now()
        # The cap: a few milliseconds' worth, and always room for the next packet.
        head = self._queue[0][4] if self._queue else 0
        cap = max(rate * BURST_SECONDS, 1500.0, float(head))
        self._tokens = min(self._tokens + (now - self._refilled) * rate, cap)
        self._refilled = now

    def _send_one(self, entry: Entry) -> None:
        send, header, payload, stamp, _ = entry
        if stamp >= 0:
            header = header[:-4] + _STAMP.pack(stamp | abs_send_time_now())
        send(header, payload)

    def drain(self, now: float) -> bool:
        """Send what the budget allows at ``now``; True while packets still wait."""
        self._refill(now)
        queue = self._queue
        while queue and self._tokens >= queue[0][4]:
            entry = queue.popleft()
            self._tokens -= entry[4]
            self._queued_bytes -= entry[4]
            self._send_one(entry)
        if queue:
            return True
        self._ticker = None
        return False

    def _cancel(self) -> None:
        if self._ticker is not None:
            self._ticker.remove(self)
            self._ticker = None


class _Ticker:
    """One timer per event loop for every pacer with packets waiting.

    A timer per pacer, due when its next packet fits, costs a ``TimerHandle``
    and a wake-up per paced packet (~20 us each, measured: it raised a
    12-site commune run's server CPU by a third); one tick every
    :data:`TICK_SECONDS` drains all of them, and costs nothing while no
    queue waits.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[Pacer, None] = {}  # insertion-ordered: fair turns
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def of_running_loop(cls) -> _Ticker:
        loop = asyncio.get_running_loop()
        ticker = _TICKERS.get(loop)
        if ticker is None:
            ticker = _TICKERS[loop] = cls(loop)
        return ticker

    def add(self, pacer: Pacer) -> None:
        self.waiting[pacer] = None
        if self._timer is None:
            self._timer = self.loop.call_later(TICK_SECONDS, self._tick)

    def remove(self, pacer: Pacer) -> None:
        self.waiting.pop(pacer, None)

    def _tick(self) -> None:
        self._timer = None
        now = time.monotonic()
        for pacer in list(self.waiting):
            if not pacer.drain(now):
                del self.waiting[pacer]
        if self.waiting:
            self._timer = self.loop.call_later(TICK_SECONDS, self._tick)


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = (
    weakref.WeakKeyDictionary()
)
