"""Where connections come in: the listening sockets, who may hold how many, and what
happens when the process runs out of file descriptors.

aiohttp's own site hands the listening socket to asyncio, which gives every
caller as many connections as it cares to open, and which on Python 3.11
answers a full descriptor table (EMFILE from ``accept()``) by logging a
traceback and scheduling one more retry for every connection still waiting:
a thousand idle connections from one machine filled the table, stopped
``/healthz`` and wrote 70 MB of log in half a minute. :class:`GuardedSite`
accepts connections itself instead:

- one client address (an IPv6 /64) holds at most
  ``CONFERENCE_HTTP_MAX_CONNECTIONS_PER_ADDRESS`` connections and the server
  at most ``CONFERENCE_HTTP_MAX_CONNECTIONS`` (by default half the descriptor
  limit, the other half left to media sockets and files); a connection over
  either cap is closed as soon as it is accepted;
- one descriptor is kept in reserve: when ``accept()`` fails for want of
  descriptors the reserve is given up, the waiting connections are accepted
  and closed at once (their clients learn it straight away instead of
  hanging), and the reserve is taken back; when not even that works,
  accepting pauses for a second rather than spinning;
- a TLS handshake must finish within ``CONFERENCE_HTTP_IDLE_TIMEOUT``;
- what it logs about refusals goes through a flood filter, a few lines a
  second at most, with a count of the lines left out.

Admitted sockets are handed to asyncio (``connect_accepted_socket``) and
served by aiohttp's usual request handler, so everything after the accept is
aiohttp's own code.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from conference.log_floods import FloodFilter
from conference.login_throttle import client_network

logger = logging.getLogger(__name__)
logger.addFilter(FloodFilter())  # refusals come by the thousand in a flood

ACCEPT_PAUSE = 1.0  # seconds accepting waits when not even the reserve descriptor helps
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; return the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or target <= soft:
        return soft if soft != resource.RLIM_INFINITY else 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        logger.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
        return soft
    return target


def address_key(peer: Any) -> str:
    """The client a connection counts against: its IPv4 address, or its IPv6 /64."""
    host = peer[0] if isinstance(peer, tuple) else str(peer)
    return client_network(str(host))


class ConnectionGate:
    """Counts open connections per client and in all; says whether one more may open."""

    def __init__(self, per_address: int, total: int) -> None:
        self.per_address = per_address  # 0: no limit
        self.total = total  # 0: no limit
        self.open = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, key: str) -> str | None:
        """Count a new connection from ``key``; or say why it may not open (not counted)."""
        if self.total and self.open >= self.total:
            return f"{self.open} connections are open (limit {self.total})"
        if self.per_address and self._by_address[key] >= self.per_address:
            return f"it has {self._by_address[key]} open (limit {self.per_address})"
        self.open += 1
        self._by_address[key] += 1
        return None

    def release(self, key: str) -> None:
        """A connection from ``key`` has closed."""
        self.open -= 1
        self._by_address[key] -= 1
        if self._by_address[key] <= 0:
            del self._by_address[key]

    def held_by(self, key: str) -> int:
        """Connections open from ``key``."""
        return self._by_address.get(key, 0)


class _CountedProtocol(asyncio.Protocol):
    """aiohttp's request handler, with the gate told once when the connection ends."""

    __slots__ = ("_inner", "_release", "made")

    def __init__(self, inner: asyncio.Protocol, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release
        self.made = False

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made = True
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.release()
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def _open_reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


# Set by `serve --workers N` (server/workers.py) in each worker, as comma-separated
# file descriptors: the public port's listening sockets, which every worker accepts
# on, and this worker's own port's, bound by the supervisor too (so that a port
# another program holds stops the start with an error, not a restart loop, and a
# restarted worker gets the same sockets back).
LISTEN_FDS_ENV = "CONFERENCE_WORKER_LISTEN_FDS"
OWN_FDS_ENV = "CONFERENCE_WORKER_OWN_FDS"


def inherited_sockets(variable: str = LISTEN_FDS_ENV) -> list[socket.socket]:
    """In a worker: the listening sockets its supervisor passed down in the environment
    ``variable`` (the public port's by default; :data:`OWN_FDS_ENV`: its own port's);
    none outside a worker."""
    sockets = []
    for part in os.environ.get(variable, "").split(","):
        if part.strip().isdigit():
            try:
                sock = socket.socket(fileno=int(part))
            except OSError as exc:
                raise OSError(exc.errno, f"{variable}: descriptor {part} is not a socket") from None
            if sock.type != socket.SOCK_STREAM:
                raise OSError(f"{variable}: descriptor {part} is not a listening socket")
            sock.setblocking(False)
            sockets.append(sock)
    return sockets


def listening_sockets(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for ``host`` (every address it resolves to)."""
    infos = socket.getaddrinfo(
        host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
    try:
        for family, kind, proto, _name, address in infos:
            if address in seen:
                continue
            seen.add(address)
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family this machine does not have (IPv6 switched off)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(
                    exc.errno, f"cannot listen on {host or '*'} port {port}: {exc.strerror}"
                ) from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(f"no address to listen on for {host!r}")
    return sockets


class GuardedSite(web.BaseSite):
    """A TCP site (like ``web.TCPSite``) that accepts connections itself, within caps."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 128,
        per_address: int = 200,
        total: int = 0,
        handshake_timeout: float = 15.0,
        adopt: list[socket.socket] | None = None,
        gate: ConnectionGate | None = None,
    ) -> None:
        """``adopt``: listening sockets to accept on instead of binding ``host:port``
        (a worker's share of the public port, see server/workers.py). ``gate``: the
        caps of another site of this process, shared (they are the process's caps)."""
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._adopt = adopt
        self.gate = gate or ConnectionGate(per_address, total)
        self._handshake_timeout = handshake_timeout
        self._sockets: list[socket.socket] = []
        self._reserve: int | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host or '0.0.0.0'}:{self._port}"

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets."""
        return list(self._sockets)

    async def start(self) -> None:
        """Listen and start accepting."""
        await super().start()
        self._loop = asyncio.get_running_loop()
        if self._adopt:
            self._sockets = list(self._adopt)
        else:
            self._sockets = listening_sockets(self._host, self._port, self._backlog)
        self._reserve = _open_reserve()
        for sock in self._sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    async def stop(self) -> None:
        """Stop accepting; the connections already open are aiohttp's to close."""
        for sock in self._sockets:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None
        for task in list(self._connecting):
            task.cancel()
        await super().stop()

    # -- accepting -------------------------------------------------------------------

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(self._backlog):
            try:
                conn, peer = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    self._out_of_descriptors(sock, exc)
                else:
                    logger.error("accepting a connection failed: %s", exc)
                    self._pause(sock)
                return
            self._admit(conn, peer)

    def _admit(self, conn: socket.socket, peer: Any) -> None:
        key = address_key(peer)
        refused = self.gate.admit(key)
        if refused is not None:
            conn.close()
            logger.warning("closed a new connection from %s at once: %s", key, refused)
            return
        assert self._loop is not None
        conn.setblocking(False)
        server = self._runner.server
        assert server is not None
        protocol = _CountedProtocol(server(), lambda: self.gate.release(key))
        task = self._loop.create_task(self._connect(conn, protocol))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, conn: socket.socket, protocol: _CountedProtocol) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(
                lambda: protocol,
                conn,
                ssl=self._ssl_context,
                ssl_handshake_timeout=self._handshake_timeout if self._ssl_context else None,
            )
        except BaseException as exc:
            # A failed or slow TLS handshake, a client gone already, or the server stopping.
            if not protocol.made:
                protocol.release()
            conn.close()
            if not isinstance(exc, Exception):
                raise
            logger.debug("connection not set up: %r", exc)

    def _out_of_descriptors(self, sock: socket.socket, exc: OSError) -> None:
        """Close the connections waiting to be accepted, with the reserve descriptor's help."""
        shed = 0
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None
            while True:
                try:
                    conn, _peer = sock.accept()
                except OSError:
                    break  # none waiting any more, or no descriptor even now
                conn.close()
                shed += 1
            self._reserve = _open_reserve()
        logger.error(
            "out of file descriptors (%s) with %d connections open: closed %d waiting "
            "connections at once",
            exc.strerror,
            self.gate.open,
            shed,
        )
        if self._reserve is None or shed == 0:
            self._pause(sock)

    def _pause(self, sock: socket.socket) -> None:
        """Stop accepting on ``sock`` for a moment (no spinning on an error that persists)."""
        assert self._loop is not None
        self._loop.remove_reader(sock.fileno())
        self._loop.call_later(ACCEPT_PAUSE, self._resume, sock)

    def _resume(self, sock: socket.socket) -> None:
        if self._loop is not None and sock in self._sockets:
            self._reserve = self._reserve if self._reserve is not None else _open_reserve()
            self._loop.add_reader(sock.fileno(), self._accept, sock)
