"""The server under test: our own ``conference serve`` or one already running (``--url``).

Sites need a room and tokens. With our own server both come from its scratch
data directory. With ``--url`` the simulator signs tokens with the server's
key, read from ``--data-dir`` (the server's data directory: its
``secret.key``, or ``CONFERENCE_SECRET`` in the environment as the server has
it), and creates the room with ``conference room create --data-dir`` unless
``--room`` names one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from forwarding_parts.paths import ROOT

ROOM_NAME = "Mô phỏng 190 điểm cầu"
PROBLEM = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback|Exception)\b")


class ServerTarget:
    """Where the sites go, how to make their tokens, and the server's CPU and counters."""

    def __init__(self, args: Any) -> None:
        self.own: Any = None
        self.scratch: Path | None = None
        self.log_path: Path | None = None
        self.redis_env: dict[str, str] = {}
        self.redis_url: str | None = None
        self.workers = 1
        if args.url is None:
            from tests.support.server import start_server

            self.scratch = Path(tempfile.mkdtemp(prefix="bench-sites-"))
            serve_args = shlex.split(args.serve_args)
            workers = _flag(serve_args, "--workers")
            self.workers = int(workers or 1)
            if workers and int(workers) > 1 and _flag(serve_args, "--worker-ports") is None:
                # Free ports, not PORT+1..: our port is a random free one, its neighbours
                # may be taken.
                from tests.support.server import free_port

                ports = ",".join(str(free_port()) for _ in range(int(workers)))
                serve_args += ["--worker-ports", ports]
            # With Redis (``--workers N`` needs it): keys of our own, deleted at the end.
            self.redis_url = _flag(serve_args, "--redis")
            self.redis_env = (
                {
                    "CONFERENCE_REDIS_URL": self.redis_url,
                    "CONFERENCE_REDIS_PREFIX": f"bench-sites-{uuid.uuid4().hex}:",
                }
                if self.redis_url
                else {}
            )
            self.own = start_server(self.scratch / "data", *serve_args, env=self.redis_env)
            self.base_url = self.own.base_url
            self.pid = int(self.own.process.pid)
            self.log_path = self.own.log_path
            self.room = args.room or self._own_room()
            from tests.support.server import TEST_SECRET

            self.secret = TEST_SECRET.encode()
        else:
            if args.server_pid is None or args.data_dir is None:
                raise SystemExit("--url needs --server-pid and --data-dir (see --help)")
            self.base_url = args.url.rstrip("/")
            self.pid = args.server_pid
            self.secret = _server_secret(args.data_dir)
            self.room = args.room or _create_room(args.data_dir)

    def _own_room(self) -> str:
        """A room on our own server, in its store (Redis, with ``--redis``)."""
        made = self.own.cli("room", "create", ROOM_NAME, "--codec", "vp8")
        if made.returncode != 0:
            raise SystemExit(f"cannot create the room: {made.stderr.strip()}")
        return str(made.stdout.strip())

    def token(self, name: str, site_id: str) -> str:
        """A participant token for one site (a stable site id, as a site account has)."""
        from datetime import timedelta

        from conference.tokens import Role, issue_token

        return issue_token(
            self.secret,
            room=self.room,
            name=name,
            role=Role.PARTICIPANT,
            ttl=timedelta(hours=4),
            site_id=site_id,
        )

    def nodes(self) -> list[str]:
        """The base URLs of our own server's nodes (its workers with ``--workers N``); the
        public URL alone without Redis or with ``--url``."""
        if self.own is None or not self.redis_env:
            return [self.base_url]
        result = self.own.cli("nodes", "--json")
        urls = [
            str(node["advertise"])
            for node in map(json.loads, result.stdout.splitlines())
            if not node.get("rejected")
        ]
        return urls or [self.base_url]

    def wait_for_nodes(self, timeout: float = 30.0) -> list[str]:
        """Our nodes' base URLs by URL, once all ``--workers N`` have registered."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = sorted(self.nodes())
            if len(nodes) >= self.workers or time.monotonic() > deadline:
                return nodes
            time.sleep(0.5)

    def metrics(self) -> dict[str, float]:
        """The server's ``/metrics`` series by name (labels included), summed over its nodes."""
        return sum_metrics(self.node_metrics())

    def node_metrics(self) -> dict[str, dict[str, float]]:
        """Each node's ``/metrics`` series by name (labels included), by its base URL."""
        return {base: read_metrics(base) for base in sorted(self.nodes())}

    def log_problems(self) -> dict[str, Any]:
        """Warnings, errors and tracebacks in our own server's log (unknown with ``--url``)."""
        if self.log_path is None:
            return {"log": None}
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {"log": None}
        bad = [line for line in lines if PROBLEM.search(line)]
        shapes = Counter(re.sub(r"\d+", "#", re.sub(r"^\S+ \S+ ", "", line))[:160] for line in bad)
        return {
            "log": str(self.log_path),
            "lines": len(lines),
            "problem_lines": len(bad),
            "examples": shapes.most_common(5),
        }

    def stop(self) -> None:
        """Stop our own server (a server given with ``--url`` is left running)."""
        if self.own is not None:
            self.own.stop()
            if self.redis_env:
                import asyncio

                from tests.support.redis_keys import delete_prefixed

                prefix = self.redis_env["CONFERENCE_REDIS_PREFIX"]
                asyncio.run(delete_prefixed(self.redis_url or "", prefix))


def read_metrics(base: str) -> dict[str, float]:
    """One node's ``/metrics`` series by name (labels included)."""
    values: dict[str, float] = {}
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            values[name] = values.get(name, 0.0) + float(value)
    return values


def sum_metrics(per_node: dict[str, dict[str, float]]) -> dict[str, float]:
    """The series of several nodes summed by name."""
    values: dict[str, float] = {}
    for metrics in per_node.values():
        for name, value in metrics.items():
            values[name] = values.get(name, 0.0) + value
    return values


def _flag(argv: list[str], name: str) -> str | None:
    """The value of ``name`` in ``argv`` (``--name VALUE`` or ``--name=VALUE``), else None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _server_secret(data_dir: Path) -> bytes:
    secret = os.environ.get("CONFERENCE_SECRET")
    if secret:
        return secret.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        raise SystemExit(f"no {path} and no CONFERENCE_SECRET: cannot sign the sites' tokens")
    return path.read_bytes().strip()


def _create_room(data_dir: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conference",
            "room",
            "create",
            ROOM_NAME,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    if result.returncode != 0:
        raise SystemExit(f"conference room create failed: {result.stderr.strip()}")
    return result.stdout.strip()
