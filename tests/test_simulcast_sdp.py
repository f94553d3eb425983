"""Simulcast in the server's offer and the site's answer (conference.media.simulcast)."""

from __future__ import annotations

from aiortc.codecs import HEADER_EXTENSIONS

from conference.media.simulcast import (
    RID_URI,
    RRID_URI,
    answered_layers,
    install_rid_extensions,
    offer_simulcast,
)
from conference.peer import PeerSession, SlotLayout
from conference.sfu import SfuMetrics
from tests.support.simulcast import add_simulcast_send, answer_with_simulcast

SDP = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:1\r\na=recvonly\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:2\r\na=sendonly\r\n"
)


def section(sdp: str, mid: str) -> list[str]:
    sections = sdp.split("\r\nm=")
    return next(s.split("\r\n") for s in sections if f"a=mid:{mid}" in s.split("\r\n"))


def test_offer_asks_one_section_for_three_layers():
    offer = offer_simulcast(SDP, "1")
    assert section(offer, "1")[-4:] == [
        "a=rid:q recv",
        "a=rid:h recv",
        "a=rid:f recv",
        "a=simulcast:recv q;h;f",
    ]
    assert "a=rid" not in "\r\n".join(section(offer, "0") + section(offer, "2"))
    assert offer.endswith("\r\n")
    assert (
        offer.replace("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\n", "").replace(
            "a=simulcast:recv q;h;f\r\n", ""
        )
        == SDP
    )


def test_answered_layers_by_name_low_to_high():
    answer = SDP.replace("a=mid:1\r\n", "a=mid:1\r\na=simulcast:send f;~q;h\r\n")
    assert answered_layers(answer, "1") == ["q", "h", "f"]  # ~q: paused, still a layer
    assert answered_layers(answer, "2") == []
    assert answered_layers(SDP, "1") == []  # no a=simulcast: one layer
    two = SDP.replace("a=mid:1\r\n", "a=mid:1\r\na=simulcast:recv x send q,z;h\r\n")
    assert answered_layers(two, "1") == ["q", "h"]  # alternatives; unknown names ignored


def test_rid_extensions_installed_once():
    install_rid_extensions()
    uris = [ext.uri for ext in HEADER_EXTENSIONS["video"]]
    assert uris.count(RID_URI) == 1 and uris.count(RRID_URI) == 1
    assert RID_URI not in [ext.uri for ext in HEADER_EXTENSIONS["audio"]]


async def test_browser_offer_and_simulcast_answer_give_the_camera_its_layers():
    session = PeerSession(owner="s", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    session.add_publish("audio")
    camera = session.add_publish("video")
    session.add_slots(SlotLayout(thumbnails=1, audio=1))
    pc = None
    try:
        offer = await session.create_offer()
        mid = session.publish_mids["video"]
        assert "a=simulcast:recv q;h;f" in section(offer, mid)
        assert sum(line.startswith("a=simulcast") for line in offer.split("\r\n")) == 1
        assert f"a=extmap:4 {RID_URI}" in section(offer, mid)
        pc, answer = await answer_with_simulcast(session, offer, "q;h;~f")
        await session.apply_answer(answer)
        assert list(camera.layers) == ["q", "h", "f"]
        assert [layer.id for layer in camera.layers.values()] == [
            "s:video:q",
            "s:video:h",
            "s:video:f",
        ]
        transceiver = next(t for t in session.pc.getTransceivers() if t.mid == mid)
        negotiated = {ext.uri: ext.id for ext in transceiver._headerExtensions}
        assert (negotiated[RID_URI], negotiated[RRID_URI]) == (4, 5)
    finally:
        if pc is not None:
            await pc.close()
        await session.close()


async def test_an_answer_without_simulcast_feeds_the_f_layer():
    metrics = SfuMetrics()
    session = PeerSession(owner="s", metrics=metrics, ice_servers=[], video_codec="h264")
    session.add_publish("audio")
    camera = session.add_publish("video")
    session.add_slots(SlotLayout(thumbnails=1, audio=0))
    main, thumb = session.slots
    pc = None
    try:
        offer = await session.create_offer()
        # Slots and the recorder take the camera before the answer: the layers exist.
        main.assign(camera)
        thumb.assign(camera)
        assert (main.layer, thumb.layer) == ("h", "q")
        pc, answer = await answer_with_simulcast(session, offer)
        plain = answer.replace("a=simulcast:send q;h;f\r\n", "")
        assert add_simulcast_send(plain, "none") == plain
        await session.apply_answer(plain)
        assert list(camera.layers) == ["f"] and camera.layers["f"].id == "s:video:f"
        # One stream, counted as f: every slot that took the camera now takes it.
        assert (main.layer, thumb.layer) == ("f", "f")
        assert camera.wanted_layers() == ["f"]
    finally:
        if pc is not None:
            await pc.close()
        await session.close()


async def test_layers_the_answer_does_not_send_end_and_their_slots_move():
    session = PeerSession(owner="s", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    camera = session.add_publish("video")
    session.add_slots(SlotLayout(thumbnails=0, audio=0))
    (main,) = session.slots
    pc = None
    try:
        offer = await session.create_offer()
        main.assign(camera)
        main.set_layer("f")
        f = camera.layers["f"]
        pc, answer = await answer_with_simulcast(session, offer, "q;h")
        await session.apply_answer(answer)
        assert list(camera.layers) == ["q", "h"] and f.ended
        assert main.layer == "h"
    finally:
        if pc is not None:
            await pc.close()
        await session.close()


async def test_the_recording_layer_is_known_only_once_the_answer_settled_the_layers():
    session = PeerSession(owner="s", metrics=SfuMetrics(), ice_servers=[], video_codec="vp8")
    camera = session.add_publish("video")
    pc = None
    try:
        assert camera.recording_layer() is camera  # no offer yet: one stream
        offer = await session.create_offer()
        assert camera.recording_layer() is None  # the answer may end any of q, h, f
        pc, answer = await answer_with_simulcast(session, offer)
        await session.apply_answer(answer.replace("a=simulcast:send q;h;f\r\n", ""))
        assert camera.recording_layer() is camera.layers["f"]
    finally:
        if pc is not None:
            await pc.close()
        await session.close()
