"""The compiled fan-out (``_fastsend.fanout``) against the Python path, byte for byte.

The same meeting is forwarded twice: once by ``Source.push`` handing its sinks to
the compiled fan-out with compiled senders, once by each slot's ``on_packet`` with
the Python senders (``CONFERENCE_FAST_SEND=python``), on real SRTP sessions and UDP
sockets with the same keys and the same abs-send-time clock. Every subscriber must
receive the same datagrams, and every slot end in the same state.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from conference import sfu
from conference.media import (
    _fastsend,  # type: ignore[attr-defined]
    fast_send,
)
from conference.media.ntp import abs_send_time_now
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.slot import Slot, SlotConfig
from tests.support.fanout_runs import forward_plain
from tests.support.slots import EXT_MAP, FakeOutput, make_source, video_packets
from tests.support.srtp_wire import SrtpWire

ROOT = Path(__file__).resolve().parent.parent
StampClock = Callable[[Callable[[], int]], None]

# (name, kind, config ids): the subscribers' slots, each on its own wire.
SLOTS = (
    ("main", "video", {"abs_send_time_id": 3}),
    ("thumb-1", "video", {}),
    ("thumb-2", "video", {"abs_send_time_id": 5}),
    ("audio-1", "audio", {"audio_level_id": 2}),
    ("audio-2", "audio", {}),
)
STATE = (
    "packets_sent",
    "octets_sent",
    "_max_out_seq",
    "_max_out_ts",
    "last_rtp_timestamp",
    "_in_ahead",
    "_last_in_seq",
    "_seq_offset",
    "_ts_offset",
    "_sent_any",
    "_last_send",
    "_last_payload",
    "_munge_picture_id",
    "_pid_delta",
    "keyframe_waits",
)


@pytest.fixture
def wires() -> Iterator[list[SrtpWire]]:
    made = [SrtpWire(key=bytes([index + 1]) * 30) for index in range(len(SLOTS))]
    yield made
    for wire in made:
        wire.close()


_CLIPS: list[tuple[list[MediaPacket], list[MediaPacket]]] = []


def _clips() -> tuple[list[MediaPacket], list[MediaPacket]]:
    """Two speakers' packets, encoded once: both runs must forward the same bytes (an
    encoder's output can differ from one encoding to the next)."""
    if not _CLIPS:
        first = video_packets(40, first_seq=65520, first_ts=0xFFFFFF00, picture_id=0x7FF0)
        second = video_packets(40, first_seq=300, first_ts=5000, picture_id=5)
        _CLIPS.append((first, [replace(p, ntp=(3_900_000_000 << 32) + 7) for p in second]))
    return _CLIPS[0]


def _audio_packets(count: int) -> list[MediaPacket]:
    levels = [0x80 | 20, 127, None, 0, 45]
    return [
        MediaPacket(
            (65530 + i) & 0xFFFF,  # wraps
            (i * 960) & 0xFFFFFFFF,
            0,
            bytes([0xF8, i & 0xFF, 0xFE]),
            True,
            levels[i % len(levels)],
            1000.0 + i * 0.02,
            b"\0\0\0",
            ntp=(3_900_000_000 << 32) + i if i % 2 else 0,
        )
        for i in range(count)
    ]


def _forward(
    wires: list[SrtpWire], compiled: bool, monkeypatch: pytest.MonkeyPatch, clock: StampClock
) -> tuple[list[list[bytes]], list[tuple[Any, ...]], tuple[int, ...], list[bytes], int]:
    """One meeting forwarded; per wire what it received, per slot its end state, the
    metrics, what a plain (non-compiled) sink got, and how many sends took C."""
    monkeypatch.setenv(fast_send.MODE_ENV, "c" if compiled else "python")
    monkeypatch.setattr(sfu, "COMPILED_FANOUT", _fastsend.fanout if compiled else None)
    counter = itertools.count(0xFFFFF0)  # the stamps wrap past 2^24 on the way
    clock(lambda: next(counter) & 0xFFFFFF)
    metrics = SfuMetrics()
    first = make_source(metrics, [], name="a")
    second = make_source(metrics, [], name="b")
    voice = make_source(metrics, [], name="a", kind="audio")
    slots = []
    for (name, kind, ids), wire in zip(SLOTS, wires, strict=True):
        slot = Slot(name, kind, metrics)
        slot.configure(SlotConfig(ssrc=0x1000 + len(slots), payload_type=97, **ids), wire.output)
        slot._max_out_seq = 65500 + len(slots)  # numbers wrap in the window
        slot._max_out_ts = 0xFFFFF000 - len(slots)
        slot.assign(voice if kind == "audio" else first)
        slots.append(slot)
    # A sink that is no compiled slot, between the others: Python's on_packet, in order.
    plain = FakeOutput()
    plain_slot = Slot("thumb-3", "video", metrics)
    plain_slot.configure(SlotConfig(ssrc=0x2000, payload_type=96, abs_send_time_id=3), plain)
    plain_slot._max_out_seq, plain_slot._max_out_ts = 100, 200
    plain_slot.assign(first)
    first.remove_sink(slots[1])
    first.add_sink(slots[1])  # after the plain slot

    packets, other = _clips()
    for packet in packets[:25]:
        first.push(packet)
    first.push(packets[10])  # a late duplicate
    first.push(packets[27])  # out of order: 25 and 26 come after it
    first.push(packets[25])
    first.push(packets[26])
    # The main slot and a thumbnail move to another speaker: they keep the old one
    # until its keyframe, then shift its picture ids onto the ones already sent.
    slots[0].assign(second)
    slots[2].assign(second)
    plain_slot.assign(second)
    for index in range(28, 40):
        first.push(packets[index])
        second.push(other[index - 28 + 3])  # not a keyframe: nothing switches yet
    for packet in other[30:]:
        second.push(packet)  # the second clip's keyframe (gop 30) comes here
    for packet in _audio_packets(12):
        voice.push(packet)
    received = [wire.queued() for wire in wires]
    state = [tuple(getattr(slot, name) for name in STATE) for slot in [*slots, plain_slot]]
    history = [tuple(slot.history._ring) if slot.history is not None else () for slot in slots]
    state = [(*s, h) for s, h in zip(state, [*history, ()], strict=True)]
    counts = (
        metrics.packets_out,
        metrics.bytes_out,
        metrics.frames_out,
        metrics.packets_dropped,
    )
    fast = sum(wire.output._fast.fast_sends for wire in wires if wire.output._fast is not None)
    for slot in [*slots, plain_slot]:
        assert slot.last_ntp > 0
        slot.close()
    return received, state, counts, plain.raw, fast


async def test_the_compiled_fanout_sends_what_the_python_path_sends(
    monkeypatch: pytest.MonkeyPatch, stamp_clock: StampClock
) -> None:
    python_wires = [SrtpWire(key=bytes([i + 1]) * 30) for i in range(len(SLOTS))]
    compiled_wires = [SrtpWire(key=bytes([i + 1]) * 30) for i in range(len(SLOTS))]
    try:
        reference = _forward(python_wires, False, monkeypatch, stamp_clock)
        compiled = _forward(compiled_wires, True, monkeypatch, stamp_clock)
        # Every subscriber got datagrams, the same ones (SRTP with the same key is
        # deterministic), and they decrypt to the same RTP packets.
        for index, (expected, got) in enumerate(zip(reference[0], compiled[0], strict=True)):
            assert len(expected) > 10, SLOTS[index]
            assert got == expected, SLOTS[index]
            plain = [python_wires[index].receiver.unprotect(d) for d in expected]
            rtp = [RtpPacket.parse(d, EXT_MAP) for d in plain]
            assert len({p.sequence_number for p in rtp}) == len(rtp)  # no number twice
        assert compiled[1] == reference[1]  # every slot's state, its send history included
        assert compiled[2] == reference[2]  # the counters
        assert compiled[3] == reference[3] and compiled[3]  # the plain sink, in between
        assert reference[4] == 0  # the reference sent from Python alone
        # Most packets went out through C: all but each slot's first (it binds the route).
        sent = sum(len(r) for r in compiled[0])
        assert compiled[4] == sent - len(SLOTS)
    finally:
        for wire in python_wires + compiled_wires:
            wire.close()


async def test_the_picture_ids_are_shifted_after_a_switch(
    monkeypatch: pytest.MonkeyPatch, stamp_clock: StampClock, wires: list[SrtpWire]
) -> None:
    # What the comparison above rests on: the switch in it does shift picture ids
    # (in C too), and the main slot's stream stays continuous across it.
    received, state, *_ = _forward(wires, True, monkeypatch, stamp_clock)
    main = [RtpPacket.parse(wires[0].receiver.unprotect(d), EXT_MAP) for d in received[0]]
    assert state[0][STATE.index("_munge_picture_id")]
    start = main[0].sequence_number
    main.sort(key=lambda p: (p.sequence_number - start) & 0xFFFF)  # three came out of order
    # Every number once, none missing: the late duplicate was refused by SRTP (a
    # replay), as on the Python path.
    offsets = [(p.sequence_number - start) & 0xFFFF for p in main]
    assert offsets == list(range(len(main)))
    pictures = []
    for packet in main:
        if packet.payload[1] & 0x80 and packet.payload[2] & 0x80 and packet.payload[0] & 0x10:
            pictures.append(((packet.payload[2] & 0x7F) << 8) | packet.payload[3])
    # One picture id per frame start, each one more than the last, across the switch
    # (and the 15-bit wrap).
    steps = {(b - a) & 0x7FFF for a, b in itertools.pairwise(pictures)}
    assert steps == {1}, pictures


async def test_the_compiled_fanout_stamps_the_time_it_sends(wires: list[SrtpWire]) -> None:
    metrics = SfuMetrics()
    source = make_source(metrics, [])
    slot = Slot("main", "video", metrics)
    slot.configure(SlotConfig(ssrc=7, payload_type=97, abs_send_time_id=3), wires[0].output)
    slot.assign(source)
    packets = video_packets(3, first_seq=0, first_ts=0)
    source.push(packets[0])  # binds the route (Python)
    before = abs_send_time_now()
    for packet in packets[1:]:
        source.push(packet)
    after = abs_send_time_now()
    sent = [RtpPacket.parse(d, EXT_MAP) for d in wires[0].received(len(packets))][1:]
    assert wires[0].output._fast.fast_sends == len(sent)
    for packet in sent:
        stamp = packet.extensions.abs_send_time
        # Between the two readings of the clock (in 2^-18 s units, modulo 64 s).
        assert (stamp - before) & 0xFFFFFF <= (after - before) & 0xFFFFFF


async def test_an_error_in_a_sink_stops_the_fanout_and_keeps_what_was_counted(
    wires: list[SrtpWire],
) -> None:
    class Broken:
        def on_packet(self, source: Source, packet: MediaPacket) -> None:
            raise RuntimeError("broken sink")

        def on_source_ended(self, source: Source) -> None:
            pass

    metrics = SfuMetrics()
    source = make_source(metrics, [])
    slot = Slot("main", "video", metrics)
    slot.configure(SlotConfig(ssrc=7, payload_type=97), wires[0].output)
    slot.assign(source)
    packets = video_packets(2, first_seq=0, first_ts=0)
    source.push(packets[0])
    source.add_sink(Broken())
    with pytest.raises(RuntimeError, match="broken sink"):
        source.push(packets[1])
    # As the Python loop: the slot before the broken sink sent, and it is counted.
    assert len(wires[0].received(2)) == 2
    assert metrics.packets_out == 2 and slot.packets_sent == 2


FALLBACK = """
import asyncio, json, sys
sys.modules["conference.media._fastsend"] = None  # as on a machine without a compiler
from conference import sfu
from conference.media import fast_send
from conference.slot import Slot
from tests.support.fanout_runs import forward_plain

print(json.dumps({
    "built": fast_send.built(),
    "fanout": sfu.COMPILED_FANOUT is not None,
    "bases": [c.__name__ for c in Slot.__mro__],
    **asyncio.run(forward_plain()),
}))
"""


def test_without_the_module_the_python_path_forwards_the_same() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    fallback = json.loads(result.stdout.strip().splitlines()[-1])
    assert not fallback["built"] and not fallback["fanout"]
    assert fallback["bases"] == ["Slot", "object"]
    # The same here, with the module and its fan-out: the same bytes to every output.
    assert Slot.__mro__[1] is _fastsend.SlotCore and sfu.COMPILED_FANOUT is _fastsend.fanout
    here = asyncio.run(forward_plain())
    assert fallback["sent"] == here["sent"] and len(here["sent"][0]) == 6
    assert fallback["packets_out"] == here["packets_out"] == 18
