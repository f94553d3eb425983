"""A slot fed by a simulcast camera: which layer it takes, and switches at keyframes.

Real Source and Slot objects; the slot's output records what would go on the
network (the network boundary).
"""

from __future__ import annotations

import itertools
import time

from conference.layer_policy import PAUSE_AFTER
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.slot import ReceptionReport, Slot, SlotConfig, Subscription, pick_layer
from tests.support.slots import FakeOutput, make_source, video_packets


def configured_slot(name: str, metrics: SfuMetrics) -> tuple[Slot, FakeOutput]:
    slot = Slot(name, "video", metrics)
    output = FakeOutput()
    slot.configure(SlotConfig(ssrc=1111, payload_type=97, abs_send_time_id=3), output)
    return slot, output


def camera(metrics: SfuMetrics, rids: tuple[str, ...] = ("q", "h", "f"), owner: str = "a"):
    """A simulcast camera whose layers note their keyframe requests by rid."""
    source = Source(source_id=f"{owner}:video", owner=owner, kind="video", metrics=metrics)
    source.codec = "VP8"
    requests: list[str] = []
    for rid, layer in source.add_layers(rids).items():
        layer.keyframe_requester = lambda rid=rid: requests.append(rid)
    return source, requests


def stream(first_seq: int, frames: int = 40) -> list[MediaPacket]:
    """One layer's packets (VP8, keyframes at frames 0 and 30)."""
    return [p for p in video_packets(frames, first_seq=first_seq, first_ts=first_seq * 7)]


def push(source: Source, packets: list[MediaPacket]) -> None:
    for packet in packets:
        packet.arrival = time.monotonic()
        source.push(packet)


def key_index(packets: list[MediaPacket], after: int = 0) -> int:
    return next(i for i, p in enumerate(packets) if p.keyframe and i > after)


async def test_layers_are_named_low_to_high_and_ids_name_the_rid():
    metrics = SfuMetrics()
    source = Source(source_id="s:video", owner="s", kind="video", metrics=metrics)
    layers = source.add_layers(["f", "q", "h", "x"])  # an unknown name is no layer
    assert list(layers) == ["q", "h", "f"]
    assert [layer.id for layer in layers.values()] == ["s:video:q", "s:video:h", "s:video:f"]
    assert source.top_layer() is layers["f"]
    assert pick_layer(layers, "h") == "h"
    assert pick_layer({"h": layers["h"], "f": layers["f"]}, "q") == "h"  # the lowest there is
    assert pick_layer({"q": layers["q"], "h": layers["h"]}, "f") == "h"


async def test_main_and_thumbnail_take_their_layers_and_only_those_are_wanted():
    metrics = SfuMetrics()
    cam, requests = camera(metrics)
    main, main_out = configured_slot("main", metrics)
    thumb, thumb_out = configured_slot("thumb-1", metrics)
    assert (main.max_layer, thumb.max_layer) == ("f", "q")
    assert cam.wanted_layers() == []
    main.assign(cam)
    thumb.assign(cam)
    # Before the policy ran: a middle ground for the large tile, q for a thumbnail.
    assert (main.layer, thumb.layer) == ("h", "q")
    assert cam.wanted_layers() == ["q", "h"]
    assert sorted(requests) == ["h", "q"]  # each asked its own layer's encoder
    q, h, f = stream(1000), stream(2000), stream(3000)
    push(cam.layers["q"], q)
    push(cam.layers["h"], h)
    push(cam.layers["f"], f)
    assert len(main_out.rtp) == len(h) and len(thumb_out.rtp) == len(q)
    assert [p.payload for p in main_out.rtp] == [p.payload for p in h]
    # A thumbnail never goes above q, whatever the policy allows.
    thumb.set_layer("f")
    assert thumb.layer == "q" and thumb.pending_layer is None


async def test_layer_switch_keeps_forwarding_the_old_layer_until_the_new_keyframe():
    metrics = SfuMetrics()
    cam, requests = camera(metrics)
    slot, output = configured_slot("main", metrics)
    slot.assign(cam)
    h, f = stream(2000), stream(40000)
    first_key = key_index(f)
    push(cam.layers["h"], h[:20])
    requests.clear()
    assert slot.set_layer("f")
    assert (slot.layer, slot.pending_layer) == ("h", "f")
    assert requests == ["f"]  # a PLI to f's SSRC only
    assert cam.wanted_layers() == ["h", "f"]
    push(cam.layers["f"], f[1:first_key])  # mid-GOP: not forwarded
    push(cam.layers["h"], h[20:30])  # the old layer still shows
    assert len(output.rtp) == 30
    push(cam.layers["f"], f[first_key:])
    assert slot.layer == "f" and slot.pending_layer is None
    assert cam.wanted_layers() == ["f"]
    push(cam.layers["h"], h[30:])  # let go of
    assert len(output.rtp) == 30 + len(f) - first_key
    sent = [p.sequence_number for p in output.rtp]
    assert all(((b - a) & 0xFFFF) == 1 for a, b in itertools.pairwise(sent))
    assert output.rtp[30].payload[:1] == f[first_key].payload[:1]
    assert (slot.layer_switches, metrics.layer_switches) == (1, 1)


async def test_speaker_switch_holds_the_old_picture_until_the_new_keyframe():
    metrics = SfuMetrics()
    asked: list[float] = []
    a, b = make_source(metrics, [], "a"), make_source(metrics, asked, "b")
    slot, output = configured_slot("main", metrics)
    slot.assign(a)
    pa, pb = stream(100), stream(5000)
    push(a, pa[:10])
    assert slot.assign(b) and slot.source is b
    assert len(asked) == 1 and slot.feed is a  # asked, and a still shows
    first_key = key_index(pb)
    push(b, pb[1:first_key])
    push(a, pa[10:20])
    assert len(output.rtp) == 20
    push(b, pb[first_key:])
    push(a, pa[20:])
    assert slot.feed is b and a.sinks == ()
    assert len(output.rtp) == 20 + len(pb) - first_key
    assert slot.layer_switches == 0  # a new speaker, not a new layer


async def test_paused_for_the_link_forwards_nothing_and_resumes_at_a_keyframe():
    metrics = SfuMetrics()
    cam, _ = camera(metrics)
    slot, output = configured_slot("thumb-2", metrics)
    slot.assign(cam)
    q = stream(1000)
    push(cam.layers["q"], q[:10])
    assert slot.set_layer(None)
    assert slot.link_paused and slot.layer is None and cam.wanted_layers() == []
    assert not slot.set_layer(None)  # no change
    push(cam.layers["q"], q[10:20])
    assert len(output.rtp) == 10
    assert slot.set_layer("q")
    assert not slot.link_paused and slot.layer == "q"
    first_key = key_index(q, after=20)
    push(cam.layers["q"], q[20:])
    assert len(output.rtp) == 10 + len(q) - first_key


async def test_a_slot_emptied_while_paused_withholds_nothing_until_its_next_source():
    # The console's "Đường xuống" column and /metrics count what a site is denied:
    # once the paused slot's camera has gone, there is nothing to deny.
    metrics = SfuMetrics()
    cam, _ = camera(metrics)
    slot, output = configured_slot("main", metrics)
    slot.assign(cam)
    slot.set_layer(None)
    assert slot.withholds_for_link
    cam.end()  # the site left (a paused slot is no sink: it hears it at the reroute)
    assert slot.link_paused and not slot.withholds_for_link
    slot.assign(None)  # the room's reroute
    assert slot.link_paused and not slot.withholds_for_link
    other, _ = camera(metrics, owner="b")
    slot.assign(other)  # the next site waits for the policy, as a paused slot does
    assert slot.withholds_for_link and slot.layer is None
    push(other.layers["q"], stream(500))
    assert output.rtp == []


async def test_a_single_layer_source_is_forwarded_as_f_or_paused():
    metrics = SfuMetrics()
    source = make_source(metrics, [])
    slot, output = configured_slot("thumb-1", metrics)
    slot.assign(source)
    assert slot.layer == "f" and source.wanted_layers() == ["f"]
    slot.set_layer(None)
    assert slot.layer is None and source.wanted_layers() == []
    push(source, stream(10, frames=5))
    assert output.rtp == []


async def test_the_old_feed_ending_during_a_switch_hands_over_to_the_new_one():
    metrics = SfuMetrics()
    a, b = make_source(metrics, [], "a"), make_source(metrics, [], "b")
    slot, output = configured_slot("main", metrics)
    slot.assign(a)
    pa = stream(100, frames=3)
    push(a, pa)
    slot.assign(b)
    a.end()
    assert slot.feed is b and slot.pending_layer is None and slot.source is b
    pb = stream(900, frames=35)
    push(b, pb)
    assert len(output.rtp) == len(pa) + len(pb)


async def test_a_camera_that_ends_empties_the_slot():
    metrics = SfuMetrics()
    cam, _ = camera(metrics)
    slot, _ = configured_slot("main", metrics)
    slot.assign(cam)
    cam.end()
    assert all(layer.ended for layer in cam.layers.values())
    assert slot.source is None and slot.feed is None and slot.layer is None


async def test_subscription_applies_the_policy_and_says_when_layers_changed():
    metrics = SfuMetrics()
    cam, _ = camera(metrics)
    main, _ = configured_slot("main", metrics)
    thumb, _ = configured_slot("thumb-1", metrics)
    subscription = Subscription([main, thumb], cname="c")
    calls: list[int] = []
    subscription.on_layers_changed = lambda: calls.append(1)
    main.assign(cam)
    thumb.assign(cam)
    now = time.monotonic()
    assert not subscription.update_layers(now)  # no REMB yet: the defaults fit the start
    assert (main.layer, thumb.layer) == ("h", "q")
    # We sent 1.6 Mbit/s and its REMB says 200 kbit/s: only q fits, for the main tile alone.
    main.octets_sent += 100_000
    now += 0.5
    for slot in (main, thumb):
        slot.report = ReceptionReport(remb_bitrate=200_000)
    assert subscription.update_layers(now)
    assert subscription.downlink_bps == 200_000
    assert (main.layer, main.link_paused) == ("q", False)
    # Without loss the thumbnail keeps q; the report that shows heavy loss pauses it.
    assert (thumb.layer, thumb.link_paused) == ("q", False)
    assert calls == [1]
    now += PAUSE_AFTER
    main.octets_sent += 800_000  # still sending 1.6 Mbit/s
    assert not subscription.update_layers(now)
    assert (thumb.layer, thumb.link_paused) == ("q", False)
    now += 0.5
    main.octets_sent += 100_000
    for slot in (main, thumb):
        slot.report = ReceptionReport(remb_bitrate=200_000, fraction_lost=0.2, updated_at=now)
    assert subscription.update_layers(now)
    assert (main.layer, main.link_paused) == ("q", False)
    assert (thumb.layer, thumb.link_paused) == (None, True)
    assert calls == [1, 1] and cam.wanted_layers() == ["q"]
    assert not subscription.update_layers(now + 0.5)  # nothing new: no call
    assert calls == [1, 1]
    subscription.close()


async def test_the_link_view_counts_the_audio_bits_apart_from_the_video():
    # Chromium's REMB counts video only: the policy needs what the audio really costs.
    metrics = SfuMetrics()
    main, _ = configured_slot("main", metrics)
    voice = Slot("audio-1", "audio", metrics)
    voice.assign(Source(source_id="b:audio", owner="b", kind="audio", metrics=metrics))
    subscription = Subscription([main, voice], cname="c")
    now = time.monotonic()
    subscription._link(now)
    # Over 2 s (SENT_SMOOTHING): 100 audio packets of 88 bytes, 50 kB of video.
    voice.octets_sent += 100 * 88
    voice.packets_sent += 100
    main.octets_sent += 50_000
    link = subscription._link(now + 2.0)
    assert link.audio_slots == 1
    assert link.audio_bps == (100 * (88 + 12)) * 8 / 2.0  # 40 kbit/s, RTP headers included
    assert link.sent_bps == link.audio_bps + 50_000 * 8 / 2.0
    subscription.close()
