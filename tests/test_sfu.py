"""The forwarding core, with a fake output: header rewriting, switching, NACK, keyframes."""

from __future__ import annotations

import asyncio
import itertools
import time

from conference.media.codecs import parse_vp8_descriptor
from conference.media.ntp import abs_send_time_now
from conference.sfu import (
    KEYFRAME_REQUEST_INTERVAL,
    MediaPacket,
    SfuMetrics,
    seq_newer,
)
from conference.slot import Slot, SlotConfig
from tests.support.slots import FakeOutput, make_slot, make_source, video_packets


async def test_rewrites_header_and_keeps_payload():
    slot, output, metrics = make_slot()
    requests: list[float] = []
    source = make_source(metrics, requests)
    slot.assign(source)
    packets = video_packets(10, first_seq=65530, first_ts=4_294_960_000)  # both wrap
    before = abs_send_time_now()
    for packet in packets:
        source.push(packet)
    after = abs_send_time_now()
    assert len(output.rtp) == len(packets)
    seqs = [p.sequence_number for p in output.rtp]
    assert all(((b - a) & 0xFFFF) == 1 for a, b in itertools.pairwise(seqs))
    for sent, original in zip(output.rtp, packets, strict=True):
        assert (sent.ssrc, sent.payload_type, sent.marker) == (1111, 97, original.marker)
        assert sent.payload == original.payload
        # Our send time, not the packet's (0x010203): (after - stamp) mod 2^24 <= (after - before).
        stamp = sent.extensions.abs_send_time
        assert (after - stamp) & 0xFFFFFF <= (after - before) & 0xFFFFFF
        assert sent.extensions.mid is None  # the publisher's MID never leaks
    assert metrics.packets_out == len(packets)
    assert metrics.frames_out == 10


async def test_video_slot_waits_for_a_keyframe_and_asks_for_it():
    slot, output, metrics = make_slot()
    requests: list[float] = []
    source = make_source(metrics, requests)
    packets = video_packets(35, first_seq=100, first_ts=0)
    first_key = next(i for i, p in enumerate(packets) if p.keyframe and i > 0)
    for packet in packets[1:first_key]:  # join mid-GOP
        source.push(packet)
    slot.assign(source)
    assert len(requests) == 1  # the subscriber's own request, sent at once
    for packet in packets[first_key - 5 : first_key]:
        source.push(packet)
    assert output.rtp == []  # nothing before the keyframe
    for packet in packets[first_key:]:
        source.push(packet)
    assert output.rtp and output.rtp[0].payload == packets[first_key].payload
    assert slot.keyframe_waits == 5


async def test_keyframe_requests_are_throttled_and_deferred_not_dropped():
    metrics = SfuMetrics()
    requests: list[float] = []
    source = make_source(metrics, requests)
    source.request_keyframe()
    source.request_keyframe()
    source.request_keyframe()
    assert len(requests) == 1
    await asyncio.sleep(KEYFRAME_REQUEST_INTERVAL + 0.3)
    assert len(requests) == 2  # the deferred one went out, once
    assert requests[1] - requests[0] >= KEYFRAME_REQUEST_INTERVAL - 0.05
    # A keyframe arriving meanwhile cancels a deferred request.
    source.request_keyframe()
    keyframe = next(p for p in video_packets(1, 0, 0) if p.keyframe)
    source.push(keyframe)
    await asyncio.sleep(KEYFRAME_REQUEST_INTERVAL + 0.3)
    assert len(requests) == 2


async def test_switching_source_keeps_the_stream_continuous():
    slot, output, metrics = make_slot()
    requests: list[float] = []
    a = make_source(metrics, requests, "a")
    b = make_source(metrics, requests, "b")
    slot.assign(a)
    for packet in video_packets(5, first_seq=1000, first_ts=50_000, picture_id=10):
        a.push(packet)
    last = output.rtp[-1]
    last_pid = parse_vp8_descriptor(last.payload).picture_id  # type: ignore[union-attr]
    slot.assign(b)
    for packet in video_packets(5, first_seq=40000, first_ts=3_000_000_000, picture_id=20000):
        b.push(packet)
        a.push(packet)  # a's packets no longer reach this slot
    after = output.rtp[len(output.rtp) - 5 * 0 - 1]
    switched = [p for p in output.rtp if p.timestamp != last.timestamp][-1]
    first_b = output.rtp[[p.sequence_number for p in output.rtp].index(last.sequence_number) + 1]
    assert first_b.sequence_number == (last.sequence_number + 1) & 0xFFFF
    assert seq_newer(after.sequence_number, last.sequence_number)
    assert ((first_b.timestamp - last.timestamp) & 0xFFFFFFFF) < 90000  # forward, small
    assert parse_vp8_descriptor(first_b.payload).picture_id == (last_pid + 1) & 0x7FFF  # type: ignore[union-attr]
    assert switched.ssrc == 1111
    # Late packets of b from before the switch point are dropped, not sent with reused numbers.
    count = len(output.rtp)
    stale = video_packets(1, first_seq=39990, first_ts=2_999_000_000)[0]
    b.push(stale)
    assert len(output.rtp) == count


async def test_a_source_keeps_flowing_after_its_numbers_go_half_round():
    """A speaker who keeps the main slot for 32,768+ packets (minutes at 720p) is
    still forwarded: the "sent before the switch" check counts distance, not
    the half of the number space."""
    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    first, *rest = video_packets(2, first_seq=65000, first_ts=0)
    source.push(first)
    template = rest[-1]
    total = 70_000  # past the half (32,768) and a whole wrap of 65,536
    for n in range(1, total):
        template.sequence_number = (65000 + n) & 0xFFFF
        template.timestamp = n * 3000
        source.push(template)
    numbers = [int.from_bytes(raw[2:4], "big") for raw in output.raw]
    assert len(numbers) == total
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers))
    # A packet that really is from before the switch point, sent early on, is still refused.
    slot2, output2, _ = make_slot()
    source2 = make_source(metrics, [])
    slot2.assign(source2)
    packets = video_packets(2, first_seq=100, first_ts=0)
    for packet in packets:
        source2.push(packet)
    sent = len(output2.raw)
    stale = video_packets(1, first_seq=90, first_ts=0)[0]
    source2.push(stale)
    assert len(output2.raw) == sent


async def test_nack_is_answered_with_rtx_from_history():
    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    for packet in video_packets(3, first_seq=500, first_ts=0):
        source.push(packet)
    target = output.rtp[1]
    original_bytes = output.raw[1]
    slot.handle_nack([target.sequence_number, 12345])
    rtx = output.rtp[-1]
    assert (rtx.ssrc, rtx.payload_type, rtx.timestamp) == (2222, 98, target.timestamp)
    assert int.from_bytes(rtx.payload[:2], "big") == target.sequence_number
    assert rtx.payload[2:] == target.payload
    assert metrics.retransmissions == 1
    assert original_bytes == output.raw[1]


async def test_a_slot_paused_for_the_link_resends_nothing():
    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    for packet in video_packets(3, first_seq=500, first_ts=0):
        source.push(packet)
    sent = len(output.raw)
    slot.set_layer(None)  # the layer policy: no layer fits the subscriber's link
    slot.handle_nack([output.rtp[1].sequence_number])
    assert len(output.raw) == sent
    assert metrics.retransmissions == 0 and metrics.retransmissions_refused == 1


async def test_audio_level_passes_through_and_feeds_speech_activity():
    slot, output, metrics = make_slot("audio")
    source = make_source(metrics, [], kind="audio")
    slot.assign(source)
    now = time.monotonic()
    for index in range(50):
        source.push(
            MediaPacket(
                sequence_number=index,
                timestamp=index * 960,
                marker=0,
                payload=b"\xf8\xff\xfe",
                keyframe=True,
                audio_level=0x80 | 20,
                arrival=now,
                abs_send_time=b"\0\0\0",
            )
        )
    assert output.rtp[-1].extensions.audio_level == (True, 20)
    loud = source.speech_activity(now)
    assert loud > 20
    assert source.speech_activity(now + 2.0) < loud / 50  # fades when packets stop


async def test_ended_source_empties_the_slot():
    slot, _output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    source.end()
    assert slot.source is None
    assert source.sinks == ()


async def test_keyframe_is_requested_when_the_subscriber_can_receive():
    metrics = SfuMetrics()
    requests: list[float] = []
    source = make_source(metrics, requests)
    slot = Slot("main", "video", metrics)
    slot.assign(source)  # the subscriber is still connecting: asking now would be wasted
    assert requests == []
    for packet in video_packets(2, first_seq=0, first_ts=0):
        source.push(packet)
    assert metrics.packets_dropped > 0
    slot.configure(SlotConfig(ssrc=1, payload_type=97), FakeOutput())
    assert len(requests) == 1
