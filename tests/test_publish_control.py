"""Paused senders: a site sends only the camera layers someone takes (``publish``), and
hears which of its slots its own downlink paused (``link``).

Unit tests drive :class:`PublishDemand` with explicit times, and a real
:class:`Room` with real Sources and Slots (the media plane decides what each
camera's layers are wanted for); the last test runs the server with aiortc
sites over the WebSocket protocol.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from conference.publish_demand import UNWANTED_GRACE_SECONDS, PublishDemand, in_rid_order
from conference.rooms.events import LinkChanged, PublishLayers
from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.sfu import SfuMetrics, Source
from conference.slot import Slot, Subscription
from conference.tokens import Role
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient

GRACE = UNWANTED_GRACE_SECONDS


# -- the demand tracker -----------------------------------------------------------------


def test_rids_go_low_to_high_by_name() -> None:
    assert in_rid_order(["f", "q", "h", "q"]) == ["q", "h", "f"]
    assert in_rid_order(["x", "f"]) == ["f", "x"]


def test_a_layer_is_added_at_once_and_dropped_only_after_the_grace() -> None:
    demand = PublishDemand(["q", "h", "f"], now=0.0)
    assert demand.active == ["q", "h", "f"]  # what a page sends before it is told anything
    assert demand.update(["h"], 0.0) is None  # q and f: unwanted from now on
    assert demand.update(["h"], GRACE - 0.25) is None
    assert demand.update(["h"], GRACE) == ["h"]
    assert demand.update(["h"], 10.0) is None  # told once
    assert demand.update(["q", "h"], 10.0) == ["q", "h"]  # at once
    assert demand.update(["q"], 11.0) is None  # h unwanted from 11
    assert demand.update(["q", "h"], 12.0) is None  # wanted again in time: nothing moved
    assert demand.update(["q"], 12.5) is None  # unwanted again: the grace starts over
    assert demand.update(["q"], 12.5 + GRACE - 0.25) is None
    assert demand.update(["q"], 12.5 + GRACE) == ["q"]
    assert demand.update([], 20.0) is None
    assert demand.update([], 20.0 + GRACE) == []  # nobody sees it: the camera pauses
    assert demand.changes == 4


def test_an_unwanted_moment_shorter_than_the_grace_sends_nothing() -> None:
    demand = PublishDemand(["f"], now=0.0)
    seen = [["f"], [], [], ["f"], [], ["f"]]
    told = [demand.update(wanted, 0.5 * i) for i, wanted in enumerate(seen)]
    assert told == [None] * len(seen) and demand.active == ["f"]


# -- a room of real sources and slots ---------------------------------------------------


class Site:
    """A browser site's media-plane parts: a simulcast (or single-layer) camera and its slots."""

    def __init__(
        self,
        site_id: str,
        metrics: SfuMetrics,
        layers: tuple[str, ...] = ("q", "h", "f"),
        thumbnails: int = 2,
        client: str = "browser",
    ) -> None:
        self.inbox: list[object] = []
        self.camera = Source(
            source_id=f"{site_id}:video", owner=site_id, kind="video", metrics=metrics
        )
        if layers:
            self.camera.add_layers(layers)
        slots = [Slot("main", "video", metrics)]
        slots += [Slot(f"thumb-{i + 1}", "video", metrics) for i in range(thumbnails)]
        self.subscription = Subscription(slots, cname=f"c-{site_id}")
        self.participant = Participant(
            id=site_id,
            name=site_id,
            role=Role.PARTICIPANT,
            client=client,
            sources={"video": self.camera},
            slots=self.subscription.slots,
            notify=self.inbox.append,
        )

    def told(self) -> list[list[str]]:
        """The ``publish`` messages this site got, in order."""
        return [m.video for m in self.inbox if isinstance(m, PublishLayers)]

    def links(self) -> list[LinkChanged]:
        return [m for m in self.inbox if isinstance(m, LinkChanged)]


@pytest.fixture
async def live_room():
    the_room = Room("r", "Họp", "vp8")
    yield the_room
    await the_room.close()


def check(room: Room, at: float) -> None:
    room.publish_control.check(room.participants.values(), at)


async def test_an_unseen_camera_pauses_and_a_spotlight_resumes_it_at_once(live_room) -> None:
    room = live_room
    metrics = SfuMetrics()
    # No thumbnails: each site sees one other site, so the third one is unseen.
    a, b, c = (Site(s, metrics, thumbnails=0) for s in ("A", "B", "C"))
    for site in (a, b, c):
        room.join(site.participant)
    assert room.participants["A"].plan == {"main": "B"}
    assert {b.participant.plan["main"], c.participant.plan["main"]} == {"A"}
    # The slots picked layers of the cameras they show: A's is wanted, C's is not.
    assert a.camera.wanted_layers() and c.camera.wanted_layers() == []
    start = time.monotonic()
    check(room, start + GRACE + 0.1)
    assert c.told() == [[]]  # nobody sees C: its camera pauses
    assert a.told() == [a.camera.wanted_layers()]  # only the layers its viewers take
    told_a = len(a.told())
    check(room, start + GRACE + 5)
    assert len(a.told()) == told_a and c.told() == [[]]  # sent on change only

    # The host spotlights C: everyone else's main slot waits for C's keyframe,
    # so C is told in the same call, before any tick.
    room.set_spotlight("C")
    assert c.told() == [[], c.camera.wanted_layers()] and c.camera.wanted_layers()


async def test_a_thumbnail_takes_the_small_layer_and_the_main_slot_a_larger_one(live_room) -> None:
    room = live_room
    metrics = SfuMetrics()
    a, b, c = Site("A", metrics), Site("B", metrics), Site("C", metrics)
    for site in (a, b, c):
        room.join(site.participant)
    room.set_spotlight("A")
    # B and C show A in main; A shows B and C (one of them in a thumbnail).
    thumb = next(s for s in a.subscription.slots if s.name == "thumb-1")
    assert thumb.source is not None and thumb.layer == "q"
    main_of_b = b.subscription.slots[0]
    assert main_of_b.source is a.camera and main_of_b.layer in ("h", "f")
    check(room, time.monotonic() + GRACE + 0.1)
    assert a.told()[-1] == in_rid_order([main_of_b.layer])  # q and the other layers pause
    shown_in_thumb = b if thumb.source is b.camera else c
    assert "q" in shown_in_thumb.told()[-1]


async def test_single_layer_cameras_and_whip_publishers(live_room) -> None:
    room = live_room
    metrics = SfuMetrics()
    plain = Site("P", metrics, layers=(), thumbnails=0)  # a browser without simulcast
    whip = Site("W", metrics, layers=(), thumbnails=0, client="whip")
    viewer = Site("V", metrics, layers=(), thumbnails=0)
    for site in (whip, viewer, plain):  # W shows V; V and P show W
        room.join(site.participant)
    room.set_spotlight("W")  # everyone shows W: P is unseen
    start = time.monotonic()
    check(room, start + GRACE + 0.1)
    assert plain.told() == [[]]  # a single encoding: off ...
    assert whip.told() == []  # a WHIP publisher cannot be told anything
    room.set_spotlight("P")
    assert plain.told() == [[], ["f"]]  # ... and on again, as "f"


async def test_a_site_that_leaves_and_comes_back_starts_untold(live_room) -> None:
    room = live_room
    metrics = SfuMetrics()
    a, b, c = (Site(s, metrics, thumbnails=0) for s in ("A", "B", "C"))
    for site in (a, b, c):
        room.join(site.participant)
    check(room, time.monotonic() + GRACE + 0.1)
    assert c.told() == [[]]
    assert room.publish_control.active_layers("C") == []
    again = Site("C", metrics, thumbnails=0)  # a reconnection: a new page sends every layer
    room.join(again.participant)
    assert room.publish_control.active_layers("C") == ["q", "h", "f"]
    check(room, time.monotonic() + GRACE + 0.1)
    assert again.told() == [[]]


async def test_link_tells_the_site_which_of_its_slots_its_downlink_paused(live_room) -> None:
    room = live_room
    metrics = SfuMetrics()
    a, b, c = Site("A", metrics), Site("B", metrics), Site("C", metrics)
    for site in (a, b, c):
        room.join(site.participant)
    slots = {s.name: s for s in a.subscription.slots}
    room.layers_changed(a.participant, a.subscription)
    assert a.links() == []  # nothing paused, and nothing was: no message
    slots["thumb-1"].set_layer(None)  # the layer policy: no layer fits
    room.layers_changed(a.participant, a.subscription)
    [told] = a.links()
    assert told.paused == ["thumb-1"]
    assert told.to_wire() == {
        "type": "link",
        "paused": ["thumb-1"],
        "downlink_kbps": (
            None
            if a.subscription.downlink_bps is None
            else round(a.subscription.downlink_bps / 1000)
        ),
    }
    room.layers_changed(a.participant, a.subscription)
    assert len(a.links()) == 1  # the same paused set: not told again
    slots["thumb-1"].set_layer("q")
    room.layers_changed(a.participant, a.subscription)
    assert [m.paused for m in a.links()] == [["thumb-1"], []]
    # A replaced connection's late callback reaches nobody.
    room.join(Site("A", metrics).participant)
    slots["main"].set_layer(None)
    room.layers_changed(a.participant, a.subscription)
    assert len(a.links()) == 2


def test_the_wire_forms() -> None:
    assert PublishLayers(video=["q", "h"]).to_wire() == {
        "type": "publish",
        "video": ["q", "h"],
        "audio": True,
    }
    assert PublishLayers(video=[]).to_wire()["video"] == []
    assert LinkChanged(paused=["thumb-3"], downlink_kbps=850).to_wire() == {
        "type": "link",
        "paused": ["thumb-3"],
        "downlink_kbps": 850,
    }


# -- through the server ------------------------------------------------------------------


async def test_the_server_pauses_an_unseen_site_and_resumes_it_when_seen(server, room) -> None:
    """Three aiortc sites without thumbnails: A shows B, B and C show A, nobody shows C."""
    video = encode_vp8(frames=60)
    audio = encode_opus(1.0)
    sites = {
        name: SignalingClient(
            server.base_url,
            room,
            server.token(room, name),
            publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
            thumbnails=0,
        )
        for name in ("A", "B", "C")
    }
    try:
        for site in sites.values():
            await site.connect()
            await site.wait_for(lambda m: m["type"] == "offer")
        for site in sites.values():
            await site.wait_for(lambda m: m["type"] == "slots" and m["assignments"].get("main"))
        ids = {
            name: site.of_type("welcome")[0]["participant"]["id"] for name, site in sites.items()
        }
        names = {ident: name for name, ident in ids.items()}
        mains = {name: names[site.current_slots()["main"]] for name, site in sites.items()}
        unseen = ({"A", "B", "C"} - set(mains.values())).pop()
        # aiortc answers without simulcast: one layer, "f"; paused after the grace.
        paused = await sites[unseen].wait_for(lambda m: m["type"] == "publish", timeout=10)
        assert paused == {"type": "publish", "video": [], "audio": True}
        seen = [name for name in sites if name != unseen]
        assert all(not sites[name].of_type("publish") for name in seen)

        async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/metrics") as r:
            text = await r.text()
        assert "\nconference_cameras_paused 1\n" in text
        assert '\nconference_camera_layers_sending{layer="f"} 2\n' in text
        assert "\nconference_publish_messages_total 1\n" in text
        # Each site's main slot forwards the one ("f") layer of a single-layer camera.
        assert '\nconference_slots_layer{layer="f"} 3\n' in text
        assert f'\nconference_room_sites{{room="{room}"}} 3\n' in text

        # A site that showed someone leaves; the unseen site takes its place.
        leaver = next(name for name in seen if mains[name] != unseen and name in mains.values())
        # It leaves as the page's "Rời cuộc họp" does: a connection lost without a
        # `leave` keeps its place 15 s for its return (test_reconnect_slots.py).
        gone = sites.pop(leaver)
        await gone.send({"type": "leave"})
        await gone.close()
        resumed = await sites[unseen].wait_for(
            lambda m: m["type"] == "publish" and m["video"], timeout=15
        )
        assert resumed["video"] == ["f"]
        await asyncio.sleep(0)
    finally:
        for site in sites.values():
            await site.close()
