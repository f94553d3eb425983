"""A worker process (publisher or subscribers) and the orchestrator's handle on it.

The orchestrator starts workers with multiprocessing's ``spawn``: the child
imports :func:`worker_main` from this module by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from forwarding_parts.children import CHILDREN
from forwarding_parts.clip import Clip, read_clip
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


def worker_main(role: str, conn: Any, clip_file: str) -> None:
    """Entry point of a worker process: answer the orchestrator's commands."""
    parent = os.getppid()

    def orphan_watch() -> None:  # never outlive the orchestrator
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=orphan_watch, daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the orchestrator's to handle
    _pin_rtp_timestamp_origin()
    clip = read_clip(Path(clip_file))
    asyncio.run(_serve_commands(role, conn, clip))


async def _serve_commands(role: str, conn: Any, clip: Clip) -> None:
    handler: Any = PublisherWorker(clip) if role == "publisher" else SubscriberWorker(clip)
    loop = asyncio.get_running_loop()
    conn.send(("ok", "ready"))
    while True:
        try:
            command, args = await loop.run_in_executor(None, conn.recv)
        except (EOFError, OSError):
            return
        try:
            result = await getattr(handler, f"cmd_{command}")(*args)
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))
        if command == "stop":
            return


class Worker:
    """The orchestrator's handle on a worker process."""

    def __init__(self, role: str, clip_file: Path, context: Any) -> None:
        self.role = role
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(role, child, str(clip_file)), name=role, daemon=True
        )
        self.process.start()
        child.close()
        CHILDREN.append(self)
        self._ready = False

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready:
            self.result(timeout)
            self._ready = True

    def send(self, command: str, *args: Any) -> None:
        self.conn.send((command, args))

    def result(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.role}: no answer in {timeout:.0f} s")
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"{self.role} failed:\n{value}")
        return value

    def call(self, command: str, *args: Any, timeout: float = 60.0) -> Any:
        self.wait_ready()
        self.send(command, *args)
        return self.result(timeout)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(Exception):
                self.wait_ready(5)
                self.call("stop", timeout=10)
            self.process.join(5)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(3)
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)
