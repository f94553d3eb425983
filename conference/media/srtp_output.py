"""SRTP on the way out: one large buffer per thread, a lean ``protect``, a direct send.

aiortc glue: pylibsrtp's ``Session.__init__`` is replaced on import (every
session, aiortc's included, shares its thread's UDP-sized buffer), and
:class:`DtlsRtpOutput` reads aiortc's DTLS transport (``_tx_srtp``, ``_state``)
and aioice's nominated pair (``_nominated``); ``pyproject.toml`` pins both.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from typing import Any, cast

import pylibsrtp
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState

from conference.media import fast_send
from conference.ratelog import RateLimitedLog
from conference.sfu import SfuMetrics

logger = logging.getLogger(__name__)
OVERSIZED_LOG = RateLimitedLog(logger)


SRTP_MAX_TRAILER_LEN = 16 + 128  # libsrtp's SRTP_MAX_TRAILER_LEN (tag and MKI), as pylibsrtp
SRTCP_MAX_TRAILER_LEN = 4 + 16 + 128  # and SRTP_MAX_SRTCP_TRAILER_LEN (index, tag, MKI)
# The largest datagram UDP carries (65,535 - 8 UDP - 20 IPv4 header bytes): any
# packet the transport can carry must fit in the SRTP buffer, with its trailer.
MAX_UDP_PAYLOAD = 65507
SRTP_BUFFER_BYTES = MAX_UDP_PAYLOAD + SRTCP_MAX_TRAILER_LEN

_srtp_buffers = threading.local()


def _thread_srtp_buffer() -> tuple[Any, Any]:
    """This thread's SRTP work buffer, (cdata, buffer), made on first use.

    pylibsrtp gives every session its own 1,500-byte buffer, so a plaintext
    packet over 1,356 bytes (GStreamer's H.264 payloader sends 1,400) could
    neither be protected nor unprotected. Every call copies its result out of
    the buffer before returning and nothing awaits in between, so the sessions
    of one thread can share one large buffer: 64 KiB per thread instead of
    64 KiB per session.
    """
    pair = getattr(_srtp_buffers, "pair", None)
    if pair is None:
        from pylibsrtp._binding import ffi

        cdata = ffi.new("char[]", SRTP_BUFFER_BYTES)
        pair = _srtp_buffers.pair = (cdata, ffi.buffer(cdata))
    return cast(tuple[Any, Any], pair)


def install_large_srtp_buffers() -> None:
    """Make every pylibsrtp session (aiortc's and ours) carry any UDP-sized packet."""
    if getattr(pylibsrtp.Session.__init__, "_conference_large", False):
        return
    original = pylibsrtp.Session.__init__

    def __init__(self: pylibsrtp.Session, policy: pylibsrtp.Policy | None = None) -> None:
        original(self, policy)
        self._cdata, self._buffer = _thread_srtp_buffer()

    __init__._conference_large = True  # type: ignore[attr-defined]
    pylibsrtp.Session.__init__ = __init__  # type: ignore[method-assign]


install_large_srtp_buffers()


class LeanProtect:
    """``pylibsrtp.Session.protect`` without its per-call allocations.

    pylibsrtp allocates an ``int *`` with cffi, checks the type and looks its
    session up again on every packet: 3.1 µs for a 1,200-byte packet here,
    2.4 µs this way, on a path taken once per packet per subscriber. Same
    libsrtp call, same buffer (the session's own), same errors.
    """

    __slots__ = ("_buffer", "_cdata", "_length", "_limit", "_protect", "_srtp", "session")

    def __init__(self, session: pylibsrtp.Session) -> None:
        from pylibsrtp._binding import ffi, lib

        self.session = session  # keeps the libsrtp context below alive
        self._srtp = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._length = ffi.new("int *")
        self._protect = lib.srtp_protect
        self._limit = len(session._cdata) - SRTP_MAX_TRAILER_LEN

    def __call__(self, packet: bytes) -> bytes:
        size = len(packet)
        if size > self._limit:
            raise ValueError("packet is too long")
        length = self._length
        length[0] = size
        buffer = self._buffer
        buffer[0:size] = packet
        status = self._protect(self._srtp, self._cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_protect failed ({status})")
        return cast(bytes, buffer[0 : length[0]])

    def parts(self, header: bytes, payload: bytes) -> bytes:
        """Protect ``header + payload`` without joining them first: each is copied
        into the session's buffer once (a joined packet would be copied twice)."""
        start = len(header)
        size = start + len(payload)
        if size > self._limit:
            raise ValueError("packet is too long")
        buffer = self._buffer
        buffer[0:start] = header
        buffer[start:size] = payload
        length = self._length
        length[0] = size
        status = self._protect(self._srtp, self._cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_protect failed ({status})")
        return cast(bytes, buffer[0 : length[0]])


class DtlsRtpOutput:
    """Sends plaintext RTP/RTCP through a DTLS transport's SRTP session.

    aiortc's own ``_send_rtp`` is a coroutine three awaits deep per packet;
    a forwarder sending each packet to many subscribers calls the SRTP
    session and the nominated ICE pair's socket directly, synchronously.
    """

    __slots__ = (
        "_addr",
        "_dtls",
        "_fast",
        "_fast_key",
        "_ice",
        "_metrics",
        "_pair",
        "_protect",
        "_sendto",
    )

    def __init__(self, dtls: RTCDtlsTransport, metrics: SfuMetrics | None = None) -> None:
        self._dtls = dtls
        self._metrics = metrics
        self._ice = dtls.transport._connection
        self._pair: Any = None
        self._sendto: Callable[[bytes, Any], Any] | None = None
        self._addr: Any = None
        self._protect: LeanProtect | None = None
        self._fast: Any = None  # fast_send's C sender, once parts_sender() made one
        self._fast_key: tuple[Any, Any] | None = None  # the (pair, session) it was bound for

    def parts_sender(self) -> Callable[[bytes, bytes], bool]:
        """The fastest ``send_rtp_parts`` there is: the compiled sender
        (:mod:`conference.media.fast_send`) when it is built and enabled, else the method."""
        if self._fast is None:
            self._fast = fast_send.make_sender(self)
        return self._fast if self._fast is not None else self.send_rtp_parts

    def _route(self) -> bool:
        """Find the socket of the nominated ICE pair (it can change on re-nomination)."""
        pair = self._ice._nominated.get(1)
        if pair is None:
            return False
        transport = pair.protocol.transport
        if transport is None:
            return False
        # On a shared media socket (shared_udp.py) the socket queues what a drain of
        # received datagrams sends and flushes it in one batch. A host or
        # server-reflexive candidate of aioice's own has a plain datagram transport:
        # write to its socket directly (a full buffer drops the packet, as UDP
        # would; NACK recovers it). A TURN relay needs the transport's framing.
        shared = getattr(transport, "shared", None)
        sock = getattr(transport, "_sock", None)
        if shared is not None:
            self._sendto = shared.sendto
        else:
            self._sendto = sock.sendto if sock is not None else transport.sendto
        self._addr = pair.remote_addr
        self._pair = pair
        return True

    def send_rtp_parts(self, header: bytes, payload: bytes) -> bool:
        """Protect and send the RTP packet ``header + payload`` (a slot's forwarding path)."""
        dtls = self._dtls
        if dtls._state is not DtlsState.CONNECTED:
            return False
        if self._ice._nominated.get(1) is not self._pair and not self._route():
            return False
        protect = self._protect
        if protect is None or protect.session is not dtls._tx_srtp:
            protect = self._protect = LeanProtect(dtls._tx_srtp)
        fast = self._fast
        if fast is not None:
            # The compiled sender calls this method when its route is stale: bind it
            # to this one (a plain socket only: a shared socket or TURN stays here).
            fast_send.rebind(fast, self, protect)
        try:
            self._sendto(protect.parts(header, payload), self._addr)  # type: ignore[misc]
        except ValueError:  # larger than the SRTP buffer
            self._oversized(len(header) + len(payload), False)
            return False
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:  # larger than a datagram once protected
                self._oversized(len(header) + len(payload), False)
            return False  # else a full or closed socket: UDP would lose it too
        except pylibsrtp.Error:
            return False
        return True

    def _send(self, data: bytes, rtcp: bool) -> bool:
        dtls = self._dtls
        if dtls._state is not DtlsState.CONNECTED:
            return False
        if self._ice._nominated.get(1) is not self._pair and not self._route():
            return False
        srtp = dtls._tx_srtp
        protect = self._protect
        if protect is None or protect.session is not srtp:
            protect = self._protect = LeanProtect(srtp)
        try:
            self._sendto(srtp.protect_rtcp(data) if rtcp else protect(data), self._addr)  # type: ignore[misc]
        except ValueError:  # larger than the SRTP buffer
            self._oversized(len(data), rtcp)
            return False
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:  # larger than a datagram once protected
                self._oversized(len(data), rtcp)
            return False  # else a full or closed socket: UDP would lose it too
        except pylibsrtp.Error:
            return False
        return True

    def _oversized(self, size: int, rtcp: bool) -> None:
        """A packet no UDP datagram can carry: counted and logged, never silent."""
        if self._metrics is not None:
            self._metrics.packets_oversized += 1
        OVERSIZED_LOG.warning(
            "dropped a %d-byte %s packet: larger than a UDP datagram can carry",
            size,
            "RTCP" if rtcp else "RTP",
        )

    def send_rtp(self, data: bytes) -> bool:
        return self._send(data, False)

    def send_rtcp(self, data: bytes) -> bool:
        return self._send(data, True)
