"""``conference serve --workers N``: N server processes behind one HTTP port.

One Python process uses one core. The supervisor (this module, the process
the operator started) binds the public port once and starts N workers, each
a whole node of the cluster (``--redis`` is required: the workers share the
meetings' state, the home leases and the event bus through it). Every worker
accepts connections on the inherited public sockets (the kernel hands each
new connection to one of them) and also listens on a port of its own, which
it advertises (the supervisor binds these ports too, all of them before
starting any worker: a port another program holds stops the start with one
error instead of a worker failing and being restarted forever, and a
restarted worker gets its port's sockets back): a site whose meeting lives
on another worker is sent there with a 307 or a ``redirect`` message,
exactly as between machines (see docs/architecture.md, "Nodes and
placement"). Worker ``i`` is node ``ID-wi`` (``ID`` from ``--node-id``,
else ``HOSTNAME-PORT``) on port ``PORT+i`` unless ``--worker-ports`` names
the ports.

The supervisor restarts a worker that dies (killed, or exits with an error;
after 1 s, doubling to 30 s while it keeps failing within a minute); a worker
that stops cleanly was asked to (a signal to the process group, as Ctrl+C
and systemd send) and is left stopped, and the supervisor ends with the last
one. On SIGTERM or SIGINT it stops every worker (SIGTERM, then SIGKILL after
:data:`STOP_GRACE` seconds). It opens no event loop and touches no media:
nothing it does can stall a meeting.

A meeting spreads over the workers (the cascade, conference/cascade/): a
site is served by the worker that accepted it, and the streams its page
needs are relayed once between workers. Each worker registers with the
machine's node id (``CONFERENCE_MACHINE``), so a placement rule naming the
machine reaches its workers. Without ``--workers``, ``serve`` runs one worker
per usable core when it has Redis (``auto``; each worker's own port is then
one the system picks unless ``--worker-ports`` names them), else one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from conference.cluster.advertise import default_node_id
from web.listener import LISTEN_FDS_ENV, OWN_FDS_ENV, listening_sockets

logger = logging.getLogger(__name__)

WORKER_ENV = "CONFERENCE_WORKER_INDEX"  # set in a worker: 1..N
STOP_GRACE = 10.0  # seconds a worker has to stop after SIGTERM
RESTART_FIRST = 1.0
RESTART_MAX = 30.0
STABLE_AFTER = 60.0  # a worker up this long restarts at RESTART_FIRST again
POLL = 0.2
OWN_BACKLOG = 128  # a worker's own port: what its site would have listened with
PR_SET_PDEATHSIG = 1  # prctl(2)


def worker_ports(port: int, count: int, listed: str | None, any_free: bool = False) -> list[int]:
    """Each worker's own port: ``listed`` (comma-separated, ``count`` of them), else
    ``port+1 .. port+count``, else with ``any_free`` 0 for each (the system picks when
    it is bound); ValueError if they do not fit."""
    if any_free and not listed:
        return [0] * count
    if listed:
        try:
            ports = [int(part) for part in listed.split(",") if part.strip()]
        except ValueError:
            raise ValueError("--worker-ports takes port numbers separated by commas") from None
        if len(ports) != count:
            raise ValueError(f"--worker-ports names {len(ports)} ports for {count} workers")
    else:
        ports = [port + i for i in range(1, count + 1)]
    if any(not 0 < p < 65536 for p in ports) or len(set(ports)) != len(ports) or port in ports:
        raise ValueError(f"worker ports {ports} must be distinct, in 1-65535 and not {port}")
    return ports


def with_port(base_url: str, port: int) -> str:
    """``base_url`` (scheme://host[:port]) at ``port``."""
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:{port}", "", "", ""))


def worker_node_id(node_id: str | None, public_port: int, index: int) -> str:
    """Worker ``index``'s node id: ``ID-wINDEX``, ID being ``--node-id`` or HOSTNAME-PORT."""
    base = node_id or default_node_id(public_port)
    return f"{base[:60]}-w{index}"


@dataclass
class Worker:
    """One worker process and what it takes to start it again."""

    index: int
    argv: list[str]
    own: list[socket.socket] = field(default_factory=list)  # its own port's sockets
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = RESTART_FIRST
    restart_at: float | None = None
    restarts: int = field(default=0)


def bind_public(host: str, port: int) -> list[socket.socket]:
    """The public port's listening sockets, inheritable by the workers."""
    sockets = listening_sockets(host, port, backlog=1024)
    for sock in sockets:
        sock.set_inheritable(True)
    return sockets


def bind_worker_ports(host: str, ports: list[int]) -> list[list[socket.socket]]:
    """Each worker's own port's listening sockets (``ports[i]`` for worker ``i+1``; 0:
    one the system picks, the same for each address of ``host``).

    OSError naming the worker, the port and the system's reason if one cannot be
    bound, with none of them left open."""
    bound: list[list[socket.socket]] = []
    try:
        for index, port in enumerate(ports, 1):
            try:
                bound.append(
                    listening_sockets(host, port, backlog=OWN_BACKLOG)
                    if port
                    else _any_free_port(host)
                )
            except OSError as exc:
                reason = exc.strerror or str(exc)  # listening_sockets names host and port
                raise OSError(
                    exc.errno,
                    f"worker {index}'s own port {port}: {reason} (free it, or choose other "
                    "ports with --worker-ports)",
                ) from None
    except BaseException:
        for sockets in bound:
            for sock in sockets:
                sock.close()
        raise
    return bound


def _any_free_port(host: str, attempts: int = 20) -> list[socket.socket]:
    """Listening sockets on one port the system picks, the same for every address of
    ``host`` (an IPv4 and an IPv6 socket are given different ports by port 0)."""
    for _ in range(attempts):
        first = listening_sockets(host, 0, backlog=OWN_BACKLOG)
        port = first[0].getsockname()[1]
        if all(sock.getsockname()[1] == port for sock in first):
            return first
        for sock in first:
            sock.close()
        try:
            return listening_sockets(host, port, backlog=OWN_BACKLOG)
        except OSError:
            continue  # taken on the other family meanwhile: pick again
    raise OSError(f"no port free on every address of {host!r}")


def supervise(
    count: int,
    base_argv: list[str],
    overrides: list[list[str]],
    sockets: list[socket.socket],
    own: list[list[socket.socket]],
    machine: str | None = None,
) -> int:
    """Run ``count`` workers (``base_argv`` + each one's ``overrides``) until SIGTERM/SIGINT.

    ``sockets``: the public port's, every worker's; ``own[i]``: worker ``i+1``'s own
    port's (see :func:`bind_worker_ports`), passed to it at every start. ``machine``:
    the node id placement rules name this machine by (its workers say so in the
    registry)."""
    fds = [sock.fileno() for sock in sockets]
    env = dict(os.environ)
    env[LISTEN_FDS_ENV] = ",".join(str(fd) for fd in fds)
    if machine:
        env["CONFERENCE_MACHINE"] = machine
    # A meeting spreads over the workers: a site is served by the worker that
    # accepted its socket, the media relayed between them (conference/cascade/).
    env.setdefault("CONFERENCE_CASCADE", "spread")
    workers = [Worker(i + 1, base_argv + overrides[i], own[i]) for i in range(count)]
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    def start(worker: Worker) -> None:
        own_fds = [sock.fileno() for sock in worker.own]
        worker.process = subprocess.Popen(
            worker.argv,
            env={
                **env,
                WORKER_ENV: str(worker.index),
                OWN_FDS_ENV: ",".join(str(fd) for fd in own_fds),
            },
            # Only its own port's: a worker holds no other worker's port.
            pass_fds=fds + own_fds,
            preexec_fn=_die_with_parent,  # this process has no threads: safe here
        )
        worker.started = time.monotonic()
        worker.restart_at = None
        logger.info("worker %d started (pid %d)", worker.index, worker.process.pid)

    for worker in workers:
        start(worker)
    print(f"Serving with {count} workers (Ctrl+C to stop)", flush=True)
    while not stopping and any(w.process is not None or w.restart_at for w in workers):
        time.sleep(POLL)
        now = time.monotonic()
        for worker in workers:
            process = worker.process
            if worker.restart_at is not None:
                if now >= worker.restart_at and not stopping:
                    worker.restarts += 1
                    start(worker)
                continue
            if process is None or process.poll() is None:
                continue
            if process.returncode == 0:
                # A clean stop: somebody asked this worker to stop (a signal to the whole
                # process group, as Ctrl+C and systemd send). Not started again.
                logger.info("worker %d stopped", worker.index)
                worker.process = None
                continue
            # Died (killed, crashed): start it again, later if it keeps failing.
            if now - worker.started > STABLE_AFTER:
                worker.delay = RESTART_FIRST
            logger.warning(
                "worker %d exited with status %s; starting it again in %.0f s",
                worker.index,
                process.returncode,
                worker.delay,
            )
            worker.restart_at = now + worker.delay
            worker.delay = min(worker.delay * 2, RESTART_MAX)
    # Stop: every worker gets SIGTERM, then SIGKILL after the grace.
    for worker in workers:
        if worker.process is not None and worker.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        if worker.process is None:
            continue
        try:
            worker.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("worker %d did not stop in %.0f s: killed", worker.index, STOP_GRACE)
            worker.process.kill()
            worker.process.wait()
    for sock in sockets + [sock for worker in workers for sock in worker.own]:
        sock.close()
    return 0


def _die_with_parent() -> None:
    """In a new worker (Linux): SIGTERM when the supervisor dies, even by SIGKILL, so no
    orphan keeps serving the port's meetings alone."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_command() -> list[str]:
    """How to start this program again: the same interpreter, ``-m conference``."""
    return [sys.executable, "-m", "conference"]
