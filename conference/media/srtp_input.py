"""SRTP on the way in: ``unprotect`` without pylibsrtp's per-call allocation.

aiortc glue: reads pylibsrtp's private session state (``_srtp``, ``_cdata``,
``_buffer``), as :class:`conference.media.srtp_output.LeanProtect` does on
the way out; ``pyproject.toml`` pins pylibsrtp through aiortc.
"""

from __future__ import annotations

from typing import cast

import pylibsrtp


class LeanUnprotect:
    """``pylibsrtp.Session.unprotect`` without its per-call ``int *`` and type checks.

    Same libsrtp call on the session's own buffer (every session of a thread
    shares one UDP-sized buffer: ``srtp_output.install_large_srtp_buffers``),
    same result, same errors: ``ValueError`` for a packet larger than the
    buffer, ``pylibsrtp.Error`` for one that does not authenticate or replays.
    """

    __slots__ = ("_buffer", "_cdata", "_length", "_limit", "_srtp", "_unprotect", "session")

    def __init__(self, session: pylibsrtp.Session) -> None:
        from pylibsrtp._binding import ffi, lib

        self.session = session  # keeps the libsrtp context below alive
        self._srtp = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._length = ffi.new("int *")
        self._unprotect = lib.srtp_unprotect
        self._limit = len(session._cdata)

    def __call__(self, packet: bytes) -> bytes:
        size = len(packet)
        if size > self._limit:
            raise ValueError("packet is too long")
        length = self._length
        length[0] = size
        buffer = self._buffer
        buffer[0:size] = packet
        status = self._unprotect(self._srtp, self._cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_unprotect failed ({status})")
        return cast(bytes, buffer[0 : length[0]])
