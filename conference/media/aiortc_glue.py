"""Where the SFU meets aiortc 1.16: with ``dtls.py`` (DTLS cipher suites and
handshake failures), the only module that touches its internals.

aiortc is built to terminate media: every ``RTCRtpReceiver`` reassembles
frames in a jitter buffer and starts a decoder thread, and every
``RTCRtpSender`` runs an encode loop (which, with no track, wakes up every
20 ms forever). A forwarding server wants neither. aiortc still does
everything else well (ICE, DTLS, SRTP, SDP, RTCP routing), so we keep its
peer connection and swap the class of each transceiver's receiver and sender
for a subclass that forwards instead (``obj.__class__ = Sub``): the instance
keeps the state aiortc initialised, only the behaviour changes.

The private names used here (``_RTCRtpReceiver__codecs``, ``_tx_srtp``,
``_nominated``...) are why ``pyproject.toml`` pins aiortc to 1.16.*.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rate import RateCounter
from aiortc.rate import RemoteBitrateEstimator as _RemoteBitrateEstimator
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    is_rtcp,
    pack_remb_fci,
    unpack_remb_fci,
    unwrap_rtx,
)
from aiortc.stats import RTCOutboundRtpStreamStats, RTCStatsReport
from aiortc.utils import uint16_add, uint16_gt

from conference.media.codecs import is_keyframe
from conference.media.ntp import NTP_EPOCH_OFFSET, abs_send_time_bytes, ntp_now
from conference.media.rtcp import round_trip_time
from conference.ratelog import RateLimitedLog
from conference.sfu import (
    MediaPacket,
    ReceptionReport,
    SfuMetrics,
    Slot,
    SlotConfig,
    Source,
    Subscription,
)
from conference.tasks import spawn

logger = logging.getLogger(__name__)
OVERSIZED_LOG = RateLimitedLog(logger)
RTCP_LOG = RateLimitedLog(logger)


# aioice connection -> the DTLS transport on top of it, for sessions whose
# media may take the fast receive path (see install_fast_demux).
_FAST_RECEIVE: dict[Any, RTCDtlsTransport] = {}


def enable_fast_receive(dtls: RTCDtlsTransport) -> None:
    """Let SRTP packets for ``dtls`` skip aioice's queue and the DTLS task."""
    _FAST_RECEIVE[dtls.transport._connection] = dtls


def disable_fast_receive(dtls: RTCDtlsTransport) -> None:
    """Forget ``dtls`` (its connection is closing)."""
    _FAST_RECEIVE.pop(dtls.transport._connection, None)


def _receive_rtp_now(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Decrypt, parse and forward one RTP packet synchronously; False to fall back."""
    srtp = dtls._rx_srtp
    if srtp is None or dtls._state is not DtlsState.CONNECTED:
        return False
    arrival_ms = arrival_clock_ms()
    try:
        packet = RtpPacket.parse(srtp.unprotect(data), dtls._rtp_header_extensions_map)
    except (ValueError, pylibsrtp.Error):
        return True  # undecryptable or malformed: dropped, as aiortc would
    receiver = dtls._rtp_router.route_rtp(packet)
    if isinstance(receiver, ForwardingReceiver):
        receiver.handle_rtp(packet, arrival_ms)
    elif receiver is not None:
        spawn(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_ms))
    return True


def arrival_clock_ms() -> int:
    """Arrival time in milliseconds on aiortc's clock (NTP milliseconds).

    Every path that stamps a received packet for a bitrate estimator must use
    one clock. aiortc's own receive task stamps with ``clock.current_ms()``
    (milliseconds since 1900); a packet stamped with another clock (say
    ``time.monotonic()``) next to one of those made aiortc's rate counter walk
    the 10^12 milliseconds between the two, one by one, on the event loop.
    This is the same clock without aiortc's datetime arithmetic.
    """
    return int((time.time() + NTP_EPOCH_OFFSET) * 1000)


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


MAX_NACK_ITEMS = 64  # NACK FCI entries (up to 17 lost packets each) in one feedback packet


def rtcp_is_reasonable(data: bytes) -> bool:
    """Whether a (decrypted) compound RTCP packet is cheap enough to parse.

    aiortc's parser expands every NACK entry into up to 17 numbers in Python:
    a datagram of NACK entries is tens of thousands of steps, on the loop,
    per packet. A receiver with honest losses names far fewer than 64 entries
    (1,088 packets); a compound with a longer NACK is dropped unread.
    """
    pos, size = 0, len(data)
    while pos + 4 <= size:
        length = (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1) * 4
        if data[pos + 1] == RTCP_RTPFB and (length - 12) // 4 > MAX_NACK_ITEMS:
            return False
        pos += length
    return True


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
        if isinstance(data, bytes) and data and data[0] > 3:
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

    datagram_received._conference_fast = True  # type: ignore[attr-defined]
    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


install_fast_demux()


class LazyRemoteBitrateEstimator:
    """aiortc's REMB estimator, built on the first packet rather than with the receiver.

    Its constructor allocates a large rate window; every receiver of every
    transceiver builds one, including the dozen send-only slots of each site
    that never receive anything. Building it lazily halves the CPU cost of a
    site's offer.
    """

    def __init__(self) -> None:
        self._real: Any = None

    def add(self, *args: Any, **kwargs: Any) -> Any:
        if self._real is None:
            self._real = _RemoteBitrateEstimator()
        return self._real.add(*args, **kwargs)


def install_lazy_estimator() -> None:
    """Make aiortc's receivers build their REMB estimator on first use."""
    import aiortc.rtcrtpreceiver as receiver_module

    receiver_module.RemoteBitrateEstimator = LazyRemoteBitrateEstimator  # type: ignore[misc,assignment]


install_lazy_estimator()


def _bounded_erase_old(self: RateCounter, now_ms: int) -> None:
    """``RateCounter._erase_old`` in at most one pass over its window.

    aiortc's version steps one millisecond bucket at a time from the window's
    origin to ``now_ms``: after a gap of hours (or a jump between two clocks)
    that is billions of steps on the event loop. Past a whole window every
    bucket is old, so it is emptied at once.
    """
    origin = self._origin_ms
    if origin is None:
        return
    size = self._window_size
    new_origin = now_ms - size + 1
    steps = new_origin - origin
    if steps <= 0:
        return
    if steps >= size:
        for bucket in self._buckets:
            bucket.count = 0
            bucket.value = 0
        self._total.count = 0
        self._total.value = 0
        self._origin_index = (self._origin_index + steps) % size
        self._origin_ms = new_origin
        return
    buckets, total = self._buckets, self._total
    index = self._origin_index
    for _ in range(steps):
        bucket = buckets[index]
        total.count -= bucket.count
        total.value -= bucket.value
        bucket.count = 0
        bucket.value = 0
        index = (index + 1) % size
    self._origin_index = index
    self._origin_ms = new_origin


def _bounded_nack_add(self: NackGenerator, packet: RtpPacket) -> bool:
    """``NackGenerator.add`` that marks at most ``RTP_HISTORY_SIZE`` packets missing.

    aiortc's version adds every sequence number of a forward jump (up to
    32,767 of them) and then drops all but the last 128: a publisher whose
    sequence numbers leap costs milliseconds per packet. Only the numbers that
    would be kept are added.
    """
    seq = packet.sequence_number
    if self.max_seq is None:
        self.max_seq = seq
        return False
    if uint16_gt(seq, self.max_seq):
        gap = (seq - self.max_seq - 1) & 0xFFFF
        first = uint16_add(seq, -min(gap, RTP_HISTORY_SIZE))
        missing = self.missing
        for offset in range(min(gap, RTP_HISTORY_SIZE)):
            missing.add(uint16_add(first, offset))
        self.max_seq = seq
        self.truncate()
        return gap > 0
    self.missing.discard(seq)
    self.truncate()
    return False


# aiortc's own version, kept for the test that compares the two.
AIORTC_ERASE_OLD = RateCounter._erase_old


def install_bounded_estimators() -> None:
    """No receive-side estimator of aiortc may loop over a gap in time or sequence.

    Nor its RTCP parser over an endless NACK, on the slow path (before the
    fast path takes a connection over) as on the fast one.
    """
    RateCounter._erase_old = _bounded_erase_old  # type: ignore[method-assign]
    NackGenerator.add = _bounded_nack_add  # type: ignore[method-assign]
    if getattr(RTCDtlsTransport._handle_rtcp_data, "_conference_bounded", False):
        return
    original = RTCDtlsTransport._handle_rtcp_data

    async def _handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        if rtcp_is_reasonable(data):
            await original(self, data)
        else:
            RTCP_LOG.warning("dropped a compound RTCP packet with an oversized NACK")

    _handle_rtcp_data._conference_bounded = True  # type: ignore[attr-defined]
    RTCDtlsTransport._handle_rtcp_data = _handle_rtcp_data  # type: ignore[method-assign]


install_bounded_estimators()

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


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


class DtlsRtpOutput:
    """Sends plaintext RTP/RTCP through a DTLS transport's SRTP session.

    aiortc's own ``_send_rtp`` is a coroutine three awaits deep per packet;
    a forwarder sending each packet to many subscribers calls the SRTP
    session and the nominated ICE pair's socket directly, synchronously.
    """

    __slots__ = ("_addr", "_dtls", "_ice", "_metrics", "_pair", "_protect", "_sendto")

    def __init__(self, dtls: RTCDtlsTransport, metrics: SfuMetrics | None = None) -> None:
        self._dtls = dtls
        self._metrics = metrics
        self._ice = dtls.transport._connection
        self._pair: Any = None
        self._sendto: Callable[[bytes, Any], Any] | None = None
        self._addr: Any = None
        self._protect: LeanProtect | None = None

    def _route(self) -> bool:
        """Find the socket of the nominated ICE pair (it can change on re-nomination)."""
        pair = self._ice._nominated.get(1)
        if pair is None:
            return False
        transport = pair.protocol.transport
        if transport is None:
            return False
        # A host or server-reflexive candidate has a plain datagram transport:
        # write to its socket directly (a full buffer drops the packet, as UDP
        # would; NACK recovers it). A TURN relay needs the transport's framing.
        sock = getattr(transport, "_sock", None)
        self._sendto = sock.sendto if sock is not None else transport.sendto
        self._addr = pair.remote_addr
        self._pair = pair
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


def _primary_codec(codecs: list[RTCRtpCodecParameters]) -> RTCRtpCodecParameters | None:
    return next((c for c in codecs if not is_rtx(c)), None)


class ForwardingReceiver(RTCRtpReceiver):
    """An ``RTCRtpReceiver`` that hands packets to a :class:`Source` undecoded.

    It keeps what a good receiver owes the publisher: RTCP receiver reports,
    REMB bandwidth estimates, NACKs for lost packets and RTX unwrapping, but
    starts no decoder thread and builds no frames.
    """

    sfu_source: Source

    def attach(self, source: Source) -> None:
        """Make this receiver feed ``source``."""
        self.sfu_source = source
        source.keyframe_requester = self.request_keyframe
        # aiortc's private containers, looked up once: they live as long as the receiver.
        state = self.__dict__
        self._codecs: dict[int, RTCRtpCodecParameters] = state["_RTCRtpReceiver__codecs"]
        self._rtx_ssrcs: dict[int, int] = state["_RTCRtpReceiver__rtx_ssrc"]
        self._streams: dict[int, Any] = state["_RTCRtpReceiver__remote_streams"]
        self._estimator: Any = state["_RTCRtpReceiver__remote_bitrate_estimator"]
        self._nacks: Any = state["_RTCRtpReceiver__nack_generator"]

    def _private(self, name: str) -> Any:
        return self.__dict__[f"_RTCRtpReceiver__{name}"]

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        # Same as RTCRtpReceiver.receive minus the decoder thread.
        if self._private("started"):
            return
        for codec in parameters.codecs:
            if codec.payloadType is not None:
                self._codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                self._rtx_ssrcs[encoding.rtx.ssrc] = encoding.ssrc
        primary = _primary_codec(parameters.codecs)
        if primary is not None:
            self.sfu_source.codec = primary.name
        self.transport._register_rtp_receiver(self, parameters)
        self.__dict__["_RTCRtpReceiver__rtcp_task"] = asyncio.ensure_future(self._run_rtcp())
        self.__dict__["_RTCRtpReceiver__started"] = True

    def reception_counters(self) -> tuple[int, int]:
        """(packets received, packets lost) from the publisher so far, RTX streams excluded."""
        received = lost = 0
        for ssrc, stream in self._streams.items():
            if ssrc in self._rtx_ssrcs:
                continue
            received += stream.packets_received
            lost += max(stream.packets_lost, 0)
        return received, lost

    def request_keyframe(self) -> None:
        """Send a PLI for the publisher's current SSRC."""
        for ssrc in list(self._streams):
            if ssrc in self._rtx_ssrcs:
                continue
            spawn(self._send_rtcp_pli(ssrc))

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        # Sender reports feed RR's LSR/DLSR; a BYE must not end the source:
        # the peer connection's state says when the publisher is gone.
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            self.sfu_source.sender_report = (
                (info.ntp_timestamp >> 32)
                - NTP_EPOCH_OFFSET
                + (info.ntp_timestamp & 0xFFFFFFFF) / 2**32,
                info.rtp_timestamp,
            )
            await super()._handle_rtcp_packet(packet)

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        # The slow path (through aioice's queue and the DTLS task): same work.
        # Restamped, whatever the caller's clock: the estimator sees one clock.
        self.handle_rtp(packet, arrival_clock_ms())

    def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """Account for one packet, ask for what was lost, and forward it. Synchronous."""
        if not self._enabled:
            return
        codecs = self._codecs
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return

        estimator = self._estimator
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = self._private("rtcp_ssrc")
            if rtcp_ssrc is not None and remb is not None:
                spawn(
                    self._send_rtcp(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(*remb),
                        )
                    )
                )

        streams = self._streams
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)

        nack_generator = self._nacks
        if is_rtx(codec):
            original_ssrc = self._rtx_ssrcs.get(packet.ssrc)
            if original_ssrc is None:
                # Chrome does not always signal the RTX SSRC: learn it from the
                # only media SSRC we receive.
                media = [s for s in streams if s != packet.ssrc]
                if len(media) != 1:
                    return
                original_ssrc = self._rtx_ssrcs[packet.ssrc] = media[0]
            apt = codec.parameters.get("apt")
            if len(packet.payload) < 2 or not isinstance(apt, int) or apt not in codecs:
                return  # RTX padding used for bandwidth probing
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            if nack_generator is not None and packet.sequence_number not in nack_generator.missing:
                return  # a retransmission we did not ask for, or already have
        if nack_generator is not None and nack_generator.add(packet):
            spawn(self._send_rtcp_nack(packet.ssrc, sorted(nack_generator.missing)))

        level = packet.extensions.audio_level
        source = self.sfu_source
        ntp = ntp_now()
        source.push(
            MediaPacket(
                sequence_number=packet.sequence_number,
                timestamp=packet.timestamp,
                marker=packet.marker,
                payload=packet.payload,
                keyframe=is_keyframe(source.codec, packet.payload)
                if source.kind == "video"
                else True,
                audio_level=None
                if level is None
                else (0x80 if level[0] else 0) | (level[1] & 0x7F),
                arrival=time.monotonic(),
                abs_send_time=abs_send_time_bytes(ntp),
                ntp=ntp,
            )
        )


class SlotSender(RTCRtpSender):
    """An ``RTCRtpSender`` whose packets come from a :class:`Slot`, not an encoder."""

    sfu_slot: Slot
    sfu_subscription: Subscription
    _slot_started: bool

    def attach(self, slot: Slot, subscription: Subscription) -> None:
        """Make this sender carry ``slot``."""
        self.sfu_slot = slot
        self.sfu_subscription = subscription
        self._slot_started = False
        self._last_sr_ntp: dict[int, int] = {}

    async def send(self, parameters: RTCRtpSendParameters) -> None:
        if self._slot_started:
            return
        primary = _primary_codec(parameters.codecs)
        if primary is None or primary.payloadType is None:
            return
        rtx = next(
            (
                c
                for c in parameters.codecs
                if is_rtx(c) and c.parameters.get("apt") == primary.payloadType
            ),
            None,
        )
        ext_ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        self.transport._register_rtp_sender(self, parameters)
        output = DtlsRtpOutput(self.transport, self.sfu_slot.metrics)
        self.sfu_slot.configure(
            SlotConfig(
                ssrc=self._ssrc,
                payload_type=primary.payloadType,
                rtx_ssrc=self._rtx_ssrc if rtx is not None else None,
                rtx_payload_type=rtx.payloadType if rtx is not None else None,
                audio_level_id=ext_ids.get(AUDIO_LEVEL_URI),
                abs_send_time_id=ext_ids.get(ABS_SEND_TIME_URI),
            ),
            output,
        )
        self.sfu_subscription.start_reports(output.send_rtcp)
        self._slot_started = True

    async def stop(self) -> None:
        if self._slot_started:
            self.transport._unregister_rtp_sender(self)
            self._slot_started = False

    async def getStats(self) -> RTCStatsReport:
        slot = self.sfu_slot
        report = RTCStatsReport()
        report.add(
            RTCOutboundRtpStreamStats(
                timestamp=clock.current_datetime(),
                type="outbound-rtp",
                id=f"outbound-rtp_{id(self)}",
                ssrc=self._ssrc,
                kind=slot.kind,
                transportId=self.transport._stats_id,
                packetsSent=slot.packets_sent,
                bytesSent=slot.octets_sent,
                trackId=slot.name,
            )
        )
        return report

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        self.handle_rtcp(packet)

    def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        """A subscriber's feedback about this slot: reports, REMB, NACK, PLI. Synchronous."""
        slot = self.sfu_slot
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for block in packet.reports:
                if block.ssrc != self._ssrc:
                    continue
                previous = slot.report
                rtt = round_trip_time(ntp_now(), block.lsr, block.dlsr)
                slot.report = ReceptionReport(
                    fraction_lost=block.fraction_lost / 256.0,
                    packets_lost=block.packets_lost,
                    jitter=block.jitter,
                    round_trip_time=rtt if rtt is not None else previous.round_trip_time,
                    remb_bitrate=previous.remb_bitrate,
                )
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            slot.handle_nack(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            slot.handle_keyframe_request()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self._ssrc in ssrcs:
                slot.report.remb_bitrate = bitrate


def packetize_vp8(frame: bytes, picture_id: int) -> list[bytes]:
    """RTP payloads of one encoded VP8 frame (aiortc's packetiser: descriptor, 1,300-byte cuts)."""
    from aiortc.codecs.vpx import Vp8Encoder

    return cast(list[bytes], Vp8Encoder._packetize(frame, picture_id))


def packetize_h264(annex_b: bytes) -> list[bytes]:
    """RTP payloads of one H.264 access unit in Annex B (aiortc's STAP-A/FU-A packetiser)."""
    from aiortc.codecs.h264 import H264Encoder

    return cast(list[bytes], H264Encoder._packetize(H264Encoder._split_bitstream(annex_b)))


def make_forwarding_receiver(receiver: RTCRtpReceiver, source: Source) -> ForwardingReceiver:
    """Turn an aiortc receiver into one that feeds ``source``."""
    receiver.__class__ = ForwardingReceiver
    forwarding = cast(ForwardingReceiver, receiver)
    forwarding.attach(source)
    return forwarding


def slim_unused_receiver(receiver: RTCRtpReceiver) -> None:
    """Free what a receiver of a send-only transceiver allocates for nothing.

    Every aiortc receiver builds a REMB estimator (~100 KB) and a 512-packet
    jitter buffer, even on a transceiver that only sends; a site has a dozen
    such slots, so a national meeting would hold gigabytes of them. The
    answer's directions are checked (``PeerSession``), so these receivers
    never start.
    """
    state = receiver.__dict__
    state["_RTCRtpReceiver__remote_bitrate_estimator"] = None
    state["_RTCRtpReceiver__nack_generator"] = None
    state["_RTCRtpReceiver__jitter_buffer"] = JitterBuffer(capacity=2)


def make_slot_sender(sender: RTCRtpSender, slot: Slot, subscription: Subscription) -> SlotSender:
    """Turn an aiortc sender into one that carries ``slot``."""
    sender.__class__ = SlotSender
    slot_sender = cast(SlotSender, sender)
    slot_sender.attach(slot, subscription)
    return slot_sender
