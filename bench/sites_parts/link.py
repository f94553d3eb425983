"""An emulated network link between a simulated site and the server, in user space.

This kernel has no ``sch_netem`` (``tc qdisc add ... netem`` answers
"Specified qdisc kind is unknown"), so a site's link is emulated in the
simulator itself, per site and per direction, like netem with a rate:

* **rate**: the link serialises packets at ``rate_bps`` (IP size: payload
  plus 28 bytes of IPv4 + UDP); what arrives faster waits in a FIFO queue
  bounded to ``queue_s`` seconds of the rate. A packet that would overflow
  the queue is dropped (tail drop), as a router's buffer does.
* **loss**: each packet that left the queue is lost with probability
  ``loss`` (independently: a lossy radio hop).
* **delay and jitter**: one-way delay ``rtt/2`` plus a uniform jitter in
  ``[-jitter, +jitter]``, never reordering (a packet never arrives before
  the one sent before it).

:class:`LinkDirection` computes in virtual time (the caller passes ``now``
and gets the arrival time back), so it is unit-tested without a clock.
:class:`LinkPipe` runs one direction on the asyncio loop: it holds the
packets in flight and hands each over at its arrival time, with that time.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

IP_UDP_OVERHEAD = 28  # bytes of IPv4 + UDP header per datagram
DEFAULT_QUEUE_S = 0.3  # a router buffer of 300 ms at the link's rate

_RATE = re.compile(r"^([\d.]+)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps)$", re.IGNORECASE)
_RATE_UNITS = {"bit": 1, "bps": 1, "kbit": 1e3, "kbps": 1e3, "mbit": 1e6, "mbps": 1e6, "gbit": 1e9}


@dataclass(frozen=True)
class LinkSpec:
    """A link's shape: ``NAME=RATE,RTT,LOSS,JITTER`` e.g. ``commune=1mbit,150ms,2%,5ms``."""

    name: str
    rate_bps: float
    rtt_s: float
    loss: float  # 0..1, each direction
    jitter_s: float
    queue_s: float = DEFAULT_QUEUE_S

    @classmethod
    def parse(cls, text: str) -> LinkSpec:
        """Read ``NAME=RATE,RTT[,LOSS[,JITTER[,QUEUE]]]`` (units: mbit/kbit, ms/s, %)."""
        name, sep, rest = text.partition("=")
        if not sep or not name:
            raise ValueError(f"link {text!r}: expected NAME=RATE,RTT,LOSS,JITTER")
        parts = [p.strip() for p in rest.split(",")]
        if len(parts) < 2 or len(parts) > 5:
            raise ValueError(f"link {text!r}: expected NAME=RATE,RTT,LOSS,JITTER[,QUEUE]")
        match = _RATE.match(parts[0])
        if match is None:
            raise ValueError(f"link {text!r}: rate {parts[0]!r} (e.g. 1mbit, 512kbit)")
        rate = float(match.group(1)) * _RATE_UNITS[match.group(2).lower()]
        loss = _percent(parts[2]) if len(parts) > 2 else 0.0
        jitter = _seconds(parts[3]) if len(parts) > 3 else 0.0
        queue = _seconds(parts[4]) if len(parts) > 4 else DEFAULT_QUEUE_S
        if rate <= 0 or not 0 <= loss < 1:
            raise ValueError(f"link {text!r}: rate must be > 0 and loss in [0, 100)%")
        return cls(name, rate, _seconds(parts[1]), loss, jitter, queue)

    def describe(self) -> dict[str, float | str]:
        """The link as the JSON reports it."""
        return {
            "name": self.name,
            "rate_kbps": round(self.rate_bps / 1000, 1),
            "rtt_ms": round(self.rtt_s * 1000, 1),
            "loss_percent_each_way": round(self.loss * 100, 2),
            "jitter_ms": round(self.jitter_s * 1000, 1),
            "queue_ms": round(self.queue_s * 1000, 1),
        }


def _seconds(text: str) -> float:
    text = text.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text) / 1000  # a bare number is milliseconds, as in tc


def _percent(text: str) -> float:
    text = text.strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


class LinkDirection:
    """One direction of a link in virtual time: rate + bounded queue, loss, delay, jitter."""

    def __init__(self, spec: LinkSpec, rng: random.Random | None = None) -> None:
        self.spec = spec
        self.rng = rng or random.Random()
        self.delay = spec.rtt_s / 2
        self.queue_bytes = spec.rate_bps * spec.queue_s / 8
        self._free_at = 0.0  # when the link has sent everything queued
        self._last_arrival = 0.0
        self.sent = 0
        self.sent_bytes = 0
        self.dropped_queue = 0
        self.lost = 0

    def backlog_bytes(self, now: float) -> float:
        """Bytes waiting in the queue at ``now``."""
        return max(0.0, self._free_at - now) * self.spec.rate_bps / 8

    def send(self, size: int, now: float) -> float | None:
        """A datagram of ``size`` bytes (UDP payload) enters at ``now``: its arrival, or None."""
        wire = size + IP_UDP_OVERHEAD
        if self.backlog_bytes(now) + wire > self.queue_bytes:
            self.dropped_queue += 1
            return None
        self._free_at = max(now, self._free_at) + wire * 8 / self.spec.rate_bps
        self.sent += 1
        self.sent_bytes += wire
        if self.spec.loss and self.rng.random() < self.spec.loss:
            self.lost += 1
            return None
        jitter = self.spec.jitter_s
        arrival = self._free_at + self.delay + (self.rng.uniform(-jitter, jitter) if jitter else 0)
        arrival = max(arrival, self._last_arrival, self._free_at)
        self._last_arrival = arrival
        return arrival

    def counters(self) -> dict[str, int]:
        """What this direction carried, dropped and lost."""
        return {
            "packets": self.sent,
            "bytes": self.sent_bytes,
            "dropped_queue": self.dropped_queue,
            "lost": self.lost,
        }


Deliver = Callable[[bytes, float], None]


class LinkPipe:
    """One link direction on the running asyncio loop: packets handed over at arrival."""

    def __init__(self, direction: LinkDirection, deliver: Deliver) -> None:
        self.direction = direction
        self.deliver = deliver  # (datagram, arrival wall time)
        self._queue: deque[tuple[float, bytes]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._wall_to_loop = self._loop.time() - time.time()

    def push(self, data: bytes, now: float | None = None) -> None:
        """``data`` enters the link now (wall time)."""
        arrival = self.direction.send(len(data), time.time() if now is None else now)
        if arrival is None:
            return
        self._queue.append((arrival, data))
        if self._timer is None:
            self._timer = self._loop.call_at(arrival + self._wall_to_loop, self._run)

    def _run(self) -> None:
        self._timer = None
        queue = self._queue
        due = time.time() + 0.0005  # the loop's clock and the wall clock differ slightly
        while queue and queue[0][0] <= due:
            arrival, data = queue.popleft()
            self.deliver(data, arrival)
        if queue:
            self._timer = self._loop.call_at(queue[0][0] + self._wall_to_loop, self._run)

    def close(self) -> None:
        """Drop what is in flight."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
