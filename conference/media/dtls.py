"""DTLS that WebRTC stacks with RSA certificates can talk to, and that says why when not.

aiortc 1.16 builds every DTLS context with ECDHE-ECDSA cipher suites only.
That is enough when aiortc is the DTLS *server* (its own certificate is
ECDSA, and every WebRTC client offers ECDSA suites), but when aiortc is the
DTLS *client* the peer is the server and picks a suite for its own
certificate: a peer with an RSA certificate (GStreamer's webrtcbin, FFmpeg's
WHIP muxer, which offers ``a=setup:passive``) finds no suite in common and
the handshake fails. aiortc logs that at debug level only, so an operator
saw a WHIP client that "just does not connect".

Here:

* :class:`InteropCertificate` adds the ECDHE-RSA suites (AES-GCM first, as
  browsers order them) to every context. As a server with our ECDSA
  certificate OpenSSL cannot select them, so nothing changes there.
* :class:`ReportingDtlsTransport` keeps why a handshake failed (OpenSSL's
  reason, a fingerprint that does not match, no SRTP profile in common) so
  that :func:`handshake_failure` can report it with our role and the peer's
  address.

Like the other aiortc glue modules (listed in ``conference/media/__init__.py``),
this module reads aiortc's private state (the transport's certificate, role and
SSL connection) and swaps classes of live objects (``obj.__class__ = Subclass``); aiortc is pinned to 1.16.* for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsParameters, SRTPProtectionProfile
from aiortc.rtcdtlstransport import State as DtlsState
from OpenSSL import SSL

# ECDSA for our own certificate, RSA for peers whose certificate is RSA when
# they are the DTLS server. No CBC-SHA1 before GCM, no static RSA key exchange.
INTEROP_CIPHERS = b":".join(
    [
        b"ECDHE-ECDSA-AES128-GCM-SHA256",
        b"ECDHE-RSA-AES128-GCM-SHA256",
        b"ECDHE-ECDSA-AES256-GCM-SHA384",
        b"ECDHE-RSA-AES256-GCM-SHA384",
        b"ECDHE-ECDSA-CHACHA20-POLY1305",
        b"ECDHE-RSA-CHACHA20-POLY1305",
        b"ECDHE-ECDSA-AES128-SHA",
        b"ECDHE-RSA-AES128-SHA",
        b"ECDHE-ECDSA-AES256-SHA",
        b"ECDHE-RSA-AES256-SHA",
    ]
)


class InteropCertificate(RTCCertificate):
    """aiortc's certificate, whose DTLS contexts also offer ECDHE-RSA suites."""

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(INTEROP_CIPHERS)
        return context


def ssl_error_text(exc: BaseException) -> str:
    """OpenSSL's reasons from a pyOpenSSL error, e.g. ``no shared cipher``."""
    args = exc.args[0] if exc.args else None
    if isinstance(args, list) and args:
        reasons = [str(entry[-1]) for entry in args if isinstance(entry, tuple) and entry]
        if reasons:
            return "; ".join(dict.fromkeys(reasons))
    return str(exc) or type(exc).__name__


class _RecordingConnection(SSL.Connection):
    """An ``SSL.Connection`` that remembers the first error of its handshake.

    aiortc feeds handshake records to OpenSSL through ``recv`` and swallows
    its errors there; the next ``do_handshake`` then fails without a reason.
    """

    conference_error: str | None = None

    def recv(self, bufsiz: int, flags: int | None = None) -> bytes:
        try:
            return super().recv(bufsiz, flags)
        except (SSL.WantReadError, SSL.WantWriteError, SSL.ZeroReturnError):
            raise
        except SSL.Error as exc:
            if self.conference_error is None:
                self.conference_error = ssl_error_text(exc)
            raise

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except (SSL.WantReadError, SSL.WantWriteError):
            raise
        except SSL.Error as exc:
            if self.conference_error is None:
                self.conference_error = ssl_error_text(exc)
            raise


class ReportingDtlsTransport(RTCDtlsTransport):
    """An ``RTCDtlsTransport`` that keeps why its handshake failed."""

    conference_failure: str | None = None

    async def _do_handshake(self) -> None:
        ssl = self._ssl
        if ssl is not None and not isinstance(ssl, _RecordingConnection):
            ssl.__class__ = _RecordingConnection
        try:
            await super()._do_handshake()
        finally:
            if self._state is DtlsState.FAILED and self.conference_failure is None:
                error = getattr(self._ssl, "conference_error", None)
                self.conference_failure = error or "the connection closed during the handshake"

    def _validate_peer_identity(self, remoteParameters: RTCDtlsParameters) -> None:
        super()._validate_peer_identity(remoteParameters)
        if self._state is DtlsState.FAILED and self.conference_failure is None:
            self.conference_failure = (
                "the peer's certificate does not match the fingerprint in its SDP"
            )

    def _setup_srtp(self) -> None:
        super()._setup_srtp()
        if self._state is DtlsState.FAILED and self.conference_failure is None:
            self.conference_failure = "no SRTP protection profile in common"


def harden(dtls: RTCDtlsTransport) -> None:
    """Give a transport that has not started its handshake the ciphers and the reporting."""
    if dtls._state is not DtlsState.NEW:
        return
    if not isinstance(dtls, ReportingDtlsTransport):
        dtls.__class__ = ReportingDtlsTransport
    certificate = dtls.__dict__["_RTCDtlsTransport__local_certificate"]
    if not isinstance(certificate, InteropCertificate):
        certificate.__class__ = InteropCertificate


@dataclass(frozen=True)
class HandshakeFailure:
    """Why a DTLS handshake failed, with whom, and which side we were."""

    role: str  # ours: "client" or "server"
    reason: str
    peer: str  # the peer's address on the nominated ICE pair, or "unknown"


def _peer_address(dtls: RTCDtlsTransport) -> str:
    connection: Any = getattr(dtls.transport, "_connection", None)
    pair = connection._nominated.get(1) if connection is not None else None
    if pair is None:
        return "unknown"
    host, port = pair.remote_addr[:2]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def handshake_failure(dtls: RTCDtlsTransport) -> HandshakeFailure | None:
    """The failure of a transport's handshake, or None if it did not fail."""
    if dtls._state is not DtlsState.FAILED:
        return None
    reason = getattr(dtls, "conference_failure", None) or "unknown"
    return HandshakeFailure(role=dtls._role, reason=reason, peer=_peer_address(dtls))
