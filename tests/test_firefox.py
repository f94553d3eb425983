"""Firefox interop: Debian's Firefox ESR in a meeting with Chromium, and over WHIP/WHEP.

Real Firefox (``tests/support/firefox.py``, fake camera and microphone)
against the real server; what each side decoded is read from its own
getStats, as the Chromium tests read it. A missing Firefox is a failure,
never a skip: ``scripts/test`` installs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from playwright.async_api import Page

from conference.media.simulcast import answered_layers
from conference.sfu import sort_rids
from conference.tokens import Role
from tests.support.browser import SLOT_STATS, audio_from, decoded_from, open_site, slot_stats
from tests.support.firefox import Firefox
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import capture_frames, client_pc, whip_publish
from tests.support.server import ServerProcess
from tests.support.waiting import eventually, wait_until

pytestmark = pytest.mark.browser

# Per video slot: who is in it and its receiver's frame width (getStats, by mid).
SLOT_WIDTHS = """
async () => {
  const c = window.conference;
  const byMid = {};
  (await c.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      byMid[s.mid] = {width: s.frameWidth || 0, decoded: s.framesDecoded || 0};
    }
  });
  const out = {};
  for (const [slot, mid] of Object.entries(c.slotMids)) {
    if (byMid[mid]) out[slot] = {...byMid[mid], site: c.slots[slot] || null};
  }
  return out;
}
"""

# What this page's camera sends, per rid ("" without simulcast): frames and width.
CAMERA_LAYERS = """
async () => {
  const out = {};
  // The camera's section only: the screen section (presenting) sends nothing here.
  const mid = window.conference.publishMids.video;
  (await window.conference.pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.mid === undefined || s.mid === mid)) {
      const key = s.rid || '';
      if (out[key] && out[key].frames > (s.framesSent || 0)) return;  // no mid in the stats
      out[key] = {frames: s.framesSent || 0, width: s.frameWidth || 0};
    }
  });
  return out;
}
"""

# Make this page's peer connection see offers without simulcast lines, as a
# browser that ignores them would: its answer then sends one stream.
IGNORE_SIMULCAST = """
const original = RTCPeerConnection.prototype.setRemoteDescription;
RTCPeerConnection.prototype.setRemoteDescription = function (description) {
  const sdp = description.sdp
    .split('\\r\\n')
    .filter((line) => !line.startsWith('a=rid:') && !line.startsWith('a=simulcast:'))
    .join('\\r\\n');
  return original.call(this, {type: description.type, sdp});
};
"""


@pytest.fixture
async def firefoxes() -> AsyncIterator[Callable[[], Firefox]]:
    """Start Firefox instances on demand (each its own profile); all are stopped at the end."""
    started: list[Firefox] = []

    def start() -> Firefox:
        instance = Firefox()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


async def call(ff: Firefox, function: str) -> Any:
    """Call the page-side JS ``function`` (an arrow function's source) and return its result."""
    return await ff.evaluate(f"return ({function})();")


async def join_firefox(ff: Firefox, url: str, before_join: str | None = None) -> str:
    """Join the meeting at ``url`` in Firefox like a person does; returns its site id."""
    await ff.goto(url)
    await ff.wait_for(
        "document.querySelector('#join-button') && !document.querySelector('#join-button').disabled"
    )
    if before_join:
        await ff.evaluate(before_join)
    await ff.evaluate("document.querySelector('#join-button').click();")
    await ff.wait_for("window.conference && window.conference.state === 'connected'", timeout=60)
    return str(await ff.evaluate("return window.conference.selfId;"))


async def firefox_slot_stats(ff: Firefox) -> dict[str, dict]:
    return await call(ff, SLOT_STATS) or {}


async def chromium_id(page: Page) -> str:
    return str(await page.evaluate("() => window.conference.selfId"))


# A WHEP viewer (recvonly audio + video) or a WHIP publisher (the fake camera and
# microphone) in the page: the offer goes out with every candidate (no trickle),
# the answer comes back from the POST. Kept on window.__pc for the stats below.
WHIP_WHEP_CLIENT = """
async (kind, url, token) => {
  const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
  window.__pc = pc;
  if (kind === 'whep') {
    pc.addTransceiver('video', {direction: 'recvonly'});
    pc.addTransceiver('audio', {direction: 'recvonly'});
  } else {
    const stream = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: {ideal: 640}, height: {ideal: 360}}});
    for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  }
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/sdp', 'Authorization': `Bearer ${token}`},
    body: pc.localDescription.sdp,
  });
  const body = await response.text();
  if (response.status !== 201) return {status: response.status, body};
  await pc.setRemoteDescription({type: 'answer', sdp: body});
  return {status: response.status, location: response.headers.get('Location')};
}
"""

# What window.__pc received and sent so far (getStats), per kind.
PC_TOTALS = """
async () => {
  const out = {videoDecoded: 0, videoWidth: 0, audioPackets: 0, sentVideoFrames: 0,
               sentAudioPackets: 0, state: window.__pc.connectionState};
  (await window.__pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.videoDecoded += s.framesDecoded || 0;
      out.videoWidth = s.frameWidth || out.videoWidth;
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets += s.packetsReceived || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'video') out.sentVideoFrames += s.framesSent || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'audio') out.sentAudioPackets += s.packetsSent || 0;
  });
  return out;
}
"""


def vp8_widths(frames: list[bytes]) -> list[int]:
    """Decode captured VP8 frames (from the first keyframe); the width of each decoded picture."""

    codec = av.CodecContext.create("vp8", "r")
    widths: list[int] = []
    for data in frames:
        try:
            pictures = codec.decode(av.Packet(data))
        except av.error.InvalidDataError:
            continue  # before the first keyframe
        widths += [picture.width for picture in pictures]
    return widths


async def meeting_pair(server, room, browser, ff: Firefox, before_join: str | None = None):
    """A Firefox site and a Chromium site in ``room``, each decoding the other's video and audio."""
    fox = await join_firefox(
        ff,
        f"{server.base_url}/join/{room}?token={server.token(room, 'UBND xã Firefox')}",
        before_join,
    )
    page = await open_site(
        browser, f"{server.base_url}/join/{room}?token={server.token(room, 'UBND xã Chromium')}"
    )
    chrome = await chromium_id(page)

    async def both_ways() -> bool:
        theirs = await firefox_slot_stats(ff)
        ours = await slot_stats(page)
        return (
            decoded_from(theirs, chrome) >= 30
            and audio_from(theirs, chrome) >= 20
            and decoded_from(ours, fox) >= 30
            and audio_from(ours, fox) >= 20
        )

    await eventually(both_ways, timeout=60)
    return fox, page


async def test_firefox_and_chromium_sites_decode_each_other_with_simulcast(
    server, room, browser, firefoxes
):
    ff = firefoxes()
    fox, page = await meeting_pair(server, room, browser, ff)

    # Firefox takes the offer's three layers and sizes them as the page asks.
    answer = str(await ff.evaluate("return window.conference.pc.localDescription.sdp;"))
    camera_mid = str(
        await ff.evaluate(
            "return window.conference.pc.getTransceivers().find("
            "(t) => t.sender.track && t.sender.track.kind === 'video').mid;"
        )
    )
    assert answered_layers(answer, camera_mid) == ["q", "h", "f"]
    sent = await eventually(lambda: _sending_layers(ff, 2))
    widths = [sent[rid]["width"] for rid in sort_rids(list(sent))]
    assert widths == sorted(set(widths)), sent  # a higher rid is a larger picture

    # The Chromium site's main tile shows Firefox in one of the layers Firefox sends.
    async def chromium_shows_a_layer() -> dict | None:
        main = (await page.evaluate(SLOT_WIDTHS)).get("main", {})
        widths = {layer["width"] for layer in (await call(ff, CAMERA_LAYERS)).values()}
        return main if main.get("site") == fox and main.get("width") in widths - {0} else None

    await eventually(chromium_shows_a_layer)
    assert not page.errors  # type: ignore[attr-defined]
    assert not ff.page_errors(server.base_url)
    assert "Traceback" not in server.log()


async def _sending_layers(ff: Firefox, count: int) -> dict | None:
    """Firefox's camera layers once at least ``count`` of them have sent frames."""
    layers: dict = await call(ff, CAMERA_LAYERS)
    sending = {rid: s for rid, s in layers.items() if s["frames"] > 0 and s["width"] > 0}
    return sending if len(sending) >= count else None


async def test_a_firefox_answer_without_simulcast_sends_one_stream(
    server, room, browser, firefoxes
):
    """A browser that ignores the offer's simulcast lines (older Firefox): one stream, full size."""
    ff = firefoxes()
    fox, page = await meeting_pair(server, room, browser, ff, before_join=IGNORE_SIMULCAST)
    answer = str(await ff.evaluate("return window.conference.pc.localDescription.sdp;"))
    assert "a=simulcast" not in answer
    layers: dict = await call(ff, CAMERA_LAYERS)
    assert list(layers) == [""], layers  # one encoding, no rid

    # The Chromium site gets that one stream as Firefox sends it (no layer to pick).
    async def same_size() -> bool:
        main = (await page.evaluate(SLOT_WIDTHS)).get("main", {})
        sent = (await call(ff, CAMERA_LAYERS))[""]["width"]
        return main.get("site") == fox and main.get("width") == sent > 0

    await eventually(same_size)
    assert not page.errors  # type: ignore[attr-defined]
    assert not ff.page_errors(server.base_url)
    assert "Traceback" not in server.log()


async def test_firefox_watches_a_whip_publisher_over_whep(server, room, firefoxes):

    video = encode_vp8(frames=90, width=640, height=360, gop=30)
    pc, response, body = await whip_publish(
        server.base_url,
        room,
        server.token(room, "Camera hội trường", site_id="camera-1"),
        [PacketTrack(video), PacketTrack(encode_opus(2))],
    )
    try:
        assert response.status == 201, body
        ff = firefoxes()
        await ff.goto(f"{server.base_url}/login")  # any page of the server: fetch is same-origin
        viewer = server.token(room, "Màn hình Firefox", role=Role.VIEWER)
        result = await ff.evaluate(
            f"return ({WHIP_WHEP_CLIENT})('whep', {server.base_url + '/whep/' + room!r}, {viewer!r});"
        )
        assert result["status"] == 201, result

        async def decodes() -> dict | None:
            totals: dict = await call(ff, PC_TOTALS)
            good = totals["videoDecoded"] >= 30 and totals["audioPackets"] >= 30
            return totals if good else None

        totals = await eventually(decodes, timeout=60)
        assert totals["videoWidth"] == 640
        assert not ff.page_errors(server.base_url)
    finally:
        await pc.close()


async def test_firefox_publishes_over_whip_to_a_whep_viewer(server, room, firefoxes):

    ff = firefoxes()
    await ff.goto(f"{server.base_url}/login")
    publisher = server.token(room, "Camera Firefox", site_id="firefox-cam")
    result = await ff.evaluate(
        f"return ({WHIP_WHEP_CLIENT})('whip', {server.base_url + '/whip/' + room!r}, {publisher!r});"
    )
    assert result["status"] == 201, result
    await eventually(lambda: _firefox_sent(ff))

    pc = client_pc()
    try:
        video_t = pc.addTransceiver("video", direction="recvonly")
        audio_t = pc.addTransceiver("audio", direction="recvonly")
        frames = capture_frames(video_t.receiver)
        sounds = capture_frames(audio_t.receiver)
        status, body = await _whep_offer(server, room, pc, Role.VIEWER)
        assert status == 201, body
        await wait_until(lambda: len(frames.frames) >= 30 and len(sounds.frames) >= 30, timeout=60)
        # Decodable as sent: Firefox encodes the 640x360 capture (smaller only if it adapts).
        widths = vp8_widths(frames.frames)
        assert len(widths) >= 20 and all(0 < w <= 640 for w in widths), widths
    finally:
        await pc.close()
    assert not ff.page_errors(server.base_url)
    assert "Traceback" not in server.log()


async def _firefox_sent(ff: Firefox) -> bool:
    totals: dict = await call(ff, PC_TOTALS)
    return totals["sentVideoFrames"] >= 10 and totals["sentAudioPackets"] >= 10


async def _whep_offer(
    server: ServerProcess, room: str, pc: RTCPeerConnection, role: Role
) -> tuple[int, str]:
    """POST ``pc``'s offer to the room's WHEP endpoint and apply the answer."""

    await pc.setLocalDescription(await pc.createOffer())
    token = server.token(room, "Màn hình trung tâm", role=role)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}/whep/{room}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response,
    ):
        body = await response.text()
    if response.status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    return response.status, body
