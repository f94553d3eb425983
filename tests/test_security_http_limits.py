"""No client can hold the server's connections or descriptors (issue 8, item 11).

Found by the red team: 300 half-sent requests were all still open after a
minute; 1,100 idle connections from one machine used up the descriptor
table, ``/healthz`` stopped answering and 70 MB of "Too many open files" went
to the log in 35 seconds. These tests attack a real server process over real
sockets. Attackers connect from other loopback addresses (127.0.0.2, ...) so
that the per-address cap is theirs and the test's own ``/healthz`` comes from
127.0.0.1, as an honest site would from its own address.
"""

from __future__ import annotations

import resource
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import ROOT, ServerProcess, free_port, server_env, start_server

DEADLINE = 90.0  # generous: turns a hang into a failure, asserts nothing about speed


def healthz(server: ServerProcess, timeout: float = 30.0) -> int:
    """GET /healthz on a fresh connection from 127.0.0.1."""
    context = ssl._create_unverified_context() if server.base_url.startswith("https") else None
    with urllib.request.urlopen(
        server.base_url + "/healthz", timeout=timeout, context=context
    ) as reply:
        return int(reply.status)


def healthz_eventually(server: ServerProcess) -> None:
    """/healthz answers 200 before the deadline (fresh connections, retried)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            if healthz(server, timeout=10) == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("/healthz did not answer")
        time.sleep(0.5)


def port_of(server: ServerProcess) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def connect_from(source: str, server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", port_of(server)), timeout=30, source_address=(source, 0)
    )
    sock.setblocking(True)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (EOF or reset); reads what is waiting."""
    try:
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(65536):
                return True
    except ConnectionError:
        return True
    return False


def wait_all_closed(socks: list[socket.socket], within: float = DEADLINE) -> None:
    open_ = list(socks)
    deadline = time.monotonic() + within
    while open_:
        open_ = [s for s in open_ if not closed_by_server(s)]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(open_)} of {len(socks)} connections still open")
        time.sleep(0.2)


def log_bytes(server: ServerProcess) -> int:
    return server.log_path.stat().st_size


def assert_no_traceback(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log, log[-4000:]


@contextmanager
def serving(data_dir: Path, env: dict[str, str], nofile: tuple[int, int] | None = None):
    """A server (optionally under a descriptor limit), stopped afterwards."""
    if nofile is None:
        server = start_server(data_dir, env=env)
    else:
        server = _start_limited(data_dir, env, nofile)
    try:
        yield server
    finally:
        server.stop()


def _start_limited(data_dir: Path, env: dict[str, str], nofile: tuple[int, int]) -> ServerProcess:
    """``conference serve`` with RLIMIT_NOFILE set to ``nofile`` (soft, hard) from the start."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    with open(log_path, "ab") as log:
        command = [sys.executable, "-m", "conference", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**server_env(), **env},
            cwd=ROOT,
            preexec_fn=limit,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_dir, log_path, env)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            healthz(server, timeout=2)
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"server did not start:\n{server.log()}") from None
            time.sleep(0.2)


@pytest.fixture
def short_timeouts(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"CONFERENCE_HTTP_IDLE_TIMEOUT": "2", "CONFERENCE_HTTP_BODY_TIMEOUT": "3"}
    with serving(tmp_path / "data", env) as server:
        yield server


def test_half_sent_requests_are_closed_while_healthz_answers(short_timeouts) -> None:
    server = short_timeouts
    heads, bodies = [], []
    try:
        for _ in range(150):  # request heads that never end (slowloris)
            sock = connect_from("127.0.0.2", server)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
            heads.append(sock)
        for _ in range(150):  # complete heads, bodies that never come
            sock = connect_from("127.0.0.3", server)
            sock.sendall(
                b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
            bodies.append(sock)
        assert healthz(server) == 200  # an honest client is served meanwhile
        wait_all_closed(heads + bodies)
    finally:
        for sock in heads + bodies:
            sock.close()
    # An idle keep-alive connection after a full request is closed too.
    idle = connect_from("127.0.0.4", server)
    try:
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")
        wait_all_closed([idle])
    finally:
        idle.close()
    assert healthz(server) == 200
    assert_no_traceback(server)


def test_a_late_body_gets_408(short_timeouts) -> None:
    sock = connect_from("127.0.0.2", short_timeouts)
    try:
        sock.sendall(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"username"'
        )
        received = b""
        deadline = time.monotonic() + DEADLINE
        while not closed_by_server(sock):
            if select.select([sock], [], [], 0.2)[0]:
                chunk = sock.recv(65536)
                received += chunk
                if not chunk:
                    break
            assert time.monotonic() < deadline, "the connection was never closed"
        assert received.startswith(b"HTTP/1.1 408"), received[:200]
        assert b"body-timeout" in received
    finally:
        sock.close()


def test_connections_over_the_per_address_cap_are_closed_at_once(tmp_path: Path) -> None:
    env = {"CONFERENCE_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "20"}
    with serving(tmp_path / "data", env) as server:
        held = [connect_from("127.0.0.2", server) for _ in range(20)]
        try:
            extra = [connect_from("127.0.0.2", server) for _ in range(30)]
            wait_all_closed(extra)  # refused: closed by the server without a word
            for sock in extra:
                sock.close()
            # Those within the cap are open and served.
            for sock in held:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                assert not closed_by_server(sock)
            assert healthz(server) == 200  # another address is not affected
        finally:
            for sock in held:
                sock.close()
        # Once the attacker's connections are gone, the same address is served again.
        deadline = time.monotonic() + DEADLINE
        while True:
            sock = connect_from("127.0.0.2", server)
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(65536).startswith(b"HTTP/1.1 200"):
                    break
            except ConnectionError:
                pass
            finally:
                sock.close()
            assert time.monotonic() < deadline, "the address was never served again"
            time.sleep(0.5)
        log = server.log()
        assert "closed a new connection from 127.0.0.2 at once" in log
        assert_no_traceback(server)


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="default-caps"),
        # Caps above the descriptor limit: accept() itself runs out of descriptors.
        pytest.param(
            {
                "CONFERENCE_HTTP_MAX_CONNECTIONS": "100000",
                "CONFERENCE_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0",
            },
            id="descriptors-exhausted",
        ),
    ],
)
def test_a_descriptor_flood_keeps_the_log_small_and_the_server_alive(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with serving(tmp_path / "data", env, nofile=(256, 256)) as server:
        before = log_bytes(server)
        flood: list[socket.socket] = []
        try:
            budget = time.monotonic() + 60
            for index in range(1100):
                try:
                    sock = socket.create_connection(
                        ("127.0.0.1", port_of(server)),
                        timeout=2,
                        source_address=(f"127.0.0.{2 + index % 8}", 0),
                    )
                    flood.append(sock)
                except OSError:
                    pass  # the backlog is full, or the server closed it at once
                if time.monotonic() > budget:
                    break
            time.sleep(5)  # let the server chew on it (the old server wrote ~10 MB/s here)
            grown = log_bytes(server) - before
        finally:
            for sock in flood:
                sock.close()
        assert grown < 64 * 1024, server.log()[-4000:]
        healthz_eventually(server)
        log = server.log()
        if "CONFERENCE_HTTP_MAX_CONNECTIONS" in env:
            assert "out of file descriptors" in log
        else:
            assert "connections are open (limit 128)" in log  # half of 256, the rest reserved
        assert "Traceback" not in log, log[-4000:]
        assert log_bytes(server) - before < 64 * 1024


def test_the_descriptor_soft_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    with serving(tmp_path / "data", {}, nofile=(256, hard)) as server:
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        [line] = [row for row in limits.splitlines() if row.startswith("Max open files")]
        assert line.split()[3:5] == [str(hard), str(hard)], line


def test_a_tls_handshake_that_never_comes_is_closed(tmp_path: Path) -> None:
    env = {"CONFERENCE_HTTP_IDLE_TIMEOUT": "2"}
    server = start_server(tmp_path / "data", "--self-signed", env=env)
    try:
        silent = [connect_from("127.0.0.2", server) for _ in range(20)]
        try:
            assert healthz(server) == 200
            wait_all_closed(silent, within=40)  # asyncio's own limit would be 60 s
        finally:
            for sock in silent:
                sock.close()
        assert healthz(server) == 200
    finally:
        server.stop()


def test_the_flood_filter_lets_a_few_lines_a_second_through_and_counts_the_rest() -> None:
    import logging

    from conference.log_floods import FloodFilter

    now = [0.0]
    flood = FloodFilter(burst=5, period=1.0, clock=lambda: now[0])

    def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("web.listener", level, __file__, 1, message, ("x",), None)

    passed = [r for r in (record("accept failed: %s") for _ in range(1000)) if flood.filter(r)]
    assert len(passed) == 5
    assert flood.filter(record("another kind: %s"))  # its own budget
    assert all(flood.filter(record("access %s", logging.INFO)) for _ in range(100))
    now[0] = 1.5
    line = record("accept failed: %s")
    assert flood.filter(line)
    assert (
        line.getMessage() == "accept failed: x [995 more like this in the last 2 s were not logged]"
    )


def test_connections_count_against_their_address_or_ipv6_64() -> None:
    from web.listener import ConnectionGate, address_key

    assert address_key(("192.0.2.7", 4000)) == "192.0.2.7"
    assert address_key(("::ffff:192.0.2.7", 4000, 0, 0)) == "192.0.2.7"
    assert address_key(("2001:db8:1:2:aaaa::1", 4000, 0, 0)) == "2001:db8:1:2::/64"
    assert address_key(("2001:db8:1:2:bbbb::9", 4000, 0, 0)) == "2001:db8:1:2::/64"
    gate = ConnectionGate(per_address=2, total=3)
    assert gate.admit("a") is None and gate.admit("a") is None
    assert gate.admit("a") is not None  # over the address's cap
    assert gate.admit("b") is None
    assert gate.admit("c") is not None  # over the total
    gate.release("a")
    assert gate.admit("c") is None and gate.held_by("a") == 1
