"""A redis-server of a test's own, on a free port, that the test may freeze, kill and restart.

With an append-only file synced on every write, so that a restart (even after
kill -9) keeps the data, as a production Redis would.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.server import free_port


@dataclass
class OwnRedis:
    """A redis-server on a free port that may be frozen, killed and started again."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed (scripts/test installs it)"
        log = open(self.folder / "redis.log", "ab")
        # Every write is on disk before Redis answers, so a kill -9 loses nothing.
        self.process = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        client = redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)
        try:
            while True:
                assert self.process.poll() is None, self.log()
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    assert time.monotonic() < deadline, self.log()
                    time.sleep(0.05)
        finally:
            client.close()

    def log(self) -> str:
        return (self.folder / "redis.log").read_text(errors="replace")

    def go_out(self, outage: str) -> None:
        """Freeze the server (``freeze``) or kill it (``restart``)."""
        assert self.process is not None
        if outage == "freeze":
            self.process.send_signal(signal.SIGSTOP)
        else:
            self.process.kill()
            self.process.wait(10)

    def come_back(self, outage: str) -> None:
        """Thaw the frozen server, or start the killed one again on the same port."""
        assert self.process is not None
        if outage == "freeze":
            self.process.send_signal(signal.SIGCONT)
        else:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            self.process.terminate()
            self.process.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=5)
