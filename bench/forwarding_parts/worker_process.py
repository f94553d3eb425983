"""A worker process (publisher or subscribers) and the orchestrator's handle on it.

The orchestrator starts workers with multiprocessing's ``spawn``: the child
imports :func:`worker_main` from this module by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from worker_commands import WorkerHandle, detach_from_orchestrator, serve_commands

from forwarding_parts.children import CHILDREN
from forwarding_parts.clip import read_clip
from forwarding_parts.publisher import PublisherWorker
from forwarding_parts.subscribers import SubscriberWorker


def _pin_rtp_timestamp_origin() -> None:
    """Make aiortc senders start RTP timestamps at 0 (SSRCs stay random).

    The baseline re-encodes, so its frames can only be matched to the
    publisher's by RTP timestamp: publisher timestamp = frame index * 3000.
    """
    import aiortc.rtcrtpsender

    real = aiortc.rtcrtpsender.random32

    def random32() -> int:
        if sys._getframe(1).f_code.co_name == "_run_rtp":
            return 0
        return real()

    aiortc.rtcrtpsender.random32 = random32


def worker_main(conn: Any, role: str, clip_file: str) -> None:
    """Entry point of a worker process: answer the orchestrator's commands."""
    detach_from_orchestrator()
    _pin_rtp_timestamp_origin()
    clip = read_clip(Path(clip_file))
    handler: Any = PublisherWorker(clip) if role == "publisher" else SubscriberWorker(clip)
    asyncio.run(serve_commands(handler, conn))


class Worker(WorkerHandle):
    """The orchestrator's handle on a publisher or subscribers worker process."""

    def __init__(self, role: str, clip_file: Path, context: Any) -> None:
        super().__init__(role, context, worker_main, role, str(clip_file))
        self.role = role
        CHILDREN.append(self)

    def kill(self) -> None:
        super().kill()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)
