"""Video paced to a thin downlink: audio first, order kept, stamps taken on the way out.

Real Source, Slot and Subscription objects; the slots' outputs record what
would go on the network (the network boundary), in the order it went.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from conference.media.pacer import MIN_RATE_BPS, PACE_BELOW_BPS, Pacer
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.slot import ReceptionReport, Slot, SlotConfig, Subscription
from tests.support.slots import FakeOutput, video_packets

ABS_SEND_TIME_ID = 3


class Wire:
    """One subscriber's wire: every packet any of its slots sent, in order, by slot."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def output(self, name: str) -> FakeOutput:
        wire = self

        class Recording(FakeOutput):
            def send_rtp(self, data: bytes) -> bool:
                wire.sent.append((name, data))
                return super().send_rtp(data)

        return Recording()


def subscriber(wire: Wire, metrics: SfuMetrics) -> tuple[Subscription, Slot, Slot]:
    main = Slot("main", "video", metrics)
    main.configure(
        SlotConfig(ssrc=1111, payload_type=97, abs_send_time_id=ABS_SEND_TIME_ID),
        wire.output("main"),
    )
    voice = Slot("audio-1", "audio", metrics)
    voice.configure(SlotConfig(ssrc=2222, payload_type=111, audio_level_id=2), wire.output("audio"))
    subscription = Subscription([main, voice], cname="c")
    subscription.adaptive_layers = False  # the test runs the policy itself
    return subscription, main, voice


def thin(subscription: Subscription, slot: Slot, bps: int) -> None:
    """The subscriber's REMB says ``bps``; the policy runs once (and with it, pacing)."""
    slot.report = ReceptionReport(remb_bitrate=bps)
    slot.report.updated_at = time.monotonic()
    subscription.update_layers(time.monotonic())


def sources(metrics: SfuMetrics) -> tuple[Source, Source]:
    camera = Source(source_id="a:video", owner="a", kind="video", metrics=metrics)
    camera.codec = "VP8"
    microphone = Source(source_id="b:audio", owner="b", kind="audio", metrics=metrics)
    microphone.codec = "opus"
    return camera, microphone


@dataclass
class Setup:
    """One subscriber (main video and one audio slot) watching a camera and a microphone."""

    metrics: SfuMetrics
    wire: Wire
    subscription: Subscription
    main: Slot
    voice: Slot
    camera: Source
    microphone: Source

    def push(self, packets: list[MediaPacket]) -> None:
        for packet in packets:
            self.camera.push(packet)


def watching(downlink_bps: int) -> Setup:
    """A subscriber whose REMB says ``downlink_bps``, its slots assigned, the policy run once."""
    metrics = SfuMetrics()
    wire = Wire()
    subscription, main, voice = subscriber(wire, metrics)
    camera, microphone = sources(metrics)
    main.assign(camera)
    voice.assign(microphone)
    thin(subscription, main, downlink_bps)
    return Setup(metrics, wire, subscription, main, voice, camera, microphone)


def opus(seq: int) -> MediaPacket:
    return MediaPacket(
        sequence_number=seq,
        timestamp=seq * 960,
        marker=0,
        payload=b"\xfc" + bytes(80),
        keyframe=True,  # as the receive path marks every audio packet
        audio_level=30,
        arrival=time.monotonic(),
        abs_send_time=b"",
    )


async def until_empty(pacer: Pacer, seconds: float = 60.0) -> None:
    """Wait for the pacer to send everything (the bound is a guard, not a measurement)."""
    for _ in range(int(seconds / 0.01)):
        if not pacer.queued_packets:
            break
        await asyncio.sleep(0.01)
    assert pacer.queued_packets == 0, f"{pacer.queued_packets} packets still waiting"


async def test_a_thin_downlink_paces_a_keyframe_and_audio_goes_out_past_it():
    setup = watching(1_000_000)
    metrics, wire, subscription = setup.metrics, setup.wire, setup.subscription
    main, voice, microphone = setup.main, setup.voice, setup.microphone
    assert subscription.pacer is not None and main.pacer is subscription.pacer
    assert voice.pacer is None  # audio never waits

    burst = video_packets(2, first_seq=100, first_ts=9000)  # a keyframe: several packets
    setup.push(burst)
    microphone.push(opus(1))
    # The audio packet left at once, while most of the keyframe still waits.
    names = [name for name, _ in wire.sent]
    assert names.count("audio") == 1
    assert names.count("main") < len(burst)
    assert subscription.pacer.queued_packets == len(burst) - names.count("main")

    await until_empty(subscription.pacer)
    video = [data for name, data in wire.sent if name == "main"]
    assert len(video) == len(burst)
    sequence = [int.from_bytes(data[2:4], "big") for data in video]
    assert sequence == [(sequence[0] + i) & 0xFFFF for i in range(len(burst))]  # order kept
    assert [p.payload for p in main.output.rtp] == [p.payload for p in burst]  # type: ignore[union-attr]
    # An audio packet that came before the keyframe's tail went out before it.
    first_audio = names.index("audio")
    assert first_audio < len(burst)
    assert metrics.packets_paced == subscription.pacer.packets_paced > 0


async def test_a_paced_packet_is_stamped_when_it_leaves():
    setup = watching(MIN_RATE_BPS)
    burst = video_packets(30, first_seq=500, first_ts=100)  # 25 kB pushed in one go
    setup.push(burst)
    assert setup.subscription.pacer is not None
    await until_empty(setup.subscription.pacer)
    stamps = [p.extensions.abs_send_time for p in setup.main.output.rtp]  # type: ignore[union-attr]
    assert len(stamps) == len(burst) and all(stamp is not None for stamp in stamps)
    # abs-send-time counts 1/262144 s (a 64 s wrap). Stamped on the way in, the
    # burst would span a millisecond or so; at 64 kbit/s, draining 25 kB (even
    # at the quickened pace of a long queue) takes more than half a second.
    spread = ((stamps[-1] - stamps[0]) & 0xFFFFFF) / 262144.0
    assert 0.5 < spread < 60


async def test_a_long_queue_drains_faster_than_the_pace():
    """Far more than the estimate comes: it waits about MAX_QUEUE_SECONDS, never minutes."""
    pacer = Pacer(MIN_RATE_BPS)
    sent: list[bytes] = []

    def send(header: bytes, payload: bytes) -> bool:
        sent.append(payload)
        return True

    payload = bytes(1200)
    for _ in range(1500):  # 1.9 MB: at 64 kbit/s it would take four minutes
        pacer.push(send, bytes(12), payload, -1)
    await until_empty(pacer, seconds=60.0)
    assert len(sent) == 1500


async def test_pacing_stops_when_the_downlink_is_no_longer_thin_and_nothing_is_lost():
    setup = watching(MIN_RATE_BPS)
    subscription, main = setup.subscription, setup.main
    burst = video_packets(2, first_seq=700, first_ts=100)
    setup.push(burst)
    assert subscription.pacer is not None and subscription.pacer.queued_packets > 0
    thin(subscription, main, 2 * PACE_BELOW_BPS)  # a healthy estimate: everything goes now
    assert subscription.pacer is None and main.pacer is None and setup.voice.pacer is None
    assert len([name for name, _ in setup.wire.sent if name == "main"]) == len(burst)


async def test_pacing_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("CONFERENCE_PACING", "off")
    setup = watching(MIN_RATE_BPS)
    assert setup.subscription.pacer is None
    burst = video_packets(2, first_seq=900, first_ts=100)
    setup.push(burst)
    assert len(setup.wire.sent) == len(burst)


async def test_a_closed_subscription_drops_what_waits():
    setup = watching(MIN_RATE_BPS)
    wire, subscription = setup.wire, setup.subscription
    setup.push(video_packets(2, first_seq=1100, first_ts=100))
    pacer = subscription.pacer
    assert pacer is not None and pacer.queued_packets > 0
    before = len(wire.sent)
    subscription.close()
    await asyncio.sleep(0.2)
    assert pacer.queued_packets == 0 and len(wire.sent) == before
