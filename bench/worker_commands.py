"""Benchmark worker processes: the command loop they run and the orchestrator's handle on them.

A worker answers ``(command, args)`` tuples from a pipe by awaiting its
handler's ``cmd_<command>(*args)`` and sending back ``("ok", result)`` or
``("error", traceback)``; ``stop`` is the last command. Used by
``bench/forwarding.py`` and ``bench/sites.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
import traceback
from typing import Any


def detach_from_orchestrator() -> None:
    """In a worker: never outlive the orchestrator, and leave Ctrl+C to it."""
    parent = os.getppid()

    def orphan_watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=orphan_watch, daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def serve_commands(handler: Any, conn: Any) -> None:
    """In a worker: answer the orchestrator's commands until ``stop`` or a closed pipe."""
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


class WorkerHandle:
    """The orchestrator's handle on one worker process started with ``target(child_conn, *args)``."""

    def __init__(self, name: str, context: Any, target: Any, *args: Any) -> None:
        self.name = name
        self.conn, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args), name=name, daemon=True)
        self.process.start()
        child.close()
        self._ready = False

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready:
            self.result(timeout)
            self._ready = True

    def send(self, command: str, *args: Any) -> None:
        self.wait_ready()
        self.conn.send((command, args))

    def result(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.name}: no answer in {timeout:.0f} s")
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"{self.name} failed:\n{value}")
        return value

    def call(self, command: str, *args: Any, timeout: float = 60.0) -> Any:
        self.send(command, *args)
        return self.result(timeout)

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
