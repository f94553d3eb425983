"""Waiting for a condition in tests without timing assertions.

A generous deadline only turns a hang into a failure; it asserts nothing
about speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_until(
    predicate: Callable[[], bool], timeout: float = 25.0, interval: float = 0.2
) -> None:
    """Poll a plain predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 40.0, interval: float = 0.5
) -> Any:
    """Poll an async check until it returns something truthy; return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout} s; last: {result!r}")
        await asyncio.sleep(interval)
