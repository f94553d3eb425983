"""Fire-and-forget tasks that are neither garbage-collected mid-run nor silent on failure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
    """Run ``coro`` in the background, keep a reference, log an exception if it fails."""
    task = asyncio.ensure_future(coro)
    if name:
        task.set_name(name)
    _running.add(task)
    task.add_done_callback(_done)
    return task


def _done(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s failed", task.get_name(), exc_info=task.exception())


async def pause(seconds: float) -> None:
    """``asyncio.sleep`` between two passes of a loop; ends the task if its cancel was lost.

    On Python 3.11, ``asyncio.wait_for`` returns the inner call's result
    instead of raising when its task is cancelled in the very loop iteration
    that call finishes (fixed in 3.12), and redis-py wraps every command's
    write in one once a socket timeout is set. A loop whose cancel was lost
    that way would go on after shutdown (a heartbeat writing the node's
    record again after it left the registry): seen in bench/redis_outage.py,
    where a cancelled heartbeat loop kept running in two runs of three.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    await asyncio.sleep(seconds)
