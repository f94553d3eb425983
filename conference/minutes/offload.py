"""Writing minutes in a process of their own, not in a thread of the server's.

reportlab and python-docx are Python code: in a thread they hold the GIL for
the seconds a 2,000-site meeting's minutes take (about 2 s), and the loop
that forwards every meeting's media would get the interpreter back only
between their 5 ms slices. A child process (spawned, so it shares nothing
with the server's threads) takes that time on another core. One child, made
on the first render and kept; made again if it dies.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def run_elsewhere(write: Callable[[T], R], value: T) -> R:
    """``write(value)`` in the renderer process (``write`` a module-level function,
    ``value`` picklable); a renderer that died is replaced once."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), write, value)
    except BrokenProcessPool:
        _pool = None  # killed (out of memory, an operator): a new one for this render
        return await loop.run_in_executor(_executor(), write, value)


def shutdown() -> None:
    """Stop the renderer process (at the server's shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
