"""The server under test: our SFU (``conference serve``) or the MediaRelay baseline."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from forwarding_parts.children import CHILDREN
from forwarding_parts.paths import BENCH, ROOT

# The server's counters the benchmark divides its CPU by (from /metrics).
PACKETS = "conference_rtp_packets_forwarded_total"
FRAMES = "conference_video_frames_forwarded_total"


class ServerUnderTest:
    """Our SFU (``conference serve``) or the MediaRelay baseline, as a subprocess."""

    def __init__(self, kind: str, work_dir: Path) -> None:
        self.kind = kind
        self.work_dir = work_dir
        self.sfu: Any = None
        self.process: subprocess.Popen[bytes]
        if kind == "sfu":
            from tests.support.server import start_server

            self.sfu = start_server(work_dir / "data")
            self.process = self.sfu.process
            self.base_url = self.sfu.base_url
            self.log_path = self.sfu.log_path
            CHILDREN.append(self)
            self.room = self.sfu.create_room("Benchmark chuyển tiếp")
        else:
            from tests.support.server import free_port

            port = free_port()
            self.log_path = work_dir / "baseline.log"
            work_dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log_file:
                self.process = subprocess.Popen(
                    [sys.executable, str(BENCH / "baseline_relay.py"), "--port", str(port)],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            CHILDREN.append(self)
            self.base_url = f"http://127.0.0.1:{port}"
            self.room = "benchmark"
            deadline = time.monotonic() + 30
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"baseline exited early:\n{self.log_path.read_text()}")
                try:
                    urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("baseline did not start") from None
                    time.sleep(0.2)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def token(self, name: str, publisher: bool = False) -> str:
        if self.sfu is None:
            return "ignored"
        from conference.tokens import Role

        site = re.sub(r"[^a-z0-9-]", "-", name.lower())
        if publisher:
            return str(self.sfu.token(self.room, name, role=Role.PARTICIPANT, site_id=site))
        return str(self.sfu.token(self.room, name, role=Role.VIEWER, site_id=site))

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"{self.base_url}/metrics", timeout=5).read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
        return values

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ValueError):
            CHILDREN.remove(self)

    def log_problems(self) -> dict[str, Any]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        lines = text.splitlines()
        bad = [
            line
            for line in lines
            if re.search(r"\b(ERROR|CRITICAL|WARNING|Traceback|Exception)\b", line)
        ]
        return {
            "log": str(self.log_path),
            "lines": len(lines),
            "problem_lines": len(bad),
            "examples": sorted(
                Counter(_normalise(line) for line in bad).items(), key=lambda x: -x[1]
            )[:8],
        }


def _normalise(line: str) -> str:
    line = re.sub(r"^\S+ \S+ ", "", line)  # timestamps
    line = re.sub(r"0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+", "#", line)
    return line[:200]
