"""Reading many datagrams per system call: ``recvmmsg(2)`` through cffi, or ``recvfrom``.

A counting site's cost is mostly per datagram (docs/benchmarks.md, "Issue
10: 190 sites"): one ``recvfrom`` system call, its tuple and its address
object each. ``recvmmsg`` fills up to :data:`BATCH` datagrams in one call;
cffi's ABI mode opens libc at run time, so nothing is compiled (as the
server's ``sendmmsg`` in conference/media/shared_udp.py). Without cffi or
``recvmmsg`` (or with ``SITES_RECEIVE=recvfrom``) the same interface reads
with ``recvfrom``; the tests run both.

Both give the datagrams as ``bytes``; the sender's address is only decoded
for a datagram that is not SRTP/SRTCP (STUN, which aioice answers), since a
counting site never needs it.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from socket import AF_INET, AF_INET6
from typing import Any

RECEIVE_ENV = "SITES_RECEIVE"  # "recvmmsg" (default when available) or "recvfrom"
BATCH = 64  # datagrams per recvmmsg call
DATAGRAM_MAX = 4096  # bytes per datagram (the SFU's packets stay under the 1,500-byte MTU)
ADDRESS_MAX = 128  # sizeof(struct sockaddr_storage)
MSG_DONTWAIT = 0x40  # Linux; the sockets are non-blocking anyway (asyncio's)

Handler = Callable[[bytes], None]


class Reader:
    """Reads what is queued on a socket; SRTP/SRTCP to ``handler``, the rest to aioice."""

    mode = "recvfrom"

    def drain(self, sock: socket.socket, protocol: Any, handler: Handler, limit: int) -> int:
        """Read up to ``limit`` datagrams queued on ``sock``; how many were read."""
        recvfrom = sock.recvfrom
        for count in range(limit):
            try:
                data, addr = recvfrom(DATAGRAM_MAX)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError:
                return count  # closed under us (the site left)
            if data and 127 < data[0] < 192:  # RFC 7983: SRTP/SRTCP
                handler(data)
            else:
                protocol.datagram_received(data, addr)
        return limit


class MmsgReader(Reader):
    """``recvmmsg`` into buffers allocated once per process (the datagrams are copied out).

    One set of buffers per address family: the kernel writes the sender's
    address length into each message (16 for IPv4, 28 for IPv6) and it is
    never reset, so one family's buffers always fit the next datagram of it.
    """

    mode = "recvmmsg"

    def __init__(self, batch: int = BATCH) -> None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(
            """
            struct iovec { void *iov_base; size_t iov_len; };
            struct msghdr { void *msg_name; unsigned int msg_namelen; struct iovec *msg_iov;
                            size_t msg_iovlen; void *msg_control; size_t msg_controllen;
                            int msg_flags; };
            struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
            struct timespec { long tv_sec; long tv_nsec; };
            int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags,
                         struct timespec *timeout);
            """
        )
        self.ffi = ffi
        self._recvmmsg = ffi.dlopen(None).recvmmsg  # AttributeError: this libc has none
        self.batch = batch
        self._buffers = {family: _Buffers(ffi, batch) for family in (AF_INET, AF_INET6)}
        self.calls = 0

    def drain(self, sock: socket.socket, protocol: Any, handler: Handler, limit: int) -> int:
        fd = sock.fileno()
        if fd < 0:
            return 0
        buffers = self._buffers.get(sock.family)
        if buffers is None:
            return super().drain(sock, protocol, handler, limit)
        msgs, view, recvmmsg, batch = buffers.msgs, buffers.view, self._recvmmsg, self.batch
        null = self.ffi.NULL
        count = 0
        while count < limit:
            got = recvmmsg(fd, msgs, min(batch, limit - count), MSG_DONTWAIT, null)
            self.calls += 1
            if got <= 0:
                if got < 0 and self.ffi.errno == errno.EINTR:
                    continue
                return count  # EAGAIN (nothing queued) or the socket closed under us
            for i in range(got):
                start = i * DATAGRAM_MAX
                data = view[start : start + msgs[i].msg_len]
                if data and 127 < data[0] < 192:  # RFC 7983: SRTP/SRTCP
                    handler(data)
                else:
                    protocol.datagram_received(data, buffers.address(i))
            count += got
            if got < batch:
                return count  # the queue is empty: spare the call that would say so
        return count


class _Buffers:
    """One family's messages: data, sender address and length for each of ``batch``."""

    def __init__(self, ffi: Any, batch: int) -> None:
        self._data = ffi.new("char[]", batch * DATAGRAM_MAX)
        self._names = ffi.new("char[]", batch * ADDRESS_MAX)
        self._iovs = ffi.new("struct iovec[]", batch)
        self.msgs = ffi.new("struct mmsghdr[]", batch)
        for i in range(batch):
            self._iovs[i].iov_base = self._data + i * DATAGRAM_MAX
            self._iovs[i].iov_len = DATAGRAM_MAX
            header = self.msgs[i].msg_hdr
            header.msg_iov = ffi.addressof(self._iovs, i)
            header.msg_iovlen = 1
            header.msg_name = self._names + i * ADDRESS_MAX
            header.msg_namelen = ADDRESS_MAX
        self.view = ffi.buffer(self._data)
        self._name_view = ffi.buffer(self._names)

    def address(self, i: int) -> tuple[Any, ...]:
        """The sender of datagram ``i`` as ``recvfrom`` gives it."""
        start = i * ADDRESS_MAX
        return sockaddr_tuple(self._name_view[start : start + self.msgs[i].msg_hdr.msg_namelen])


def sockaddr_tuple(raw: bytes) -> tuple[Any, ...]:
    """A ``struct sockaddr_in`` / ``_in6`` as Python's ``recvfrom`` returns it."""
    family = int.from_bytes(raw[0:2], sys.byteorder)
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    flowinfo = int.from_bytes(raw[4:8], "big")
    scope = int.from_bytes(raw[24:28], sys.byteorder)
    return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port, flowinfo, scope


def load_reader(mode: str | None = None) -> Reader:
    """The reader ``mode`` names (default: env ``SITES_RECEIVE``, else ``recvmmsg`` if it loads)."""
    wanted = (mode or os.environ.get(RECEIVE_ENV, "") or "recvmmsg").strip().lower()
    if wanted not in ("recvmmsg", "recvfrom"):
        raise ValueError(f"{RECEIVE_ENV} must be recvmmsg or recvfrom, not {wanted!r}")
    if wanted == "recvmmsg":
        try:
            return MmsgReader()
        except (ImportError, OSError, AttributeError):  # no cffi, or a libc without it
            pass
    return Reader()


def udp_receive_buffer_drops() -> int:
    """Datagrams the kernel dropped for a full receive buffer, machine-wide (IPv4 + IPv6).

    Any process's socket counts (the server's, the sites', others'); the
    counters are Linux's ``RcvbufErrors`` (/proc/net/snmp, /proc/net/snmp6).
    """
    total = 0
    try:
        with open("/proc/net/snmp") as handle:
            rows = [line.split() for line in handle if line.startswith("Udp:")]
        if len(rows) >= 2:
            total += int(rows[1][rows[0].index("RcvbufErrors")])
        with open("/proc/net/snmp6") as handle:
            for line in handle:
                name, _, value = line.partition(" ")
                if name == "Udp6RcvbufErrors":
                    total += int(value.strip())
    except (OSError, ValueError):
        pass
    return total
