"""How a simulated site's datagrams are read: its sockets taken off asyncio's transports.

asyncio reads one datagram per ``_read_ready`` call and runs one callback
per datagram; for a site that only counts what it receives that wake-up
and dispatch cost more than the counting (docs/benchmarks.md, "Issue 10:
site simulator"). Once a site is connected its aioice sockets are taken
over:

* a site that measures time (a checking site, a site behind an emulated
  link) gets its own reader that drains the socket on each wake-up
  (:func:`read_now`): arrival times stay exact;
* a counting site's sockets join the worker's :class:`Poller`, which drains
  every ready socket of the process on one timer tick: one wake-up serves
  many datagrams of many sites. Arrival times are then only as fine as the
  tick, which counting (packets, bytes, sequence numbers) does not need.

STUN (ICE consent checks) still goes to aioice's protocol: only SRTP/SRTCP
(first byte 128-191, RFC 7983) goes to the site. Sockets are read with
``recvmmsg`` (many datagrams per system call; sites_parts/batch_receive.py)
unless ``SITES_RECEIVE=recvfrom``.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
from collections.abc import Callable
from typing import Any

from sites_parts.batch_receive import Reader, load_reader

TICK_ENV = "SITES_READ_TICK_MS"  # the counting sites' read interval, if not TICK_S
TICK_S = 0.01  # the counting sites' read interval
# A counting site reads only every tick: a keyframe burst (or a few of them) must
# wait in its socket meanwhile. The default 208 KiB holds ~90 datagrams (the
# kernel counts ~2.3 KiB per 1,200-byte datagram on loopback).
RECEIVE_BUFFER = 1 << 20
MAX_PER_DRAIN = 256  # datagrams read from one socket in one go (then the next socket)

Handler = Callable[[bytes], None]


def site_sockets(connection: Any) -> list[tuple[socket.socket, Any]]:
    """The (socket, aioice protocol) pairs of a connected aioice ``Connection``."""
    pairs = []
    for protocol in connection._protocols:
        transport = getattr(protocol, "transport", None)
        sock = getattr(transport, "_sock", None)
        if sock is not None:
            pairs.append((sock, protocol))
    return pairs


def drain(sock: socket.socket, protocol: Any, handler: Handler) -> int:
    """Read what is queued on ``sock`` (up to MAX_PER_DRAIN); the datagrams read."""
    return reader().drain(sock, protocol, handler, MAX_PER_DRAIN)


_READER: Reader | None = None


def reader() -> Reader:
    """This process's reader (``recvmmsg`` unless ``SITES_RECEIVE=recvfrom``), made once."""
    global _READER
    if _READER is None:
        _READER = load_reader()
    return _READER


def read_now(connection: Any, handler: Handler) -> None:
    """Each socket of ``connection`` is drained by its own reader as soon as it is readable."""
    loop: Any = asyncio.get_running_loop()
    for sock, protocol in site_sockets(connection):
        # The private forms: the public ones refuse an fd that a transport owns.
        loop._remove_reader(sock.fileno())  # the transport's: one datagram per wake-up
        loop._add_reader(sock.fileno(), drain, sock, protocol, handler)


def _grow_receive_buffer(sock: socket.socket) -> None:
    """Room for what arrives between two ticks (see RECEIVE_BUFFER); capped by rmem_max."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError:
        pass


class Poller:
    """The counting sites of one process: every socket drained on one timer tick."""

    def __init__(self, tick: float | None = None) -> None:
        if tick is None:
            tick = float(os.environ.get(TICK_ENV) or TICK_S * 1000) / 1000
        self.tick = tick
        self.ticks = 0
        self.datagrams = 0
        self._epoll = select.epoll()
        self._by_fd: dict[int, tuple[socket.socket, Any, Handler]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, connection: Any, handler: Handler) -> None:
        """Read ``connection``'s sockets on the tick from now on (not by asyncio)."""
        loop: Any = asyncio.get_running_loop()
        for sock, protocol in site_sockets(connection):
            _grow_receive_buffer(sock)
            fd = sock.fileno()
            loop._remove_reader(fd)  # private: the public form refuses a transport's fd
            self._epoll.register(fd, select.EPOLLIN)
            self._by_fd[fd] = (sock, protocol, handler)
        if self._timer is None:
            self._timer = loop.call_later(self.tick, self._run)

    def _run(self) -> None:
        self.ticks += 1
        by_fd = self._by_fd
        for fd, _events in self._epoll.poll(0):
            entry = by_fd.get(fd)
            if entry is None:
                continue
            if entry[0].fileno() < 0:  # closed: a closed fd left the epoll set by itself
                del by_fd[fd]
                continue
            self.datagrams += drain(*entry)
        self._timer = asyncio.get_running_loop().call_later(self.tick, self._run)

    def close(self) -> None:
        """Stop the tick."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._epoll.close()
