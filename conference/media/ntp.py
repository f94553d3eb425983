"""NTP time, as RTCP sender reports and the abs-send-time header extension carry it."""

from __future__ import annotations

import time

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)


def ntp_now() -> int:
    """The current time as a 64-bit NTP timestamp."""
    return ntp_from_unix(time.time())


def ntp_from_unix(unix_seconds: float) -> int:
    """A ``time.time()`` value as a 64-bit NTP timestamp."""
    now = unix_seconds + NTP_EPOCH_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * (1 << 32))


def abs_send_time_bytes(ntp: int) -> bytes:
    """The 24-bit abs-send-time value (6.18 fixed point seconds) for an NTP time."""
    return ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")


# abs-send-time counts 2^-18 s units of NTP time; this many of them from 1900 to 1970.
_ABS_SEND_TIME_EPOCH = NTP_EPOCH_OFFSET << 18


def abs_send_time_now() -> int:
    """The current time as a 24-bit abs-send-time value (6.18 fixed point seconds).

    The same value as ``abs_send_time_bytes(ntp_now())`` (to within a unit),
    without the 64-bit NTP timestamp in between: a slot stamps each packet it
    sends, once per subscriber.
    """
    return (int(time.time() * 262144.0) + _ABS_SEND_TIME_EPOCH) & 0xFFFFFF


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
