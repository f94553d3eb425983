"""An instance's relay socket: the handshake, and datagrams handed to their links.

A :class:`RelayEndpoint` is the asyncio datagram protocol of one UDP socket.
It opens links (:meth:`RelayEndpoint.connect`: HELLO, retried every
:data:`HANDSHAKE_RETRY` until the HELLO-ACK, see :mod:`.handshake`) and accepts
them (a valid HELLO from a new address), then hands each datagram from a
peer's address to that peer's :class:`.link.RelayLink`. Whatever does not
verify (another cluster key, a stale or replayed HELLO, an unasked ACK, data
from an address with no link, garbage) is dropped and counted in
``metrics.dropped`` by reason; nothing raises into the event loop. One
ticker (:data:`TICK`) drives every link's retransmissions and keepalives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from conference.relay import handshake
from conference.relay.cipher import DATA
from conference.relay.link import Address, RelayLink, RelayMetrics
from conference.sfu import SfuMetrics, Source

logger = logging.getLogger(__name__)

SourceLookup = Callable[[str], Source | None]

TICK = 0.25  # seconds between control retransmissions and liveness checks
HANDSHAKE_RETRY = 0.5  # seconds between HELLOs while no ACK came
UNSUBSCRIBE_LINGER = 2.0  # seconds a stream stays subscribed after its last sink left
RELAY_SOCKET_BUFFER = 4 << 20  # bytes asked for; the kernel caps it at net.core.*mem_max


@dataclass
class _Dialing:
    """A HELLO sent, its ACK awaited."""

    ephemeral: handshake.Ephemeral
    hello: handshake.Hello
    done: asyncio.Future[RelayLink]


class RelayEndpoint(asyncio.DatagramProtocol):
    """An instance's relay socket: opens, accepts and feeds its links.

    ``lookup`` finds a local source by id for a peer that subscribes to it
    (None: no such source). ``on_link`` is told of each accepted link.
    """

    def __init__(
        self,
        *,
        node_id: str,
        cluster_key: bytes,
        lookup: SourceLookup,
        sfu_metrics: SfuMetrics,
        on_link: Callable[[RelayLink], None] | None = None,
        unsubscribe_linger: float = UNSUBSCRIBE_LINGER,
    ) -> None:
        self.node_id = node_id
        self._key = cluster_key
        self.lookup = lookup
        self.sfu_metrics = sfu_metrics
        self.on_link = on_link
        self.unsubscribe_linger = unsubscribe_linger
        self.metrics = RelayMetrics()
        self.links: dict[Address, RelayLink] = {}
        self._dialing: dict[Address, _Dialing] = {}
        self._nonces = handshake.NonceCache()
        self._logged: set[str] = set()
        self._ticker: asyncio.TimerHandle | None = None
        self.transport: asyncio.DatagramTransport

    @classmethod
    async def open(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        sock: socket.socket | None = None,
        **kwargs: object,
    ) -> RelayEndpoint:
        """An endpoint listening on ``host:port`` (0: any free port), or on ``sock``
        (a UDP socket bound already); kwargs as for the class."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            _, endpoint = await loop.create_datagram_endpoint(
                lambda: cls(**kwargs),  # type: ignore[arg-type]
                sock=sock,
            )
        else:
            _, endpoint = await loop.create_datagram_endpoint(
                lambda: cls(**kwargs),  # type: ignore[arg-type]
                local_addr=(host, port),
            )
        return endpoint

    @property
    def address(self) -> Address:
        """The (host, port) this endpoint listens on."""
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the ticker once the socket exists."""
        # A selector datagram transport, though not a subclass of DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)
        self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        for link in list(self.links.values()):
            try:
                link.tick(now)
            except Exception:
                logger.exception("relay tick failed for %r", link)
        self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)

    def count_drop(self, metrics: RelayMetrics, reason: str) -> None:
        """Count a dropped datagram; log the first of each reason (the rest only count)."""
        metrics.dropped[reason] += 1
        if reason not in self._logged:
            self._logged.add(reason)
            logger.warning(
                "relay %s: dropped a datagram (%s); further ones counted", self.node_id, reason
            )

    async def connect(self, address: Address, give_up_after: float = 5.0) -> RelayLink:
        """Open a link to the endpoint at ``address`` (a numeric host and a port)."""
        existing = self.links.get(address)
        if existing is not None and not existing.closed:
            return existing
        dialing = self._dialing.get(address)
        if dialing is None:
            ephemeral = handshake.Ephemeral()
            raw = handshake.make_hello(self._key, self.node_id, ephemeral)
            hello = handshake.parse(raw, self._key)
            future: asyncio.Future[RelayLink] = asyncio.get_running_loop().create_future()
            dialing = _Dialing(ephemeral, hello, future)
            self._dialing[address] = dialing
        deadline = time.monotonic() + give_up_after
        try:
            while True:
                self.transport.sendto(dialing.hello.raw, address)
                wait = min(HANDSHAKE_RETRY, deadline - time.monotonic())
                if wait <= 0:
                    raise TimeoutError(f"no relay handshake answer from {address}")
                done, _ = await asyncio.wait({dialing.done}, timeout=wait)
                if done:
                    return dialing.done.result()
        finally:
            if self._dialing.get(address) is dialing:
                del self._dialing[address]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        """Demultiplex one datagram; nothing in here raises into the loop."""
        try:
            address = (addr[0], addr[1])
            kind = data[0] if data else -1
            if kind == DATA:
                link = self.links.get(address)
                if link is None:
                    self.count_drop(self.metrics, "unknown_peer")
                else:
                    link.on_datagram(data)
            elif kind == handshake.HELLO:
                self._on_hello(data, address)
            elif kind == handshake.HELLO_ACK:
                self._on_ack(data, address)
            else:
                self.count_drop(self.metrics, "malformed")
        except Exception:
            self.count_drop(self.metrics, "error")
            logger.exception("relay %s: datagram from %s", self.node_id, addr)

    def _on_hello(self, data: bytes, address: Address) -> None:
        try:
            hello = handshake.parse(data, self._key)
        except handshake.HandshakeError as refused:
            self.count_drop(self.metrics, f"hello_{refused.reason}")
            return
        existing = self.links.get(address)
        if existing is not None and existing.hello_nonce == hello.nonce and existing.ack:
            self.transport.sendto(existing.ack, address)  # our ACK was lost: the same answer
            return
        if not self._nonces.check_and_add(hello.nonce):
            self.count_drop(self.metrics, "hello_replayed")
            return
        if existing is not None and hello.clock <= existing.peer_clock:
            # Older than the handshake of the link we have with it (a HELLO of a crossed
            # dial, resent late): a peer that restarts sends a newer one.
            self.count_drop(self.metrics, "hello_superseded")
            return
        dialing = self._dialing.get(address)
        if dialing is not None and not dialing.done.done():
            # Both ends dialed each other at once: one handshake must win, or each end
            # would keep the session of its own dial. The lower (node id, nonce) dials.
            if (self.node_id, dialing.hello.nonce) < (hello.node_id, hello.nonce):
                self.count_drop(self.metrics, "hello_crossed")
                return
        ephemeral = handshake.Ephemeral()
        raw = handshake.make_ack(self._key, self.node_id, ephemeral, hello)
        ack = handshake.parse(raw, self._key, answering=hello)
        keys = handshake.derive(self._key, ephemeral, hello, ack, initiator=False)
        if existing is not None:
            # The peer started over (restarted): a new session replaces it.
            existing.close(say_bye=False)
        link = RelayLink(self, address, keys, hello.nonce, raw, hello.clock)
        self.links[address] = link
        self.transport.sendto(raw, address)
        logger.info("relay %s: link from %s at %s", self.node_id, link.peer_id, address)
        if dialing is not None and not dialing.done.done():
            dialing.done.set_result(link)  # our own dial lost the crossing: this is the link
        if self.on_link is not None:
            self.on_link(link)

    def _on_ack(self, data: bytes, address: Address) -> None:
        dialing = self._dialing.get(address)
        if dialing is None or dialing.done.done():
            self.count_drop(self.metrics, "unexpected_ack")
            return
        try:
            ack = handshake.parse(data, self._key, answering=dialing.hello)
        except handshake.HandshakeError as refused:
            self.count_drop(self.metrics, f"ack_{refused.reason}")
            return
        keys = handshake.derive(self._key, dialing.ephemeral, dialing.hello, ack, initiator=True)
        existing = self.links.get(address)
        if existing is not None:
            existing.close(say_bye=False)  # the peer answered a new handshake: it has no other
        link = RelayLink(self, address, keys, dialing.hello.nonce, None, ack.clock)
        self.links[address] = link
        logger.info("relay %s: link to %s at %s", self.node_id, link.peer_id, address)
        dialing.done.set_result(link)

    def forget(self, link: RelayLink) -> None:
        """A closed link leaves the table (called by :meth:`RelayLink.close`)."""
        if self.links.get(link.address) is link:
            del self.links[link.address]

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (a peer's port closed): the link's timeout decides, not this."""
        logger.debug("relay %s: %s", self.node_id, exc)

    def close(self, say_bye: bool = True) -> None:
        """Close every link (telling each peer, with ``say_bye``) and the socket."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for link in list(self.links.values()):
            link.close(say_bye)
        for dialing in self._dialing.values():
            if not dialing.done.done():
                dialing.done.cancel()
        self.transport.close()


def bind_relay_socket(host: str, port: int) -> socket.socket:
    """A UDP socket bound to ``host:port`` for an endpoint; OSError naming the port if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot bind the relay port {host} UDP {port}: {exc.strerror}"
        ) from exc
    # Every relayed stream of every meeting arrives here: a loop busy for a moment
    # must not lose them to a full receive buffer (the relay does not retransmit).
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, RELAY_SOCKET_BUFFER)
    sock.setblocking(False)
    return sock
