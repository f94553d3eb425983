"""Fan-out microbenchmark: one source's packets through N slots, protected and sent.

Run by hand (it is not a test)::

    .venv/bin/python bench/fanout.py [--subscribers 20] [--packets 20000] [--profile]

Builds N video slots configured as a browser's (VP8, abs-send-time), each with
a :class:`~conference.media.srtp_output.DtlsRtpOutput` on a real libsrtp
session and a real UDP socket (to a sink socket on loopback that nobody
reads: the kernel drops what overflows it, as it would a slow subscriber's),
then pushes ~1,100-byte VP8 packets through :meth:`Source.push`. Reports CPU
µs per forwarded packet (``time.process_time``), so the Python of
``Slot.on_packet -> protect -> sendto`` is measured without the receive side,
RTCP or the event loop. ``--no-send`` leaves the socket out (protect only).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pylibsrtp  # noqa: E402
from aiortc.rtcdtlstransport import State as DtlsState  # noqa: E402

from conference.media.srtp_output import DtlsRtpOutput  # noqa: E402
from conference.sfu import MediaPacket, SfuMetrics, Source  # noqa: E402
from conference.slot import Slot, SlotConfig  # noqa: E402


class _Namespace:
    """An object with the attributes it is given (stands in for aiortc/aioice state)."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


def _fake_dtls(sock: socket.socket, addr: tuple[str, int], send: bool) -> Any:
    """What DtlsRtpOutput reads of an RTCDtlsTransport: state, SRTP session, nominated pair."""
    key = os.urandom(30)
    policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    session = pylibsrtp.Session(policy=policy)
    if send:
        transport = _Namespace(_sock=sock)
    else:
        transport = _Namespace(_sock=_Namespace(sendto=lambda data, addr: None))
    pair = _Namespace(protocol=_Namespace(transport=transport), remote_addr=addr)
    connection = _Namespace(_nominated={1: pair})
    return _Namespace(
        _state=DtlsState.CONNECTED,
        _tx_srtp=session,
        transport=_Namespace(_connection=connection),
    )


def run(subscribers: int, packets: int, send: bool, profile: bool) -> dict[str, Any]:
    """Push ``packets`` through ``subscribers`` slots; CPU per forwarded packet."""
    metrics = SfuMetrics()
    source = Source(source_id="pub:video", owner="pub", kind="video", metrics=metrics)
    source.codec = "VP8"
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    addr = sink.getsockname()
    slots = []
    for index in range(subscribers):
        slot = Slot("main", "video", metrics)
        slot.assign(source)
        slot.configure(
            SlotConfig(
                ssrc=1000 + index,
                payload_type=96,
                rtx_ssrc=2000 + index,
                rtx_payload_type=97,
                abs_send_time_id=3,
            ),
            DtlsRtpOutput(_fake_dtls(sock, addr, send), metrics),  # type: ignore[arg-type]
        )
        slots.append(slot)
    # VP8 payload descriptor with a 15-bit picture id, then ~1,100 bytes.
    body = os.urandom(1100)
    made = []
    for i in range(packets):
        pid = (i // 3) & 0x7FFF
        start = i % 3 == 0
        descriptor = bytes((0x90 if start else 0x80, 0x80, 0x80 | (pid >> 8), pid & 0xFF))
        frame_start = body[:1] if not start else bytes((0x10 if i % 90 else 0x00,))
        payload = descriptor + frame_start + body[1:]
        made.append(
            MediaPacket(
                sequence_number=i & 0xFFFF,
                timestamp=(i // 3) * 3000,
                marker=int(i % 3 == 2),
                payload=payload,
                keyframe=i % 90 == 0,
                audio_level=None,
                arrival=time.monotonic(),
                abs_send_time=b"\x01\x02\x03",
                ntp=1 << 32,
            )
        )
    push = source.push
    for packet in made[:300]:  # warm up: every slot starts at the first keyframe
        push(packet)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    for packet in made[300:]:
        push(packet)
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - started
    forwarded = (packets - 300) * subscribers
    out = sum(s.packets_sent for s in slots)
    result = {
        "subscribers": subscribers,
        "packets": packets - 300,
        "send": send,
        "forwarded": forwarded,
        "sent_by_slots": out - 300 * subscribers,
        "us_per_forwarded_packet": round(cpu / forwarded * 1e6, 2),
    }
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(15)
    sock.close()
    sink.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the microbenchmark a few times and print the runs and their median."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--packets", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-send", action="store_true", help="protect, but send nowhere")
    parser.add_argument("--profile", action="store_true", help="cProfile one run to stderr")
    args = parser.parse_args(argv)
    runs = [
        run(args.subscribers, args.packets, not args.no_send, args.profile and i == 0)
        for i in range(args.repeat)
    ]
    costs = sorted(r["us_per_forwarded_packet"] for r in runs)
    print(json.dumps({"runs": runs, "median_us": costs[len(costs) // 2]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
