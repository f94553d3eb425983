"""The fast receive path: SRTP and SRTCP handled inside aioice's UDP callback.

aioice parses every datagram as STUN, then queues it for the DTLS transport's
task, which decrypts and routes it: for a forwarder that is most of the cost of
a received packet. Here a registered session's media is decrypted, parsed and
handed to its :class:`ForwardingReceiver` or :class:`SlotSender` synchronously.

aiortc glue: reads aiortc's private state (``RTCDtlsTransport._rx_srtp``,
``_state``, ``_rtp_router``, ``_rtp_header_extensions_map``) and replaces
aioice's ``StunProtocol.datagram_received``; ``pyproject.toml`` pins both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    is_rtcp,
    unpack_remb_fci,
)

from conference.media.forwarding_receiver import ForwardingReceiver
from conference.media.ntp import NTP_EPOCH_OFFSET
from conference.media.rtcp import rtcp_is_reasonable
from conference.media.rtp_header import extension_ids, header_extension, parse_rtp
from conference.media.slot_sender import SlotSender
from conference.media.srtp_input import LeanUnprotect
from conference.ratelog import RateLimitedLog
from conference.tasks import spawn

logger = logging.getLogger(__name__)
RECEIVE_BUFFER_BYTES = 1024 * 1024  # per ICE socket (~900 datagrams); a cap, not an allocation
DRAIN_DATAGRAMS = 32  # per wake-up of an ICE socket: a keyframe's burst, bounded for fairness
RTCP_LOG = RateLimitedLog(logger)

# aioice connection -> the DTLS transport on top of it, for sessions whose
# media may take the fast receive path (see install_fast_demux).
_FAST_RECEIVE: dict[Any, RTCDtlsTransport] = {}
_NO_RECEIVERS: frozenset[Any] = frozenset()
# The DTLS transport's SRTP receive session, unprotected without allocations.
_UNPROTECT: dict[RTCDtlsTransport, LeanUnprotect] = {}


def enable_fast_receive(dtls: RTCDtlsTransport) -> None:
    """Let SRTP packets for ``dtls`` skip aioice's queue and the DTLS task."""
    _FAST_RECEIVE[dtls.transport._connection] = dtls


def disable_fast_receive(dtls: RTCDtlsTransport) -> None:
    """Forget ``dtls`` (its connection is closing)."""
    _FAST_RECEIVE.pop(dtls.transport._connection, None)
    _UNPROTECT.pop(dtls, None)


def _lean_unprotect(dtls: RTCDtlsTransport, srtp: Any) -> LeanUnprotect:
    unprotect = _UNPROTECT.get(dtls)
    if unprotect is None or unprotect.session is not srtp:
        unprotect = _UNPROTECT[dtls] = LeanUnprotect(srtp)
    return unprotect


def _route(
    router: Any, ssrc: int, payload_type: int, packet: bytes = b"", mid_id: int | None = None
) -> Any:
    """aiortc's ``RtpRouter.route_rtp`` rules from the header's ints (no ``RtpPacket``).

    A known SSRC whose payload type it registered for; an unknown SSRC is
    learned when its payload type has exactly one receiver, or else from its
    MID header extension (RFC 8843 9.2): two video sections of one site (its
    camera and its presentation) share the codec's payload type, and the
    camera's simulcast layers are not listed by SSRC. Else None (dropped).
    ``packet`` (plaintext) and ``mid_id`` are read only in that last case.
    """
    receiver = router.ssrc_table.get(ssrc)
    receivers = router.payload_type_table.get(payload_type, _NO_RECEIVERS)
    if receiver is not None:
        return receiver if receiver in receivers else None
    if len(receivers) == 1:
        (receiver,) = receivers
        router.ssrc_table[ssrc] = receiver
        return receiver
    if receivers:
        value = header_extension(packet, mid_id)
        receiver = router.mid_table.get(value.decode("ascii", "replace")) if value else None
        if receiver is not None and receiver in receivers:
            router.ssrc_table[ssrc] = receiver
            return receiver
    return None


def _receive_rtp_now(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Decrypt, parse and forward one RTP packet synchronously; False to fall back.

    The header is read by :func:`parse_rtp` (no ``RtpPacket``); a
    :class:`ForwardingReceiver` takes its fields. Anything else aiortc routes
    to (none in this server today) gets the ``RtpPacket`` it expects.
    """
    srtp = dtls._rx_srtp
    if srtp is None or dtls._state is not DtlsState.CONNECTED:
        return False
    now = time.time()
    arrival_ms = int((now + NTP_EPOCH_OFFSET) * 1000)  # arrival_clock_ms() without a 2nd read
    unprotect = _UNPROTECT.get(dtls)
    if unprotect is None or unprotect.session is not srtp:
        unprotect = _lean_unprotect(dtls, srtp)
    extensions_map = dtls._rtp_header_extensions_map
    try:
        plain = unprotect(data)
        fields = parse_rtp(plain, extension_ids(extensions_map))
    except (ValueError, pylibsrtp.Error):
        return True  # undecryptable or malformed: dropped, as aiortc would
    receiver = _route(
        dtls._rtp_router, fields[4], fields[0], plain, extension_ids(extensions_map).mid
    )
    if isinstance(receiver, ForwardingReceiver):
        receiver.receive_fields(fields, arrival_ms, now)
    elif receiver is not None:
        try:
            packet = RtpPacket.parse(plain, extensions_map)
        except ValueError:
            return True
        spawn(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_ms))
    return True


def _rtcp_recipients(router: Any, packet: AnyRtcpPacket) -> list[Any]:
    """``RtpRouter.route_rtcp`` without its per-call closure and ``typing`` work."""
    found: list[Any] = []
    if isinstance(packet, RtcpSrPacket):
        found.append(router.ssrc_table.get(packet.ssrc))
    elif isinstance(packet, RtcpByePacket):
        found.extend(router.ssrc_table.get(source) for source in packet.sources)
    if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
        found.extend(router.senders.get(report.ssrc) for report in packet.reports)
    elif isinstance(packet, RtcpPsfbPacket | RtcpRtpfbPacket):
        found.append(router.senders.get(packet.media_ssrc))
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                found.extend(router.senders.get(ssrc) for ssrc in unpack_remb_fci(packet.fci)[1])
            except ValueError:
                pass
    # One call per recipient, as aiortc's set does, in the order they were found.
    return [r for r in dict.fromkeys(found) if r is not None]


def _receive_rtcp_now(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Decrypt, parse and route one compound RTCP packet right away; False to fall back.

    Subscribers' receiver reports, REMB, NACK and PLI reach their slot
    synchronously; what is for aiortc's own objects (a publisher's sender
    report, a BYE) goes to their handler as aiortc would send it.
    """
    srtp = dtls._rx_srtp
    if srtp is None or dtls._state is not DtlsState.CONNECTED:
        return False
    try:
        plain = srtp.unprotect_rtcp(data)
        if not rtcp_is_reasonable(plain):
            RTCP_LOG.warning("dropped a compound RTCP packet with an oversized NACK")
            return True
        packets = RtcpPacket.parse(plain)
    except (ValueError, pylibsrtp.Error):
        return True  # undecryptable or malformed: dropped, as aiortc would
    router = dtls._rtp_router
    for packet in packets:
        for recipient in _rtcp_recipients(router, packet):
            if isinstance(recipient, SlotSender):
                recipient.handle_rtcp(packet)
            else:
                spawn(recipient._handle_rtcp_packet(packet))
    return True


def install_fast_demux() -> None:
    """Give media datagrams a short way in.

    aioice parses every datagram as STUN (taking the ``ValueError`` as "not
    STUN"), then queues it for the DTLS transport's task, which decrypts and
    routes it. For a forwarder that is most of the cost of a received packet.
    RFC 7983 tells the protocols apart by the first byte (STUN 0-3, DTLS 20-63,
    RTP/RTCP 128-191): SRTP and SRTCP of a registered session are decrypted
    and handled right here, anything else that cannot be STUN skips the STUN
    parser.
    """
    from aioice.ice import StunProtocol

    if getattr(StunProtocol.datagram_received, "_conference_fast", False):
        return
    original = StunProtocol.datagram_received

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if not data:
            # Neither STUN nor DTLS nor media: aioice would hand it to the DTLS
            # transport, whose reader dies on it (IndexError), and the site drops.
            return
        if isinstance(data, bytes) and data[0] > 3:
            if 127 < data[0] < 192:
                dtls = _FAST_RECEIVE.get(self.receiver)
                if dtls is not None:
                    if is_rtcp(data):
                        if _receive_rtcp_now(dtls, data):
                            return
                    elif _receive_rtp_now(dtls, data):
                        return
            self.receiver.data_received(data, self.local_candidate.component)
            return
        original(self, data, addr)

    original_made = StunProtocol.connection_made

    def connection_made(self: StunProtocol, transport: asyncio.BaseTransport) -> None:
        original_made(self, transport)
        # The default receive buffer (net.core.rmem_default, ~208 KiB: ~90 datagrams
        # of a camera) overflows while the loop fans one packet out to hundreds
        # of subscribers and a keyframe burst from the speaker waits: every
        # subscriber then loses what the kernel dropped. Room for a burst; the
        # kernel caps it at net.core.rmem_max (docs/deployment notes in README).
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)

    # aioice sets every host candidate's buffer again after connection_made, to
    # its own turn.UDP_SOCKET_BUFFER_SIZE (256 KiB), read at each gathering:
    # without this the sockets end at 256 KiB (512 KiB as the kernel reports),
    # and a 190-site meeting's speaker socket overflowed at a busy worker.
    from aioice import turn

    turn.UDP_SOCKET_BUFFER_SIZE = max(turn.UDP_SOCKET_BUFFER_SIZE, RECEIVE_BUFFER_BYTES)

    datagram_received._conference_fast = True  # type: ignore[attr-defined]
    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]
    StunProtocol.connection_made = connection_made  # type: ignore[method-assign]
    _drain_ice_sockets(StunProtocol)


def _drain_ice_sockets(stun_protocol: Any) -> None:
    """Read up to ``DRAIN_DATAGRAMS`` datagrams of an ICE socket per wake-up, not one.

    asyncio's datagram transport reads one datagram each time the selector
    says its socket is readable, so a socket is read once per pass of the
    loop. When a pass takes milliseconds (one packet of the speaker fanned
    out to hundreds of subscribers), the speaker's socket is drained slower
    than the speaker sends: its queue grows to the buffer's end and the
    kernel drops, the same packets for every subscriber. The shared media
    socket (shared_udp.py) drains many a wake-up for this reason. Only
    aioice's sockets read this way (the check below); other datagram
    transports keep asyncio's own ``_read_ready``. asyncio glue: replaces
    ``_SelectorDatagramTransport._read_ready`` (CPython 3.11's, same shape
    since 3.4), a private method.
    """
    from asyncio import selector_events

    transport_class: Any = getattr(selector_events, "_SelectorDatagramTransport")  # noqa: B009
    original = transport_class._read_ready
    if getattr(original, "_conference_drain", False):
        return

    def _read_ready(self: Any) -> None:
        protocol: Any = self._protocol
        if not isinstance(protocol, stun_protocol):
            original(self)
            return
        recvfrom, max_size = self._sock.recvfrom, self.max_size
        for _ in range(DRAIN_DATAGRAMS):
            if self._conn_lost:
                return
            try:
                data, addr = recvfrom(max_size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                protocol.error_received(exc)
                return
            try:
                protocol.datagram_received(data, addr)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal read error on datagram transport")
                return

    _read_ready._conference_drain = True  # type: ignore[attr-defined]
    transport_class._read_ready = _read_ready


install_fast_demux()
