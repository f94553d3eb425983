"""A small fan-out to plain outputs, the same in any process: the compiled module's
absence is tested in a process of its own (tests/test_fanout_compiled.py)."""

from __future__ import annotations

from typing import Any

from conference import slot as slot_module
from conference.sfu import MediaPacket, SfuMetrics
from conference.slot import Slot, SlotConfig
from tests.support.slots import FakeOutput, make_source


async def forward_plain() -> dict[str, Any]:
    """Six fixed packets (a keyframe first) to three slots on plain outputs: the bytes
    each output got (hex) and the packets counted out."""
    metrics = SfuMetrics()
    source = make_source(metrics, [])
    outputs = []
    for index in range(3):
        slot = Slot("main", "video", metrics)
        out = FakeOutput()
        slot.configure(SlotConfig(ssrc=index, payload_type=97, abs_send_time_id=3), out)
        slot._max_out_seq, slot._max_out_ts = 10, 20
        slot.assign(source)
        outputs.append(out)
    slot_stamps = iter(range(1000, 2000))
    original = slot_module.abs_send_time_now
    slot_module.abs_send_time_now = lambda: next(slot_stamps)
    try:
        for index in range(6):
            payload = bytes([0x90, 0x80, 0x80, index, index & 0xFE]) + bytes(range(index, 40))
            source.push(
                MediaPacket(
                    (65533 + index) & 0xFFFF,
                    3000 * index,
                    index % 2,
                    payload,
                    index == 0,
                    None,
                    1.0 + index,
                    b"\0\0\0",
                )
            )
    finally:
        slot_module.abs_send_time_now = original
    return {
        "sent": [[d.hex() for d in out.raw] for out in outputs],
        "packets_out": metrics.packets_out,
    }
