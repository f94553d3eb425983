"""Relay links between two instances on loopback: media, layers, keyframes, control, loss.

Two real :class:`RelayEndpoint` sockets in one process (and, in the last
test, in two processes); the origin publishes plain :class:`Source` objects,
the far end subscribes through :class:`RemoteSource`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conference.relay.endpoint import RelayEndpoint
from conference.relay.link import RelayLink
from conference.sfu import SfuMetrics, Source
from tests.support.relay import RecordingSink, make_packet, open_proxy, wire_fields
from tests.support.slots import make_slot, video_packets
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
KEY = b"k" * 32


@dataclass
class Pair:
    """An origin endpoint with its sources, a far endpoint, and the link seen from each side."""

    origin: RelayEndpoint
    far: RelayEndpoint
    sources: dict[str, Source]
    requests: dict[str, int]
    origin_link: RelayLink
    far_link: RelayLink


def _source(
    pair_sources: dict[str, Source], requests: dict[str, int], source_id: str, kind: str
) -> Source:
    """A local source at the origin whose keyframe requests are counted in ``requests``."""
    metrics = SfuMetrics()

    def asked(name: str) -> None:
        requests[name] = requests.get(name, 0) + 1

    source = Source(
        source_id=source_id,
        owner=source_id.split(":")[0],
        kind=kind,
        metrics=metrics,
        keyframe_requester=lambda: asked(source_id),
    )
    source.codec = "VP8" if kind == "video" else "opus"
    pair_sources[source_id] = source
    return source


async def _pair(linger: float = 0.0, via: tuple[str, int] | None = None) -> Pair:
    sources: dict[str, Source] = {}
    requests: dict[str, int] = {}
    accepted: list[RelayLink] = []
    origin = await RelayEndpoint.open(
        node_id="origin",
        cluster_key=KEY,
        lookup=sources.get,
        sfu_metrics=SfuMetrics(),
        on_link=accepted.append,
    )
    far = await RelayEndpoint.open(
        node_id="far",
        cluster_key=KEY,
        lookup={}.get,
        sfu_metrics=SfuMetrics(),
        unsubscribe_linger=linger,
    )
    far_link = await far.connect(via or origin.address)
    await wait_until(lambda: bool(accepted))
    return Pair(origin, far, sources, requests, accepted[0], far_link)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    p = await _pair()
    yield p
    p.far.close()
    p.origin.close()


async def _subscribed(pair: Pair, remote_source: Source, sink: RecordingSink) -> None:
    remote_source.add_sink(sink)
    # The origin attached its relay sink and the far end took the announcement.
    await wait_until(lambda: bool(remote_source.codec) and not pair.far_link.control_pending)
    await wait_until(lambda: not pair.origin_link.control_pending)


async def test_packets_cross_byte_identical(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-a:video", "video")
    audio = _source(pair.sources, pair.requests, "site-a:audio", "audio")
    remote_video = pair.far_link.remote_source("site-a:video", "video")
    remote_audio = pair.far_link.remote_source("site-a:audio", "audio")
    video_sink, audio_sink = RecordingSink(), RecordingSink()
    await _subscribed(pair, remote_video, video_sink)
    await _subscribed(pair, remote_audio, audio_sink)
    assert remote_video.codec == "VP8" and remote_audio.codec == "opus"
    sent_video = [make_packet(i) for i in range(60)]
    sent_audio = [make_packet(i, "audio", size=160) for i in range(60)]
    for v, a in zip(sent_video, sent_audio, strict=True):
        video.push(v)
        audio.push(a)
        await asyncio.sleep(0)
    await wait_until(lambda: len(video_sink.packets) == 60 and len(audio_sink.packets) == 60)
    assert [wire_fields(p) for p in video_sink.packets] == [wire_fields(p) for p in sent_video]
    assert [wire_fields(p) for p in audio_sink.packets] == [wire_fields(p) for p in sent_audio]
    # The publisher's clock mapping (its RTCP sender report) follows, for a recorder.
    video.sender_report = (1_765_000_000.25, 123_456)
    video.push(make_packet(60))
    await wait_until(lambda: len(video_sink.packets) == 61)
    assert remote_video.sender_report == (1_765_000_000.25, 123_456)
    assert remote_audio.sender_report is None
    # The far source counts what it received, as a local source would.
    assert remote_video.packets == 61 and remote_video.keyframes == 2
    assert remote_audio.speech_activity() >= 0
    assert sum(pair.far_link.metrics.dropped.values()) == 0


async def test_one_stream_crosses_once_for_five_subscribers(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-a:video", "video")
    remote = pair.far_link.remote_source("site-a:video", "video")
    sinks = [RecordingSink() for _ in range(5)]
    await _subscribed(pair, remote, sinks[0])
    for sink in sinks[1:]:
        remote.add_sink(sink)
    # A second request for the same source gives the same RemoteSource.
    assert pair.far_link.remote_source("site-a:video", "video") is remote
    datagrams_before = pair.origin_link.metrics.datagrams_sent
    for i in range(100):
        video.push(make_packet(i))
        await asyncio.sleep(0)
    await wait_until(lambda: all(len(s.packets) == 100 for s in sinks))
    assert len(video.sinks) == 1  # one relay sink at the origin for the five
    assert pair.origin_link.metrics.media_sent == 100
    assert pair.far_link.metrics.media_received == 100
    # Every datagram the origin sent meanwhile was one of those packets (no control, no PING
    # within the run would only add to it; media alone is 100).
    assert pair.origin_link.metrics.datagrams_sent - datagrams_before >= 100
    assert pair.origin_link.metrics.datagrams_sent - datagrams_before <= 100 + 8


async def test_simulcast_layers_only_the_taken_one_crosses(pair: Pair) -> None:
    camera = _source(pair.sources, pair.requests, "site-b:video", "video")
    camera.add_layers(["q", "h", "f"])
    remote = pair.far_link.remote_source("site-b:video", "video", rids=["q", "h", "f"])
    assert list(remote.layers) == ["q", "h", "f"]
    assert remote.layers["h"].id == camera.layers["h"].id
    sink = RecordingSink()
    await _subscribed(pair, remote.layers["h"], sink)
    assert set(pair.origin_link.exports) == {("site-b:video", "h")}
    assert not camera.layers["q"].sinks and not camera.layers["f"].sinks
    for i in range(30):
        for rid, layer in camera.layers.items():
            layer.push(make_packet(i, seed=ord(rid)))
        await asyncio.sleep(0)
    await wait_until(lambda: len(sink.packets) == 30)
    expected = [wire_fields(make_packet(i, seed=ord("h"))) for i in range(30)]
    assert [wire_fields(p) for p in sink.packets] == expected
    assert pair.origin_link.metrics.media_sent == 30
    assert remote.layers["h"].codec == "VP8" and remote.codec == "VP8"


async def test_a_real_slot_takes_a_remote_camera_and_moves_between_layers(pair: Pair) -> None:
    camera = _source(pair.sources, pair.requests, "site-l:video", "video")
    camera.add_layers(["q", "f"])
    for rid, layer in camera.layers.items():
        layer.keyframe_requester = lambda rid=rid: pair.requests.__setitem__(
            rid, pair.requests.get(rid, 0) + 1
        )
    remote = pair.far_link.remote_source("site-l:video", "video", rids=["q", "f"])
    slot, output, _ = make_slot()
    slot.assign(remote)  # a new main slot starts low (its target is h: here q), as locally
    await wait_until(lambda: set(pair.origin_link.exports) == {("site-l:video", "q")})
    await wait_until(
        lambda: remote.layers["q"].codec == "VP8" and not pair.far_link.control_pending
    )
    low = video_packets(12, first_seq=100, first_ts=9000)
    high = video_packets(12, first_seq=5000, first_ts=9000)
    for packet in low:
        camera.layers["q"].push(packet)
        await asyncio.sleep(0)
    await wait_until(lambda: len(output.rtp) == len(low))
    # The slot's own stream (its SSRC and numbering), the publisher's payloads unchanged.
    assert {p.ssrc for p in output.rtp} == {1111}
    assert [p.payload for p in output.rtp] == [p.payload for p in low]
    assert [p.marker for p in output.rtp] == [p.marker for p in low]

    slot.set_layer("f")  # the layer policy steps up: f is subscribed, asked for a keyframe
    await wait_until(lambda: ("site-l:video", "f") in pair.origin_link.exports)
    await wait_until(lambda: pair.requests.get("f", 0) >= 1)
    await wait_until(lambda: not pair.far_link.control_pending)
    for packet in high:
        camera.layers["f"].push(packet)
        await asyncio.sleep(0)
    await wait_until(lambda: len(output.rtp) == len(low) + len(high))
    # After a switch the slot renumbers VP8 picture ids (the 4-byte descriptor), as for a
    # local camera; the coded frames are the publisher's.
    assert [p.payload[4:] for p in output.rtp[len(low) :]] == [p.payload[4:] for p in high]
    assert slot.layer == "f"
    # Nobody here takes q any more: it no longer crosses the link.
    await wait_until(lambda: set(pair.origin_link.exports) == {("site-l:video", "f")})
    assert not camera.layers["q"].sinks


async def test_keyframe_request_round_trip(pair: Pair) -> None:
    camera = _source(pair.sources, pair.requests, "site-c:video", "video")
    camera.add_layers(["q", "f"])
    for rid, layer in camera.layers.items():
        layer.keyframe_requester = lambda rid=rid: pair.requests.__setitem__(
            rid, pair.requests.get(rid, 0) + 1
        )
    remote = pair.far_link.remote_source("site-c:video", "video", rids=["q", "f"])
    sink = RecordingSink()
    await _subscribed(pair, remote.layers["f"], sink)
    # Subscribing asks the origin's publisher for a keyframe of that layer.
    await wait_until(lambda: pair.requests.get("f") == 1)
    remote.layers["f"].request_keyframe()
    # The origin's source throttles to one a second and defers the second: it still comes.
    await wait_until(lambda: pair.requests.get("f") == 2)
    assert "q" not in pair.requests
    assert pair.far_link.metrics.keyframe_requests_sent == 1
    assert pair.origin_link.metrics.keyframe_requests_received == 1


async def test_subscribe_and_unsubscribe(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-d:video", "video")
    remote = pair.far_link.remote_source("site-d:video", "video")
    # Nothing is asked for while nobody here takes it.
    video.push(make_packet(0))
    await asyncio.sleep(0.1)
    assert not video.sinks and not pair.origin_link.exports
    assert pair.origin_link.metrics.media_sent == 0
    sink = RecordingSink()
    await _subscribed(pair, remote, sink)
    assert len(video.sinks) == 1
    video.push(make_packet(1))
    await wait_until(lambda: len(sink.packets) == 1)
    remote.remove_sink(sink)
    await wait_until(lambda: not video.sinks and not pair.origin_link.exports)
    video.push(make_packet(2))
    await asyncio.sleep(0.1)
    assert pair.origin_link.metrics.media_sent == 1
    # Subscribing again works (a new stream id).
    again = RecordingSink()
    await _subscribed(pair, remote, again)
    video.push(make_packet(3))
    await wait_until(lambda: len(again.packets) == 1)
    assert wire_fields(again.packets[0]) == wire_fields(make_packet(3))


async def test_unsubscribe_lingers_for_a_slot_changing_layers() -> None:
    pair = await _pair(linger=0.5)
    try:
        camera = _source(pair.sources, pair.requests, "site-e:video", "video")
        camera.add_layers(["q", "f"])
        remote = pair.far_link.remote_source("site-e:video", "video", rids=["q", "f"])
        sink = RecordingSink()
        await _subscribed(pair, remote.layers["f"], sink)
        remote.layers["f"].remove_sink(sink)
        remote.layers["f"].add_sink(sink)  # back within the linger: no unsubscribe at all
        await asyncio.sleep(0.8)
        assert set(pair.origin_link.exports) == {("site-e:video", "f")}
        remote.layers["f"].remove_sink(sink)
        await wait_until(lambda: not pair.origin_link.exports)
        assert not camera.layers["f"].sinks
    finally:
        pair.far.close()
        pair.origin.close()


async def test_source_end_at_the_origin_ends_the_remote(pair: Pair) -> None:
    camera = _source(pair.sources, pair.requests, "site-f:video", "video")
    camera.add_layers(["q", "f"])
    remote = pair.far_link.remote_source("site-f:video", "video", rids=["q", "f"])
    sink = RecordingSink()
    await _subscribed(pair, remote.layers["q"], sink)
    camera.end()
    await wait_until(lambda: remote.ended and sink.ended)
    assert remote.layers["q"].ended and remote.layers["f"].ended
    assert not pair.origin_link.exports
    # A later request makes a new RemoteSource; the origin has none: it ends at once.
    again = pair.far_link.remote_source("site-f:video", "video")
    assert again is not remote
    gone = RecordingSink()
    again.add_sink(gone)
    await wait_until(lambda: again.ended and gone.ended)


async def test_a_layer_dropped_at_the_origin_is_dropped_here(pair: Pair) -> None:
    camera = _source(pair.sources, pair.requests, "site-k:video", "video")
    camera.add_layers(["q", "f"])
    remote = pair.far_link.remote_source("site-k:video", "video", rids=["q", "f"])
    low, high = RecordingSink(), RecordingSink()
    await _subscribed(pair, remote.layers["q"], low)
    await _subscribed(pair, remote.layers["f"], high)
    far_high = remote.layers["f"]
    camera.keep_layers(["q"])  # the publisher's answer did not take "f"
    await wait_until(lambda: high.ended)
    assert far_high.ended and list(remote.layers) == ["q"]
    assert not remote.ended and not low.ended
    camera.layers["q"].push(make_packet(0))
    await wait_until(lambda: len(low.packets) == 1)


async def test_a_source_ended_here_is_unsubscribed(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-g:video", "video")
    remote = pair.far_link.remote_source("site-g:video", "video")
    await _subscribed(pair, remote, RecordingSink())
    remote.end()
    await wait_until(lambda: not video.sinks and not pair.origin_link.exports)
    assert not video.ended


async def test_closing_a_link_ends_remote_sources_and_detaches_on_both_ends(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-h:video", "video")
    remote = pair.far_link.remote_source("site-h:video", "video")
    sink = RecordingSink()
    await _subscribed(pair, remote, sink)
    # And the other way: the origin imports a source of the far end.
    back = _source(pair.sources, pair.requests, "site-h:audio", "audio")
    pair.far.lookup = {back.id: back}.get
    back_remote = pair.origin_link.remote_source(back.id, "audio")
    back_remote.add_sink(RecordingSink())
    await wait_until(lambda: bool(back.sinks))
    pair.far_link.close()
    assert remote.ended and sink.ended and not back.sinks
    # The peer is told (BYE): its end closes too, without waiting for the timeout.
    await wait_until(lambda: pair.origin_link.closed)
    assert not video.sinks and back_remote.ended
    assert not pair.origin.links


async def test_two_instances_dialing_each_other_at_once_share_one_link() -> None:
    endpoints: dict[str, RelayEndpoint] = {}
    sources: dict[str, dict[str, Source]] = {"node-a": {}, "node-b": {}}
    for name in ("node-a", "node-b"):
        endpoints[name] = await RelayEndpoint.open(
            node_id=name, cluster_key=KEY, lookup=sources[name].get, sfu_metrics=SfuMetrics()
        )
    a, b = endpoints["node-a"], endpoints["node-b"]
    try:
        dial_a = asyncio.ensure_future(a.connect(b.address))
        dial_b = asyncio.ensure_future(b.connect(a.address))
        link_a, link_b = await asyncio.gather(dial_a, dial_b)
        assert (link_a.peer_id, link_b.peer_id) == ("node-b", "node-a")
        # The HELLOs crossed: the lower node id's handshake won, the other was set aside.
        assert a.metrics.dropped["hello_crossed"] >= 1
        assert list(a.links.values()) == [link_a] and list(b.links.values()) == [link_b]
        # One session: media crosses both ways.
        requests: dict[str, int] = {}
        got: dict[str, RecordingSink] = {}
        # Each imports the other's audio over its own end of the one link.
        for here, link in (("node-a", link_b), ("node-b", link_a)):
            _source(sources[here], requests, f"{here}:audio", "audio")
            got[here] = RecordingSink()
            link.remote_source(f"{here}:audio", "audio").add_sink(got[here])
        await wait_until(lambda: not link_a.control_pending and not link_b.control_pending)
        await wait_until(lambda: all(s.sinks for d in sources.values() for s in d.values()))
        for here in ("node-a", "node-b"):
            sources[here][f"{here}:audio"].push(make_packet(7, "audio", size=100))
        await wait_until(lambda: all(len(s.packets) == 1 for s in got.values()))
        assert not link_a.metrics.dropped and not link_b.metrics.dropped
    finally:
        a.close()
        b.close()


async def test_a_restarted_peer_replaces_its_link(pair: Pair) -> None:
    video = _source(pair.sources, pair.requests, "site-m:video", "video")
    old_remote = pair.far_link.remote_source("site-m:video", "video")
    await _subscribed(pair, old_remote, RecordingSink())
    host, port = pair.far.address
    pair.far.close(say_bye=False)  # killed: the origin is not told
    await asyncio.sleep(0.1)  # the transport closes its socket on a later loop iteration
    pair.far = await RelayEndpoint.open(
        host, port, node_id="far", cluster_key=KEY, lookup={}.get, sfu_metrics=SfuMetrics()
    )
    pair.far_link = await pair.far.connect(pair.origin.address)
    # The origin dropped the old session (and its relay sink) for the new one.
    await wait_until(lambda: pair.origin_link.closed)
    assert not video.sinks
    (pair.origin_link,) = pair.origin.links.values()
    sink = RecordingSink()
    await _subscribed(pair, pair.far_link.remote_source("site-m:video", "video"), sink)
    video.push(make_packet(5))
    await wait_until(lambda: len(sink.packets) == 1)


async def test_tampered_replayed_and_foreign_datagrams_are_dropped_and_counted() -> None:
    sources: dict[str, Source] = {}
    requests: dict[str, int] = {}
    origin = await RelayEndpoint.open(
        node_id="origin", cluster_key=KEY, lookup=sources.get, sfu_metrics=SfuMetrics()
    )
    proxy = await open_proxy(origin.address)
    pair = await _pair_via(origin, sources, requests, proxy.address)
    try:
        video = _source(sources, requests, "site-i:video", "video")
        remote = pair.far_link.remote_source("site-i:video", "video")
        sink = RecordingSink()
        await _subscribed(pair, remote, sink)
        held: list[bytes] = []

        def hold_media(data: bytes) -> list[bytes]:
            if len(data) > 1000:
                held.append(data)  # kept back, to be sent altered, then as it was, then again
                return []
            return [data]

        proxy.to_client = hold_media
        video.push(make_packet(0))
        await wait_until(lambda: bool(held))
        (media,) = held
        assert make_packet(0).payload[:32] not in media  # encrypted on the wire

        tampered = bytearray(media)
        tampered[40] ^= 0x01  # one bit of the ciphertext
        proxy.inject_to_client(bytes(tampered))
        await wait_until(lambda: pair.far_link.metrics.dropped["bad_tag"] == 1)
        counter = bytearray(media)
        counter[12] ^= 0x01  # the counter: authenticated data, so the tag fails too
        proxy.inject_to_client(bytes(counter))
        await wait_until(lambda: pair.far_link.metrics.dropped["bad_tag"] == 2)
        assert not sink.packets
        proxy.inject_to_client(media)  # as it was sent: accepted
        await wait_until(lambda: len(sink.packets) == 1)
        proxy.inject_to_client(media)  # the same datagram again
        await wait_until(lambda: pair.far_link.metrics.dropped["replayed"] == 1)
        await asyncio.sleep(0.1)
        proxy.to_client = lambda data: [data]
        assert len(sink.packets) == 1

        # A node with another cluster key cannot open a link: its HELLO is refused.
        stranger = await RelayEndpoint.open(
            node_id="stranger", cluster_key=b"x" * 32, lookup={}.get, sfu_metrics=SfuMetrics()
        )
        try:
            with pytest.raises(TimeoutError):
                await stranger.connect(origin.address, give_up_after=1.0)
            assert origin.metrics.dropped["hello_bad_mac"] >= 1
            # Nor can it send data: from an address with no link, it is not even decrypted.
            stranger.transport.sendto(media, origin.address)
            await wait_until(lambda: origin.metrics.dropped["unknown_peer"] == 1)
            # A recorded HELLO replayed from elsewhere opens nothing.
            hello = proxy.seen_upstream[0]
            stranger.transport.sendto(hello, origin.address)
            await wait_until(lambda: origin.metrics.dropped["hello_replayed"] == 1)
            assert list(origin.links) == [proxy.address]
            stranger.transport.sendto(b"\x07garbage", origin.address)
            await wait_until(lambda: origin.metrics.dropped["malformed"] == 1)
            stranger.transport.sendto(b"\x02" + bytes(100), origin.address)  # an ACK unasked for
            await wait_until(lambda: origin.metrics.dropped["unexpected_ack"] == 1)
        finally:
            stranger.close()

        # The link still works after all that.
        video.push(make_packet(1))
        await wait_until(lambda: len(sink.packets) == 2)
        assert wire_fields(sink.packets[1]) == wire_fields(make_packet(1))
    finally:
        pair.far.close()
        origin.close()
        proxy.close()


async def _pair_via(
    origin: RelayEndpoint,
    sources: dict[str, Source],
    requests: dict[str, int],
    via: tuple[str, int],
) -> Pair:
    far = await RelayEndpoint.open(
        node_id="far",
        cluster_key=KEY,
        lookup={}.get,
        sfu_metrics=SfuMetrics(),
        unsubscribe_linger=0,
    )
    far_link = await far.connect(via)
    await wait_until(lambda: bool(origin.links))
    (origin_link,) = origin.links.values()
    return Pair(origin, far, sources, requests, origin_link, far_link)


async def test_lost_datagrams_do_not_stop_the_link() -> None:
    sources: dict[str, Source] = {}
    requests: dict[str, int] = {}
    origin = await RelayEndpoint.open(
        node_id="origin", cluster_key=KEY, lookup=sources.get, sfu_metrics=SfuMetrics()
    )
    proxy = await open_proxy(origin.address)
    lose = {"every": 3}

    def lossy() -> Callable[[bytes], list[bytes]]:
        count = 0

        def forward(data: bytes) -> list[bytes]:
            nonlocal count
            count += 1
            if lose["every"] and count % lose["every"] == 1:  # the 1st, 4th, 7th...
                return []
            return [data]

        return forward

    # Every third datagram each way is lost, from the first: the first HELLO, the first
    # ACK and the first subscribe among them; those are sent again until they get through.
    proxy.to_upstream = lossy()
    proxy.to_client = lossy()
    pair = await _pair_via(origin, sources, requests, proxy.address)
    try:
        video = _source(sources, requests, "site-j:video", "video")
        remote = pair.far_link.remote_source("site-j:video", "video")
        sink = RecordingSink()
        await _subscribed(pair, remote, sink)
        for i in range(40):
            video.push(make_packet(i))
            await asyncio.sleep(0)
        await wait_until(lambda: pair.origin_link.metrics.media_sent == 40)
        await asyncio.sleep(0.2)
        got = [p.sequence_number for p in sink.packets]
        assert 0 < len(got) < 40  # some were lost, and the rest came in order
        assert got == sorted(got)
        lose["every"] = 0
        for i in range(40, 60):
            video.push(make_packet(i))
            await asyncio.sleep(0)
        await wait_until(lambda: len(sink.packets) == len(got) + 20)
        assert pair.far_link.metrics.dropped["replayed"] == 0
        assert pair.far.metrics.dropped["unexpected_ack"] == 0
        assert (
            pair.origin_link.metrics.control_retransmitted
            + pair.far_link.metrics.control_retransmitted
            > 0
        )
    finally:
        pair.far.close()
        origin.close()
        proxy.close()


async def test_two_processes() -> None:
    count = 300
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.relay_origin",
        KEY.hex(),
        str(count),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    far = await RelayEndpoint.open(
        node_id="far", cluster_key=KEY, lookup={}.get, sfu_metrics=SfuMetrics()
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line.startswith("port ")
        link = await far.connect(("127.0.0.1", int(line.split()[1])))
        assert link.peer_id == "origin-node"
        remote = link.remote_source("origin-site:video", "video")
        sink = RecordingSink()
        remote.add_sink(sink)
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line.strip() == f"sent {count}"
        await wait_until(lambda: len(sink.packets) == count)
        expected = [wire_fields(make_packet(i)) for i in range(count)]
        assert [wire_fields(p) for p in sink.packets] == expected
        assert remote.codec == "VP8"
        remote.request_keyframe()
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line.strip() == "keyframe requests 2"
        await wait_until(lambda: remote.ended and sink.ended)
        assert await asyncio.wait_for(child.wait(), 30) == 0
    finally:
        far.close()
        if child.returncode is None:
            child.kill()
            await child.wait()
