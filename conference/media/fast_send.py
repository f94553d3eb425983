"""The compiled send of a forwarded packet, and the Python path it falls back to.

A slot sends each packet it forwards through its subscriber's
:class:`~conference.media.srtp_output.DtlsRtpOutput`: check the DTLS state and
the nominated ICE pair, protect with libsrtp, ``sendto``. At 190 subscribers
that runs 190 times per packet of the speaker, and its Python (three frames,
a cffi call, ``socket.sendto`` parsing the address tuple every time) was a
third of the server's CPU (docs/benchmarks.md, "Issue 10: 190 sites").
``_fastsend.c`` does the same in one C call: the same checks, libsrtp's own
``srtp_protect`` (pylibsrtp's, passed as a function pointer: nothing is linked
against it), one ``sendto`` on the socket's descriptor with the address
parsed once. Whenever a check fails it calls the Python method, which
handles every case (a new pair, a new SRTP session, a shared socket or a TURN
relay, a packet too large) and binds the C sender to the new route.

It also runs a packet's whole fan-out (:func:`compiled_fanout`): ``Source.push``
hands it the sinks, and every :class:`~conference.slot.Slot` in its steady
state (its feed, started, every frame forwarded, no pacer, a compiled sender)
is rewritten, remembered, protected and sent in C, with its state in the C
fields of :func:`slot_base` (Slot's base class); any other sink, or a slot in
any other state, gets its ``on_packet`` called, in the sinks' order. Per
subscriber that leaves the kernel's ``sendto`` and ``srtp_protect``, without
the slot's Python (docs/benchmarks.md, "Issue 10: compiled fan-out").

The module is built by the project's install (``setup.py``,
optional: a machine without a compiler installs without it).
``CONFERENCE_FAST_SEND=python`` turns it off; the tests run both paths.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from conference.media.srtp_output import DtlsRtpOutput, LeanProtect

logger = logging.getLogger(__name__)

MODE_ENV = "CONFERENCE_FAST_SEND"  # "c" (the default when built) or "python"

try:
    from conference.media import _fastsend  # type: ignore[attr-defined]
except ImportError as exc:  # not built (no compiler at install time)
    _fastsend = None
    _IMPORT_ERROR: str | None = str(exc)
else:
    _IMPORT_ERROR = None


def built() -> bool:
    """Whether the compiled sender was built and imports."""
    return _fastsend is not None


def mode() -> str:
    """``c`` or ``python``: what forwarded packets are sent with (env ``CONFERENCE_FAST_SEND``)."""
    wanted = os.environ.get(MODE_ENV, "c").strip().lower() or "c"
    if wanted not in ("c", "python"):
        raise ValueError(f"{MODE_ENV} must be c or python, not {wanted!r}")
    if wanted == "c" and _fastsend is None:
        return "python"
    return wanted


def compiled_sends() -> int:
    """Forwarded packets this process sent through the compiled sender (0 without it)."""
    return int(_fastsend.total_fast_sends()) if _fastsend is not None else 0


def slot_base() -> type:
    """The base class of :class:`~conference.slot.Slot`: the C fields the compiled fan-out
    reads and writes, or plain ``object`` without the module (same attributes, in Python)."""
    # getattr: a module built from an older _fastsend.c (an install not rerun) has no
    # fan-out; it still sends, and the fan-out stays in Python.
    return getattr(_fastsend, "SlotCore", object)


def compiled_fanout() -> Callable[[tuple[Any, ...], Any, Any], None] | None:
    """``fanout(sinks, source, packet)`` in C, or None: not built, or
    ``CONFERENCE_FAST_SEND=python`` (read once, when :mod:`conference.sfu` is imported)."""
    if mode() != "c" or not hasattr(_fastsend, "fanout") or slot_base() is object:
        return None
    return cast(Callable[[tuple[Any, ...], Any, Any], None], _fastsend.fanout)


def set_stamp_clock(clock: Callable[[], int] | None) -> None:
    """Take the compiled fan-out's abs-send-time values from ``clock()`` (tests), or the
    real clock again (None). Without the module there is nothing to set."""
    if hasattr(_fastsend, "set_stamp_clock"):
        _fastsend.set_stamp_clock(clock)


def make_sender(output: DtlsRtpOutput) -> Callable[[bytes, bytes], bool] | None:
    """A compiled sender for ``output`` (unbound: its first call binds it), or None
    when the Python path is to be used."""
    if mode() != "c":
        return None
    from aiortc.rtcdtlstransport import State as DtlsState

    dtls = output._dtls
    return _fastsend.Sender(
        dtls,
        DtlsState.CONNECTED,
        output._ice._nominated,
        output.send_rtp_parts,
        output._oversized,
    )


def rebind(sender: Any, output: DtlsRtpOutput, protect: LeanProtect) -> None:
    """Bind ``sender`` to ``output``'s current route and SRTP session, if the route is a
    plain socket of its own; else leave it unbound (its calls keep going to Python)."""
    pair = output._pair
    key = (pair, protect.session)
    if output._fast_key == key:
        return  # decided for this route and session already
    output._fast_key = key
    transport = pair.protocol.transport
    sock = getattr(transport, "_sock", None)
    if getattr(transport, "shared", None) is not None or not isinstance(sock, socket.socket):
        # A shared socket batches its sends; a TURN relay frames them.
        sender.unbind()
        return
    family = socket.AF_INET6 if ":" in str(output._addr[0]) else socket.AF_INET
    if sock.family != family:  # a mapped address: as Python's sendto would resolve it
        sender.unbind()
        return
    from pylibsrtp._binding import ffi, lib

    try:
        sender.bind(
            pair,
            protect.session,
            int(ffi.cast("uintptr_t", protect.session._srtp[0])),
            int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))),
            sock,
            tuple(output._addr),
        )
    except (TypeError, ValueError) as exc:  # an address that is not numeric: stay in Python
        logger.info("forwarded packets to %r go through Python: %s", output._addr, exc)
        sender.unbind()
