"""One UDP socket per local address for every ICE connection, drained many datagrams a wake-up.

aioice binds a socket per connection: 190 sites mean 190 file descriptors in
epoll and one event-loop wake-up (epoll, a ``Handle``, ``recvfrom``, the
protocol callback) per datagram, which costs 20-38 µs on this machine before
any packet code runs (docs/research/issue10-layers.md, section 4). Here every
connection's host candidate is the same socket (a fixed port when
``CONFERENCE_MEDIA_PORT`` says so, as LiveKit's single UDP port, which is
also what a firewall wants), read by :meth:`SharedUdp._drain` in a loop until
the socket is empty: a busy server serves many datagrams per wake-up.

Routing (as pion's ``UDPMuxDefault``): a datagram from a known remote address
goes to the connection that address was authenticated for (an incoming check
aioice accepted, or a check of ours that succeeded); from an unknown address
only STUN is looked at: a request by our ufrag (the part of USERNAME before
``:``), a response by the transaction id of a request we sent. Anything else
from an unknown address is dropped and counted. Server-reflexive candidates
are gathered through the shared socket (their responses route by
transaction id); TURN relays keep their own sockets.

Sends made while a drain runs (a packet's fan-out to its subscribers, the
RTCP answers) are queued and go out when the drain ends, in order, in one
``sendmmsg`` call per socket (through cffi's ABI mode: no compiler) or, with
``CONFERENCE_MEDIA_SEND=sendto`` or without ``sendmmsg``, one ``sendto``
each. Sends from anywhere else (timers, aiortc's tasks) go out at once.

aiortc glue: replaces aioice's ``Connection.get_component_candidates``,
``check_incoming`` and ``check_complete`` and subclasses ``StunProtocol``;
``pyproject.toml`` pins aioice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import logging
import os
import socket
import struct
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from aioice import ice as aioice_ice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority

from conference.ratelog import RateLimitedLog

logger = logging.getLogger(__name__)
ERROR_LOG = RateLimitedLog(logger, level=logging.ERROR)

SEND_MODE_ENV = "CONFERENCE_MEDIA_SEND"  # "sendmmsg" (default when available) or "sendto"
MAX_DATAGRAMS_PER_WAKEUP = 256  # then the loop runs its other callbacks; epoll wakes us again
RECEIVE_BYTES = 65535  # any UDP payload
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024  # the kernel caps it at net.core.[rw]mem_max
MAX_TRANSACTIONS = 8192  # STUN requests in flight whose responses may come from a new address
MAX_UDP_PAYLOAD = {socket.AF_INET: 65507, socket.AF_INET6: 65527}
MAX_BATCH = 1024  # the kernel's UIO_MAXIOV: messages per sendmmsg call
STUN_MAGIC = b"\x21\x12\xa4\x42"
STUN_USERNAME = 0x0006


class Stats:
    """Counters of every shared socket of the process (exported at ``/metrics``)."""

    __slots__ = ("datagrams", "dropped", "send_batches", "send_errors", "sent", "wakeups")

    def __init__(self) -> None:
        self.wakeups = 0  # drain calls: one per event-loop wake-up of a socket
        self.datagrams = 0  # datagrams read
        self.dropped = 0  # from an unknown address and not STUN we can route
        self.sent = 0  # datagrams handed to the kernel at the end of a drain
        self.send_batches = 0  # flushes (one sendmmsg call per socket and drain, or sendto loop)
        self.send_errors = 0  # datagrams the kernel refused at a flush (full buffer...)


STATS = Stats()
_bypass: contextvars.ContextVar[bool] = contextvars.ContextVar("shared_udp_bypass", default=False)
_port: int | None = None  # None: aioice's own socket per connection
_pool: SharedUdpPool | None = None
_batching = False
_dirty: list[SharedUdp] = []


# -- sendmmsg through cffi (ABI mode: libc is opened, nothing is compiled) ------------


class _Mmsg:
    """``sendmmsg(2)`` and the structures it takes, from libc through cffi's ABI mode."""

    def __init__(self) -> None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(
            """
            struct iovec { void *iov_base; size_t iov_len; };
            struct msghdr { void *msg_name; unsigned int msg_namelen; struct iovec *msg_iov;
                            size_t msg_iovlen; void *msg_control; size_t msg_controllen;
                            int msg_flags; };
            struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
            int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
            """
        )
        self.ffi = ffi
        self.libc = ffi.dlopen(None)
        self.sendmmsg = self.libc.sendmmsg
        self.addresses: dict[tuple[Any, ...], tuple[Any, int]] = {}

    def sockaddr(self, family: int, addr: tuple[Any, ...]) -> tuple[Any, int]:
        """A ``struct sockaddr_in`` / ``_in6`` for ``addr``, made once per address."""
        found = self.addresses.get(addr)
        if found is None:
            if len(self.addresses) > 65536:
                self.addresses.clear()
            if family == socket.AF_INET:
                raw = (
                    struct.pack("=H", socket.AF_INET)
                    + struct.pack("!H", addr[1])
                    + socket.inet_pton(socket.AF_INET, addr[0])
                    + bytes(8)
                )
            else:
                raw = (
                    struct.pack("=H", socket.AF_INET6)
                    + struct.pack("!HI", addr[1], 0)
                    + socket.inet_pton(socket.AF_INET6, addr[0])
                    + struct.pack("=I", 0)
                )
            found = self.addresses[addr] = (self.ffi.new("char[]", raw), len(raw))
        return found


def _load_mmsg() -> _Mmsg | None:
    try:
        mmsg = _Mmsg()
    except (ImportError, OSError, AttributeError) as exc:  # no cffi, no libc.sendmmsg
        logger.info("sendmmsg is not available (%s): shared sockets send with sendto", exc)
        return None
    return mmsg


def send_mode() -> str:
    """How queued datagrams go out: ``sendmmsg`` or ``sendto`` (env ``CONFERENCE_MEDIA_SEND``)."""
    wanted = os.environ.get(SEND_MODE_ENV, "sendmmsg").strip().lower() or "sendmmsg"
    if wanted not in ("sendmmsg", "sendto"):
        raise ValueError(f"{SEND_MODE_ENV} must be sendmmsg or sendto, not {wanted!r}")
    return wanted


# -- the socket -----------------------------------------------------------------------


class SharedUdp:
    """One bound UDP socket that carries every ICE connection on its local address."""

    def __init__(self, sock: socket.socket, mmsg: _Mmsg | None) -> None:
        self.sock = sock
        self.family = sock.family
        self.host, self.port = sock.getsockname()[:2]
        self.max_payload = MAX_UDP_PAYLOAD[sock.family]
        self.by_addr: dict[tuple[Any, ...], MuxedStunProtocol] = {}
        self.by_ufrag: dict[str, MuxedStunProtocol] = {}
        self.by_transaction: OrderedDict[bytes, MuxedStunProtocol] = OrderedDict()
        self.pending: list[tuple[bytes, tuple[Any, ...]]] = []
        self._mmsg = mmsg
        self._msgs: Any = None
        self._iovs: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start draining on ``loop`` (once)."""
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self.sock.fileno(), self._drain)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.sock.fileno())
        self._loop = None
        self.sock.close()

    # -- receiving --------------------------------------------------------------------

    def _drain(self) -> None:
        """Read every datagram waiting (up to a bound), route each, then flush the sends."""
        global _batching
        recvfrom = self.sock.recvfrom
        by_addr = self.by_addr
        v6 = self.family == socket.AF_INET6
        count = 0
        _batching = True
        try:
            while count < MAX_DATAGRAMS_PER_WAKEUP:
                try:
                    data, addr = recvfrom(RECEIVE_BYTES)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # an ICMP error reported on the socket: nothing to read
                    count += 1
                    continue
                count += 1
                if v6:
                    addr = addr[:2]
                protocol = by_addr.get(addr)
                if protocol is None:
                    protocol = self._route_unknown(data, addr)
                    if protocol is None:
                        continue
                try:
                    protocol.datagram_received(data, addr)
                except Exception:  # one bad datagram must not cost the others theirs
                    ERROR_LOG.log("error handling a datagram from %s", addr, exc_info=True)
        finally:
            _batching = False
            STATS.wakeups += 1
            STATS.datagrams += count
            flush_sends()

    def _route_unknown(self, data: bytes, addr: tuple[Any, ...]) -> MuxedStunProtocol | None:
        """The connection a datagram from an address not yet authenticated is for, if any."""
        protocol = None
        if len(data) >= 20 and data[0] < 2 and data[4:8] == STUN_MAGIC:
            kind = ((data[0] << 8) | data[1]) & 0x0110
            if kind == 0x0000:  # a request: our ufrag is the first half of its USERNAME
                ufrag = stun_username_prefix(data)
                if ufrag is not None:
                    protocol = self.by_ufrag.get(ufrag)
            elif kind in (0x0100, 0x0110):  # a response to a request we sent
                protocol = self.by_transaction.pop(data[8:20], None)
        if protocol is None:
            STATS.dropped += 1
        return protocol

    # -- sending ----------------------------------------------------------------------

    def sendto(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """Send ``data`` to ``addr``: queued during a drain, else at once (raises ``OSError``)."""
        if _batching:
            if len(data) > self.max_payload:
                raise OSError(errno.EMSGSIZE, "datagram too large")
            if not self.pending:
                _dirty.append(self)
            self.pending.append((data, addr))
            return
        self.sock.sendto(data, addr)

    def flush(self) -> None:
        """Send what was queued during the drain, in order."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        STATS.send_batches += 1
        if self._mmsg is not None:
            self._flush_mmsg(pending)
            return
        sendto = self.sock.sendto
        errors = 0
        for data, addr in pending:
            try:
                sendto(data, addr)
            except OSError:
                errors += 1  # a full buffer or an unreachable host: UDP would lose it too
        STATS.sent += len(pending) - errors
        STATS.send_errors += errors

    def _flush_mmsg(self, pending: list[tuple[bytes, tuple[Any, ...]]]) -> None:
        mmsg = self._mmsg
        assert mmsg is not None
        ffi = mmsg.ffi
        if self._msgs is None:
            self._msgs = ffi.new("struct mmsghdr[]", MAX_BATCH)
            self._iovs = ffi.new("struct iovec[]", MAX_BATCH)
            for i in range(MAX_BATCH):
                self._msgs[i].msg_hdr.msg_iov = ffi.addressof(self._iovs, i)
                self._msgs[i].msg_hdr.msg_iovlen = 1
        msgs, iovs, family = self._msgs, self._iovs, self.family
        sockaddr, from_buffer, fd = mmsg.sockaddr, ffi.from_buffer, self.sock.fileno()
        for start in range(0, len(pending), MAX_BATCH):
            chunk = pending[start : start + MAX_BATCH]
            keep = []  # the buffers must live until sendmmsg returns
            for i, (data, addr) in enumerate(chunk):
                buffer = from_buffer(data)
                keep.append(buffer)
                iov = iovs[i]
                iov.iov_base = buffer
                iov.iov_len = len(data)
                name, size = sockaddr(family, addr)
                header = msgs[i].msg_hdr
                header.msg_name = name
                header.msg_namelen = size
            done, total = 0, len(chunk)
            while done < total:
                sent = mmsg.sendmmsg(fd, msgs + done, total - done, 0)
                if sent < 0:
                    if ffi.errno == errno.EINTR:
                        continue
                    STATS.send_errors += 1  # the first message failed: skip it, go on
                    done += 1
                    continue
                STATS.sent += sent
                done += sent
            del keep


def flush_sends() -> None:
    """Send every shared socket's queue (the end of a drain)."""
    while _dirty:
        _dirty.pop().flush()


def stun_username_prefix(data: bytes) -> str | None:
    """Our ufrag in a STUN request: USERNAME (``ours:theirs``) up to the colon, unparsed else."""
    end = min(len(data), 20 + int.from_bytes(data[2:4], "big"))
    pos = 20
    while pos + 4 <= end:
        kind = (data[pos] << 8) | data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        if kind == STUN_USERNAME:
            value = data[pos + 4 : pos + 4 + length]
            ours, colon, _ = value.partition(b":")
            if not colon:
                return None
            try:
                return ours.decode("ascii")
            except UnicodeDecodeError:
                return None
        pos += 4 + ((length + 3) & ~3)
    return None


# -- the connections' side ------------------------------------------------------------


class SharedTransport(asyncio.DatagramTransport):
    """What a :class:`MuxedStunProtocol` holds as its transport: a view of the shared socket."""

    def __init__(self, shared: SharedUdp, protocol: MuxedStunProtocol) -> None:
        super().__init__()
        self.shared = shared
        self._protocol = protocol
        self._closing = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        shared, protocol = self.shared, self._protocol
        data = bytes(data)
        if (
            len(data) >= 20
            and data[0] == 0
            and data[1] == 1
            and shared.by_addr.get(addr) is not protocol
        ):
            # A binding request to an address not yet ours: its response routes by its id.
            transactions = shared.by_transaction
            transactions[data[8:20]] = protocol
            if len(transactions) > MAX_TRANSACTIONS:
                transactions.popitem(last=False)
        try:
            shared.sendto(data, addr)
        except OSError as exc:
            protocol.error_received(exc)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return (self.shared.host, self.shared.port)
        if name == "socket":
            return self.shared.sock
        return default

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._protocol.forget()
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class MuxedStunProtocol(aioice_ice.StunProtocol):
    """aioice's protocol of one connection on a shared socket (it owns no socket)."""

    def __init__(self, receiver: aioice_ice.Connection, shared: SharedUdp) -> None:
        super().__init__(receiver)
        self.shared = shared
        self.addresses: set[tuple[Any, ...]] = set()
        self.ufrag: str | None = None

    def learn(self, addr: tuple[Any, ...]) -> None:
        """Route datagrams from ``addr`` here (it passed ICE's authentication for us)."""
        addr = (addr[0], addr[1])
        shared = self.shared
        previous = shared.by_addr.get(addr)
        if previous is self:
            return
        if previous is not None:
            previous.addresses.discard(addr)  # the address moved to a newer session
        shared.by_addr[addr] = self
        self.addresses.add(addr)

    def forget(self) -> None:
        """Unregister every route to this protocol (its connection is closing)."""
        shared = self.shared
        for addr in self.addresses:
            if shared.by_addr.get(addr) is self:
                del shared.by_addr[addr]
        self.addresses.clear()
        if self.ufrag is not None and shared.by_ufrag.get(self.ufrag) is self:
            del shared.by_ufrag[self.ufrag]
        for key in [k for k, p in shared.by_transaction.items() if p is self]:
            del shared.by_transaction[key]


# -- the pool and aioice's patches ----------------------------------------------------


class SharedUdpPool:
    """The shared sockets of the process, one per local address, on one event loop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: dict[str, SharedUdp] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.mmsg = _load_mmsg() if send_mode() == "sendmmsg" else None

    def bind(self, address: str) -> SharedUdp:
        """The socket for ``address``, bound on first use (raises ``OSError``)."""
        shared = self.sockets.get(address)
        if shared is not None:
            return shared
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        port = self.port or next((s.port for s in self.sockets.values()), 0)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            try:
                sock.bind((address, port))
            except OSError:
                if self.port or not port:
                    raise
                sock.bind((address, 0))  # the first socket's port is taken here: any port
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        shared = self.sockets[address] = SharedUdp(sock, self.mmsg)
        if self.loop is not None:
            shared.attach(self.loop)
        return shared

    def for_running_loop(self, address: str) -> SharedUdp:
        """The socket for ``address``, read by the running event loop."""
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
            for shared in self.sockets.values():
                shared.attach(loop)
        elif self.loop is not loop:
            raise RuntimeError("shared media sockets serve one event loop")
        return self.bind(address)

    def close(self) -> None:
        """Close every socket."""
        for shared in self.sockets.values():
            shared.close()
        self.sockets.clear()


def configure(port: int | None, addresses: list[str] | None = None) -> SharedUdpPool | None:
    """Use one shared socket per local address on UDP ``port`` (0: one the OS picks); None: off.

    With ``addresses`` (default: aioice's host addresses) the sockets are
    bound now, so that a port already in use fails at start-up.
    """
    global _port, _pool
    close()
    _port = port
    if port is None:
        return None
    install()
    _pool = SharedUdpPool(port)
    if addresses is None:
        addresses = aioice_ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
    for address in addresses:
        try:
            _pool.bind(address)
        except OSError as exc:
            if port:
                close()
                raise OSError(
                    exc.errno, f"cannot bind the media port {address} UDP {port}: {exc.strerror}"
                ) from exc
            logger.warning("no shared media socket on %s: %s", address, exc)
    return _pool


def close() -> None:
    """Close the shared sockets and go back to aioice's socket per connection."""
    global _port, _pool
    if _pool is not None:
        _pool.close()
    _pool = None
    _port = None


def pool() -> SharedUdpPool | None:
    """The shared sockets, when they are on."""
    return _pool


@contextlib.contextmanager
def private_sockets() -> Iterator[None]:
    """Connections gathered inside get aioice's own sockets (for test clients in one process)."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def _unique_ufrag(connection: aioice_ice.Connection, shared_pool: SharedUdpPool) -> None:
    """Give ``connection`` a ufrag no live connection on the shared sockets has."""
    while any(connection.local_username in s.by_ufrag for s in shared_pool.sockets.values()):
        # 4 random characters collide at a few thousand connections; aiortc reads the
        # ufrag for the SDP only after gathering, so it can still change here.
        connection._local_username = aioice_ice.random_string(4)


def install() -> None:
    """Patch aioice: host candidates on the shared sockets, routes learned on authentication."""
    Connection = aioice_ice.Connection
    if getattr(Connection.get_component_candidates, "_conference_shared", False):
        return
    original_gather = Connection.get_component_candidates
    original_incoming = Connection.check_incoming
    original_complete = Connection.check_complete

    async def get_component_candidates(
        self: aioice_ice.Connection,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 (aioice's signature)
    ) -> list[Candidate]:
        shared_pool = _pool
        if shared_pool is None or _bypass.get():
            return await original_gather(self, component, addresses, timeout)
        _unique_ufrag(self, shared_pool)
        candidates: list[Candidate] = []
        host_protocols: list[MuxedStunProtocol] = []
        for address in addresses:
            try:
                shared = shared_pool.for_running_loop(address)
            except OSError as exc:
                logger.info("no shared media socket on %s: %s", address, exc)
                continue
            protocol = MuxedStunProtocol(self, shared)
            protocol.connection_made(SharedTransport(shared, protocol))
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", shared.host),
                component=component,
                transport="udp",
                priority=candidate_priority(component, "host"),
                host=shared.host,
                port=shared.port,
                type="host",
            )
            protocol.ufrag = self.local_username
            shared.by_ufrag[self.local_username] = protocol
            host_protocols.append(protocol)
            candidates.append(protocol.local_candidate)
        self._protocols += host_protocols

        # Server-reflexive candidates through the shared socket (IPv4, as aioice does),
        # and TURN through aioice's own code (a relay keeps its own socket).
        reflexive = [
            asyncio.create_task(aioice_ice.server_reflexive_candidate(p, self.stun_server))
            for p in host_protocols
            if self.stun_server and socket.AF_INET == p.shared.family
        ]
        relayed = asyncio.ensure_future(original_gather(self, component, [], timeout))
        if reflexive:
            done, pending = await asyncio.wait(reflexive, timeout=timeout)
            for task in done:
                if task.exception() is None:
                    candidates.append(task.result()[0])
            for task in pending:
                task.cancel()
        candidates += await relayed
        return candidates

    def check_incoming(
        self: aioice_ice.Connection, message: Any, addr: tuple[Any, ...], protocol: Any
    ) -> None:
        # Reached only for a request aioice authenticated (USERNAME and MESSAGE-INTEGRITY).
        if isinstance(protocol, MuxedStunProtocol) and not self._closing:
            protocol.learn(addr)
        original_incoming(self, message, addr, protocol)

    def check_complete(self: aioice_ice.Connection, pair: aioice_ice.CandidatePair) -> None:
        # A check of ours succeeded: its response was signed with the remote password.
        protocol = pair.protocol
        if (
            pair.state == aioice_ice.CandidatePair.State.SUCCEEDED
            and isinstance(protocol, MuxedStunProtocol)
            and not self._closing
        ):
            protocol.learn(pair.remote_addr)
        original_complete(self, pair)

    get_component_candidates._conference_shared = True  # type: ignore[attr-defined]
    Connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]
    Connection.check_incoming = check_incoming  # type: ignore[method-assign]
    Connection.check_complete = check_complete  # type: ignore[method-assign]
