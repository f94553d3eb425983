"""A watchdog thread that notices when the event loop stops turning.

Every meeting, every HTTP request and every packet forwarded runs on one
event loop: code that blocks it (a slow hash, a disk write, a loop over a
time gap in an estimator) freezes the whole service, and from inside the
loop nothing can notice. A thread outside it can: it asks the loop to answer
a heartbeat and, when the answer is late, logs the stack the loop is stuck
in and counts the stall for ``/metrics``.

A stalled loop cannot run its own SIGTERM handler either. Once a stop was
asked for (:meth:`LoopWatchdog.stop_requested`) and the loop has been stuck
longer than the shutdown budget, the watchdog ends the process itself, so a
service manager's stop works and its restart brings the service back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from conference.sfu import DelayHistogram

logger = logging.getLogger(__name__)

STALL_SECONDS = 1.0  # a loop that has not answered for this long is stalled
CHECK_INTERVAL = 0.1  # how often the watchdog looks
EXIT_AFTER_STOP_SECONDS = 10.0  # stop requested, loop still stuck: exit anyway


@dataclass
class LoopHealth:
    """What ``/metrics`` shows of the loop: plain numbers, written by the watchdog."""

    stalls: int = 0  # stalls noticed since start
    stalled_seconds: float = 0.0  # total time spent in noticed stalls
    longest_stall_seconds: float = 0.0
    lag_seconds: float = 0.0  # the latest heartbeat's delay
    waits: DelayHistogram = field(default_factory=DelayHistogram)  # every heartbeat's delay


class LoopWatchdog:
    """Watch ``loop`` from a daemon thread; see the module docstring."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        stall_seconds: float = STALL_SECONDS,
        check_interval: float = CHECK_INTERVAL,
        exit_after_stop: float = EXIT_AFTER_STOP_SECONDS,
        on_stall: Callable[[float, str], None] | None = None,
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        self.loop = loop
        self.health = LoopHealth()
        self._stall_seconds = stall_seconds
        self._check_interval = check_interval
        self._exit_after_stop = exit_after_stop
        self._on_stall = on_stall
        self._exit_process = exit_process
        self._loop_thread_id = threading.get_ident()
        self._answered = time.monotonic()
        self._asked = False
        self._asked_at = self._answered
        self._stop_requested_at: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching; call from the loop's own thread."""
        self._loop_thread_id = threading.get_ident()
        self._answered = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="loop-watchdog", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (the process is exiting normally)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def stop_requested(self) -> None:
        """A stop signal came: from now on a long stall ends the process.

        Safe to call from a signal handler: it only notes the time.
        """
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()

    # -- the watchdog thread -----------------------------------------------------------

    def _heartbeat(self) -> None:
        self._answered = time.monotonic()
        self.health.lag_seconds = self._answered - self._asked_at
        self.health.waits.observe(self.health.lag_seconds)
        self._asked = False

    def _run(self) -> None:
        stall_started: float | None = None
        while not self._stopping.wait(self._check_interval):
            now = time.monotonic()
            if not self._asked:
                self._asked = True
                self._asked_at = now
                try:
                    self.loop.call_soon_threadsafe(self._heartbeat)
                except RuntimeError:  # the loop is closed
                    return
                if stall_started is not None:
                    self._stall_ended(self._answered - stall_started)
                    stall_started = None
                continue
            waited = now - self._asked_at
            self.health.lag_seconds = waited
            if stall_started is None and waited >= self._stall_seconds:
                stall_started = self._asked_at
                self._stall_noticed(waited)
            requested = self._stop_requested_at
            if (
                stall_started is not None
                and requested is not None
                and now - max(requested, stall_started) >= self._exit_after_stop
            ):
                logger.critical(
                    "event loop stuck for %.1f s after a stop was requested: exiting now",
                    now - stall_started,
                )
                logging.shutdown()
                self._exit_process(70)  # EX_SOFTWARE
                return

    def _stall_noticed(self, waited: float) -> None:
        self.health.stalls += 1
        frame = sys._current_frames().get(self._loop_thread_id)
        stack = "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)"
        logger.warning(
            "event loop stalled: no answer for %.1f s; every meeting is frozen. "
            "The loop is running:\n%s",
            waited,
            stack,
        )
        if self._on_stall is not None:
            self._on_stall(waited, stack)

    def _stall_ended(self, duration: float) -> None:
        health = self.health
        health.stalled_seconds += duration
        health.longest_stall_seconds = max(health.longest_stall_seconds, duration)
        logger.warning("event loop answered again after a %.1f s stall", duration)
