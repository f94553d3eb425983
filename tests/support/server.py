"""A real ``conference serve`` child process on a free port, for tests and benchmarks.

:func:`start_server` starts one with the test key (:data:`TEST_SECRET`) and
waits until ``/healthz`` answers; :class:`ServerProcess` runs the CLI against
its data and issues tokens signed with its key.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from conference.tokens import Role, issue_token

ROOT = Path(__file__).resolve().parents[2]  # the repository
TEST_SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A ``conference serve`` child process and how to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. the Redis engine)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``conference ARGS`` against this server's data (same store, same key)."""
        return subprocess.run(
            [sys.executable, "-m", "conference", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            input=stdin,
            env={**server_env(), **self.env},
            timeout=120,
        )

    def add_user(
        self,
        username: str,
        role: str,
        unit: str | None = None,
        name: str | None = None,
        password: str = "mat-khau-kiem-thu",
    ) -> str:
        """Create an account with the CLI; returns its password."""
        args = ["user", "add", username, "--role", role, "--password-stdin"]
        if unit:
            args += ["--unit", unit]
        if name:
            args += ["--name", name]
        result = self.cli(*args, stdin=password + "\n")
        assert result.returncode == 0, result.stderr
        return password

    def create_room(self, name: str = "Phòng họp kiểm thử", codec: str = "vp8") -> str:
        """Create a room through the CLI, as an operator would."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conference",
                "room",
                "create",
                name,
                "--codec",
                codec,
                "--data-dir",
                str(self.data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=server_env(),
        )
        return result.stdout.strip()

    def token(
        self,
        room: str,
        name: str,
        role: Role = Role.PARTICIPANT,
        ttl: timedelta = timedelta(hours=1),
        site_id: str | None = None,
        issued_at: float | None = None,
    ) -> str:
        """A token signed with the server's key (``issued_at`` in the past makes it stale)."""
        return issue_token(
            TEST_SECRET.encode(),
            room=room,
            name=name,
            role=role,
            ttl=ttl,
            site_id=site_id,
            now=issued_at,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONFERENCE_SECRET"] = TEST_SECRET
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("CONFERENCE_REDIS_URL", None)
    # One process per server unless a test asks for workers (`--workers N`, or its env):
    # a node given Redis would otherwise run one worker per core (`--workers auto`).
    env["CONFERENCE_WORKERS"] = "1"
    return env


def start_server(
    data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
    """Start ``conference serve`` and wait until /healthz answers."""
    port = port or free_port()
    log_path = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conference",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**server_env(), **(env or {})},
        cwd=ROOT,
    )
    scheme = "https" if "--self-signed" in extra else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    server = ServerProcess(process, base_url, data_dir, log_path, dict(env or {}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if scheme == "http":
                urllib.request.urlopen(f"{base_url}/healthz", timeout=1).read()
                return server
            import ssl

            context = ssl._create_unverified_context()
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1, context=context).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start:\n{server.log()}")
