"""A slot's real output on a real SRTP session and UDP socket, and the end that receives it.

aiortc's and aioice's state is what :class:`~conference.media.srtp_output.DtlsRtpOutput`
reads of them (``_state``, ``_tx_srtp``, the nominated pair); no handshake is run.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import State as DtlsState

from conference.media.srtp_output import DtlsRtpOutput


class Attrs:
    """An object with the attributes it is given (aiortc's and aioice's state, as read)."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


class SrtpWire:
    """A DtlsRtpOutput on a real SRTP session and UDP socket, and the receiving end.

    ``key`` (30 bytes) makes two wires encrypt alike: the same packets give the same
    datagrams.
    """

    def __init__(self, host: str = "127.0.0.1", key: bytes | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        key = key if key is not None else os.urandom(30)
        self.receiver = pylibsrtp.Session(
            policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )
        sender = pylibsrtp.Session(
            policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        )
        self.inbox = socket.socket(family, socket.SOCK_DGRAM)
        self.inbox.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.inbox.bind((host, 0))
        self.inbox.settimeout(2.0)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        pair = Attrs(
            protocol=Attrs(transport=Attrs(_sock=self.sock)),
            # aioice gives an IPv6 address as (host, port), as it does an IPv4 one.
            remote_addr=self.inbox.getsockname()[:2],
        )
        dtls = Attrs(
            _state=DtlsState.CONNECTED,
            _tx_srtp=sender,
            transport=Attrs(_connection=Attrs(_nominated={1: pair})),
        )
        self.output = DtlsRtpOutput(dtls)  # type: ignore[arg-type]

    def received(self, count: int) -> list[bytes]:
        """The next ``count`` datagrams, unprotected."""
        return [self.receiver.unprotect(self.inbox.recv(65535)) for _ in range(count)]

    def queued(self) -> list[bytes]:
        """Every datagram queued on the receiving socket now, as sent (protected).

        On loopback a datagram is queued by the time ``sendto`` returns, so this
        reads everything sent so far, however loaded the machine is.
        """
        self.inbox.setblocking(False)
        out = []
        try:
            while True:
                out.append(self.inbox.recv(65535))
        except BlockingIOError:
            pass
        finally:
            self.inbox.settimeout(2.0)
        return out

    def close(self) -> None:
        self.inbox.close()
        self.sock.close()
