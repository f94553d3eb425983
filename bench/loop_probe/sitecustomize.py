"""A loop-stall probe for benchmarks: put this folder on a server's PYTHONPATH.

Python imports ``sitecustomize`` at start; with ``BENCH_LOOP_PROBE=<file>`` in
the environment this one measures the process's event loop and appends what
it saw to ``<file>`` every 0.25 s (one JSON line: the histograms so far and
the slow events since the previous line, so the probe's own writing stays
small next to what it measures). Without that variable it does nothing. It
measures two things:

* every callback the loop runs (``asyncio.Handle._run``: packet arrivals,
  task steps, timers): a histogram of their durations, and each one over
  :data:`SLOW_SECONDS` with its wall time, its duration, the CPU time the
  loop's thread spent in it (a callback long in time but short in CPU was
  waiting: for the disk, or for a core the machine's other processes held)
  and its name;
* the loop's lag: a thread asks the loop to answer every
  :data:`BEAT_SECONDS`; how late the answer comes is what a packet arriving
  then would have waited (a histogram, and each lag over SLOW_SECONDS).

The benchmark reads the file at the edges of its windows and takes the
largest stall and the histograms' differences inside each window. Not part
of the product: it patches asyncio's private ``Handle._run``.
"""

from __future__ import annotations

import os

_PATH = os.environ.get("BENCH_LOOP_PROBE")

if _PATH:
    import asyncio
    import asyncio.events
    import bisect
    import json
    import threading
    import time
    from collections import deque
    from typing import Any

    SLOW_SECONDS = 0.001
    BEAT_SECONDS = 0.005
    WRITE_SECONDS = 0.25
    EDGES = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

    _callbacks = [0] * (len(EDGES) + 1)
    _lags = [0] * (len(EDGES) + 1)
    _slow: deque[tuple[float, float, float, str]] = deque(maxlen=5000)
    _slow_lags: deque[tuple[float, float]] = deque(maxlen=5000)
    _original_run = asyncio.events.Handle._run
    _watched: set[int] = set()  # ids of the loops with a heartbeat (start-up may run others)

    def _name(handle: Any) -> str:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            return f"task {getattr(coro, '__qualname__', repr(coro))}"
        return getattr(callback, "__qualname__", repr(callback))

    def _timed_run(self: Any) -> None:
        if id(self._loop) not in _watched:
            if not _watched:
                threading.Thread(target=_write, daemon=True).start()
            _watched.add(id(self._loop))
            threading.Thread(target=_beat, args=(self._loop,), daemon=True).start()
        start, start_cpu = time.perf_counter(), time.thread_time()
        _original_run(self)
        spent = time.perf_counter() - start
        _callbacks[bisect.bisect_right(EDGES, spent)] += 1
        if spent >= SLOW_SECONDS:
            _slow.append((time.time(), spent, time.thread_time() - start_cpu, _name(self)))

    def _answered(sent: float) -> None:
        lag = time.perf_counter() - sent
        _lags[bisect.bisect_right(EDGES, lag)] += 1
        if lag >= SLOW_SECONDS:
            _slow_lags.append((time.time(), lag))

    def _beat(loop: asyncio.AbstractEventLoop) -> None:
        while not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_answered, time.perf_counter())
            except RuntimeError:
                return
            time.sleep(BEAT_SECONDS)

    def _take(events: deque[Any]) -> list[Any]:
        taken = []
        while events:  # popleft is atomic: the loop may append meanwhile
            taken.append(events.popleft())
        return taken

    def _write() -> None:
        assert _PATH is not None
        with open(_PATH, "a", buffering=1) as out:
            while True:
                time.sleep(WRITE_SECONDS)
                line = {
                    "at": time.time(),
                    "edges": EDGES,
                    "callbacks": list(_callbacks),
                    "lags": list(_lags),
                    "slow_callbacks": _take(_slow),
                    "slow_lags": _take(_slow_lags),
                }
                out.write(json.dumps(line) + "\n")

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
