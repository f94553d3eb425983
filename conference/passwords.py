"""Password hashing off the event loop: a few threads and a bounded queue.

scrypt (see :mod:`conference.accounts`) costs about 0.1 s of a core and
32 MiB per check. On the event loop that carries every meeting, forty logins
in a burst froze other rooms' audio and video for seconds. Here it runs on a
small pool of threads (``hashlib.scrypt`` releases the GIL, so the loop keeps
turning), and at most ``workers + queue`` checks are in flight: one more is
refused at once with :class:`PasswordsBusy` instead of waiting without
bound, which also bounds the memory the hashes take.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from conference.accounts import dummy_verify, hash_password, verify_password

T = TypeVar("T")

_SECONDS_PER_HASH = 0.1  # for Retry-After: roughly what one scrypt takes


class PasswordsBusy(Exception):
    """Too many password checks are waiting; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"password checks are busy; try again in {retry_after} s")
        self.retry_after = retry_after


class PasswordHasher:
    """Checks and hashes passwords on ``workers`` threads, at most ``queue`` waiting.

    Use it from one event loop. A check counts as in flight until its thread
    is done with it, even if the request that asked for it has gone away, so
    clients that hang up cannot pile up hidden work.
    """

    def __init__(self, workers: int = 1, queue: int = 16) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be at least 1 and queue at least 0")
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="passwords")
        self._in_flight = 0
        self.refused = 0  # checks refused because the queue was full (for /metrics)

    @property
    def in_flight(self) -> int:
        """Checks running or waiting for a thread."""
        return self._in_flight

    def admit(self) -> None:
        """Raise :class:`PasswordsBusy` unless a check may start now (nothing is reserved)."""
        if self._in_flight >= self.capacity:
            self.refused += 1
            waiting = self._in_flight - self.workers + 1
            raise PasswordsBusy(max(1, math.ceil(waiting * _SECONDS_PER_HASH / self.workers)))

    async def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded`` (see :func:`verify_password`)."""
        return await self._run(verify_password, password, encoded)

    async def dummy_verify(self) -> None:
        """Spend the time of a real check (unknown usernames answer as slowly as known ones)."""
        await self._run(dummy_verify)

    async def hash(self, password: str) -> str:
        """The stored form of a new password (see :func:`hash_password`)."""
        return await self._run(hash_password, password)

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        self.admit()
        loop = asyncio.get_running_loop()
        self._in_flight += 1
        try:
            job: Future[T] = self._executor.submit(fn, *args)
        except BaseException:
            self._in_flight -= 1
            raise
        job.add_done_callback(lambda _: self._done_from_thread(loop))
        return await asyncio.wrap_future(job, loop=loop)

    def _done_from_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.call_soon_threadsafe(self._done)
        except RuntimeError:  # the loop is closed: nobody counts any more
            pass

    def _done(self) -> None:
        self._in_flight -= 1

    def close(self) -> None:
        """Stop the threads once the checks they have are done."""
        self._executor.shutdown(wait=False, cancel_futures=True)
