"""Composite renders as background jobs: one process at a time, progress to listeners.

Rendering decodes and encodes video for minutes: it runs in a child process
(``conference recording render ID --json-progress``), never in the server's
event loop, and one at a time so meetings keep the CPU they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class RenderJob:
    """One render of one recording in one layout."""

    recording_id: str
    layout: str
    status: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    output: str | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    listeners: list[asyncio.Queue[dict[str, Any]]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The job on the wire."""
        return {
            "recording": self.recording_id,
            "layout": self.layout,
            "status": self.status,
            "progress": round(self.progress, 4),
            "output": self.output,
            "error": self.error,
        }

    def notify(self) -> None:
        for queue in list(self.listeners):
            queue.put_nowait(self.snapshot())


class RenderJobs:
    """Runs renders of the recordings under ``data_dir`` one after the other."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env
        self.jobs: dict[tuple[str, str], RenderJob] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, recording_id: str, layout: str) -> RenderJob | None:
        """The latest job for this recording and layout."""
        return self.jobs.get((recording_id, layout))

    def start(self, recording_id: str, layout: str) -> RenderJob:
        """Queue a render unless one is queued or running already."""
        key = (recording_id, layout)
        job = self.jobs.get(key)
        if job is not None and job.status in ("queued", "running"):
            return job
        job = self.jobs[key] = RenderJob(recording_id, layout)
        task = asyncio.ensure_future(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: RenderJob) -> None:
        async with self._one_at_a_time:
            job.status = "running"
            job.notify()
            command = [
                sys.executable,
                "-m",
                "conference",
                "recording",
                "render",
                job.recording_id,
                "--layout",
                job.layout,
                "--json-progress",
                "--data-dir",
                str(self.data_dir),
            ]
            process: asyncio.subprocess.Process | None = None
            try:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env={**os.environ, **(self.env or {})},
                )
                assert process.stdout is not None and process.stderr is not None
                errors = asyncio.ensure_future(process.stderr.read())
                async for line in process.stdout:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    if "progress" in message:
                        job.progress = float(message["progress"])
                        job.notify()
                    if "done" in message:
                        job.output = Path(str(message["done"])).name
                code = await process.wait()
                stderr = (await errors).decode("utf-8", "replace")
                if code == 0 and job.output:
                    job.status, job.progress = "done", 1.0
                else:
                    job.status = "failed"
                    job.error = (stderr.strip().splitlines() or [f"exit code {code}"])[-1][:500]
            except asyncio.CancelledError:
                if process is not None and process.returncode is None:
                    process.kill()
                job.status, job.error = "failed", "the server stopped"
                raise
            except Exception as exc:
                logger.exception("render of %s failed", job.recording_id)
                job.status, job.error = "failed", str(exc)
            finally:
                job.notify()

    async def close(self) -> None:
        """Stop running renders (server shutdown)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
