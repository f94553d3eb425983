"""A slot forwarding a layer at a reduced frame rate: VP8 temporal layers dropped by TID.

Real Source and Slot objects fed real VP8 frames (libvpx) whose descriptors
carry temporal layer ids; the slot's output records what would go on the
network, and the tests read it as a subscriber would.
"""

from __future__ import annotations

import itertools
import time

from conference.layer_policy import BASE, FULL, HALF
from conference.media.codecs import parse_vp8_descriptor, vp8_temporal
from conference.sfu import RATE_WINDOW, MediaPacket, SfuMetrics, Source
from conference.slot import ReceptionReport, Slot, SlotConfig, Subscription
from tests.support.slots import (
    FakeOutput,
    make_slot,
    make_source,
    temporal_video_packets,
    video_packets,
)


def fed_slot() -> tuple[Slot, FakeOutput, Source]:
    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    return slot, output, source


def push(source: Source, packets: list[MediaPacket]) -> None:
    for packet in packets:
        packet.arrival = time.monotonic()
        source.push(packet)


def picture_ids(output: FakeOutput) -> list[int]:
    """The picture id of each frame sent (its first packet), in order."""
    ids = []
    for rtp in output.rtp:
        desc = parse_vp8_descriptor(rtp.payload)
        assert desc is not None and desc.picture_id is not None
        if desc.start_of_partition:
            ids.append(desc.picture_id)
    return ids


def tids(output: FakeOutput, start: int = 0) -> list[int]:
    """The TID of each frame sent from packet ``start`` on."""
    out = []
    for rtp in output.rtp[start:]:
        temporal = vp8_temporal(rtp.payload)
        assert temporal is not None
        if parse_vp8_descriptor(rtp.payload).start_of_partition:  # type: ignore[union-attr]
            out.append(temporal[0])
    return out


def contiguous(numbers: list[int]) -> bool:
    return all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers))


async def test_half_rate_drops_tid_2_with_contiguous_sequence_numbers_and_picture_ids():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(24, first_seq=65_500, first_ts=1000)  # wraps round
    first_two = [p for p, frame, _ in packets if frame < 2]
    push(source, first_two)
    assert slot.sample_temporal() == 2  # the last packet sent was of a TID 2 frame
    slot.set_rate(HALF)
    rest = [p for p, frame, _ in packets if frame >= 2]
    push(source, rest)

    sent_after = len(first_two)
    # Frames 2..23 of the 0,2,1,2 cycle without the TID 2 ones: 1,0,1,0,...
    assert tids(output, sent_after) == [1 if i % 4 == 2 else 0 for i in range(2, 24) if i % 2 == 0]
    expected_dropped = sum(1 for _, frame, tid in packets if frame >= 2 and tid == 2)
    assert slot.temporal_drops == expected_dropped > 0
    assert len(output.rtp) == len(packets) - expected_dropped
    # The subscriber sees no gap: neither in sequence numbers nor in picture ids.
    assert contiguous([rtp.sequence_number for rtp in output.rtp])
    ids = picture_ids(output)
    assert all((b - a) & 0x7FFF == 1 for a, b in itertools.pairwise(ids))
    assert slot.forwarded_tid == 1


async def test_a_retransmission_after_drops_carries_the_packet_sent_under_that_number():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(16, first_seq=100, first_ts=0)
    push(source, [p for p, frame, _ in packets if frame < 2])
    slot.sample_temporal()
    slot.set_rate(BASE)
    push(source, [p for p, frame, _ in packets if frame >= 2])
    assert slot.temporal_drops > 0

    # The last packets went out after every drop: their numbers moved back.
    target = output.rtp[-3]
    sent = len(output.raw)
    slot.handle_nack([target.sequence_number])
    assert len(output.raw) == sent + 1
    rtx = output.rtp[-1]
    assert rtx.ssrc == 2222 and rtx.payload_type == 98
    assert int.from_bytes(rtx.payload[:2], "big") == target.sequence_number
    assert rtx.payload[2:] == target.payload
    assert rtx.timestamp == target.timestamp


async def test_going_back_up_waits_for_a_tid_0_frame():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(16, first_seq=7, first_ts=0)
    push(source, [p for p, frame, _ in packets if frame < 2])
    slot.sample_temporal()
    slot.set_rate(BASE)
    push(source, [p for p, frame, _ in packets if 2 <= frame < 5])  # frames 2 (TID 1), 3, 4 (TID 0)
    assert slot.forwarded_tid == 0
    slot.set_rate(FULL)
    mark = len(output.rtp)
    # Frames 5 (TID 2) and 6 (TID 1) may depend on frames the subscriber never got.
    push(source, [p for p, frame, _ in packets if 5 <= frame < 8])
    assert tids(output, mark) == []
    assert slot.forwarded_tid == 0
    push(source, [p for p, frame, _ in packets if frame >= 8])  # frame 8 is TID 0
    assert tids(output, mark) == [0, 2, 1, 2, 0, 2, 1, 2]
    assert slot.forwarded_tid is None
    assert contiguous([rtp.sequence_number for rtp in output.rtp])


async def test_going_up_starts_at_a_layer_sync_frame():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(12, first_seq=7, first_ts=0, sync=frozenset({6}))
    push(source, [p for p, frame, _ in packets if frame < 2])
    slot.sample_temporal()
    slot.set_rate(BASE)
    push(source, [p for p, frame, _ in packets if 2 <= frame < 5])
    slot.set_rate(HALF)
    mark = len(output.rtp)
    # Frame 5 is TID 2 (above half), frame 6 is TID 1 with Y: the level goes up there.
    push(source, [p for p, frame, _ in packets if 5 <= frame < 8])
    assert tids(output, mark) == [1]
    assert slot.forwarded_tid == 1


async def test_a_reduction_never_cuts_a_frame_already_going_out():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(8, first_seq=7, first_ts=0, chunk=40)
    frame_one = [p for p, frame, _ in packets if frame == 1]  # TID 2, several packets
    assert len(frame_one) >= 3
    push(source, [p for p, frame, _ in packets if frame < 1] + frame_one[:1])
    slot.sample_temporal()
    slot.set_rate(BASE)  # mid-frame: the rest of frame 1 still goes out
    push(source, frame_one[1:])
    assert output.rtp[-1].marker == 1
    assert output.rtp[-1].payload == frame_one[-1].payload
    mark = len(output.rtp)
    push(source, [p for p, frame, _ in packets if frame >= 2])  # TID 1, 2 dropped; 4 kept
    assert tids(output, mark) == [0]
    assert contiguous([rtp.sequence_number for rtp in output.rtp])


async def test_a_late_packet_takes_the_number_it_would_have_had_in_order():
    slot, output, source = fed_slot()
    packets = temporal_video_packets(12, first_seq=500, first_ts=0)
    push(source, [p for p, frame, _ in packets if frame < 2])
    slot.sample_temporal()
    slot.set_rate(HALF)
    rest = [p for p, frame, _ in packets if frame >= 2]
    frame_two_end = max(i for i, p in enumerate(rest) if p.timestamp == 2 * 3000)
    held = rest.pop(frame_two_end)  # the last packet of frame 2 (TID 1) comes late...
    push(source, rest[: frame_two_end + 4])  # ...after frame 3 (TID 2) was dropped
    push(source, [held])
    push(source, rest[frame_two_end + 4 :])
    numbers = sorted(rtp.sequence_number for rtp in output.rtp)
    assert len(set(numbers)) == len(numbers)
    assert contiguous(numbers)
    late = next(rtp for rtp in output.rtp if rtp.payload[6:] == held.payload[6:])
    assert late.marker == 1


async def test_a_source_without_temporal_layers_is_not_reduced():
    slot, output, source = fed_slot()
    packets = video_packets(12, first_seq=1, first_ts=0)
    push(source, packets[:3])
    assert slot.sample_temporal() == 0
    slot.set_rate(BASE)
    push(source, packets[3:])
    assert len(output.rtp) == len(packets)
    assert slot.temporal_drops == 0
    assert slot.temporal_layers == 0


async def test_the_subscription_reduces_the_frame_rate_before_it_pauses():
    metrics = SfuMetrics()
    camera = Source(source_id="a:video", owner="a", kind="video", metrics=metrics)
    camera.codec = "VP8"
    layers = camera.add_layers(["q", "h", "f"])
    main = Slot("main", "video", metrics)
    output = FakeOutput()
    main.configure(SlotConfig(ssrc=1111, payload_type=97), output)
    subscription = Subscription([main], cname="c")
    subscription.pacing = False  # what goes out is read at once (pacing: tests/test_pacer.py)
    main.assign(camera)
    main.set_layer("q")
    packets = temporal_video_packets(8, first_seq=1, first_ts=0)
    push(layers["q"], [p for p, frame, _ in packets if frame < 2])
    assert main.layer == "q" and output.rtp

    # Past the layers' rate window (so costs are nominal: q is 150 kbit/s) with a
    # REMB of 110 kbit/s against 200 sent: q at half its frames (90 kbit/s) fits.
    later = time.monotonic() + RATE_WINDOW + 0.5
    sent = main.octets_sent + 12 * main.packets_sent
    # What it sent over the last 2 s (SENT_SMOOTHING): 50 kB, 200 kbit/s.
    subscription._sent_at, subscription._sent_bytes = later - 2.0, sent - 50_000
    main.report = ReceptionReport(remb_bitrate=110_000, updated_at=later)
    assert subscription.update_layers(later)
    assert (main.layer, main.rate, main.link_paused) == ("q", HALF, False)
    mark = len(output.rtp)
    push(layers["q"], [p for p, frame, _ in packets if frame >= 2])
    assert tids(output, mark) == [1, 0, 1]
    subscription.close()
