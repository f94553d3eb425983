"""Chromium sites and what they send: a muted microphone sends nothing at all.

Real Chromium pages (fake camera and microphone) against the real server;
everything is read from the pages' own getStats.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.support.browser import open_site
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

# Bytes sent so far per outbound stream ("audio", "video:q", ...), and the audio sender's state.
OUTBOUND = """
async () => {
  const pc = window.conference.pc;
  const out = {bytes: {}, audioActive: null};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp') out.bytes[s.rid ? `${s.kind}:${s.rid}` : s.kind] = s.bytesSent;
  });
  for (const tr of pc.getTransceivers()) {
    const track = tr.sender && tr.sender.track;
    if (track && track.kind === 'audio') {
      out.audioActive = tr.sender.getParameters().encodings.map((e) => e.active);
    }
  }
  return out;
}
"""


async def outbound(page: Page) -> dict:
    return await page.evaluate(OUTBOUND)


async def audio_bytes_grow(page: Page, wait_ms: int = 1500) -> bool:
    before = (await outbound(page))["bytes"].get("audio", 0)
    await page.wait_for_timeout(wait_ms)
    return (await outbound(page))["bytes"].get("audio", 0) > before


async def test_a_muted_microphone_sends_no_packets(server, room, browser):
    urls = [f"{server.base_url}/join/{room}?token={server.token(room, n)}" for n in ("A", "B")]
    a, b = [await open_site(browser, url) for url in urls]
    await eventually(lambda: audio_bytes_grow(a))
    assert (await outbound(a))["audioActive"] == [True]

    await a.click("#toggle-mic")
    await a.wait_for_function("() => window.conference.micMuted")
    await a.wait_for_function(
        """async () => {
          const tr = window.conference.pc.getTransceivers().find(
            (t) => t.sender.track && t.sender.track.kind === 'audio');
          return tr.sender.getParameters().encodings.every((e) => e.active === false);
        }"""
    )
    # Give packets in flight time to be counted, then: not a byte more.
    await a.wait_for_timeout(500)
    assert not await audio_bytes_grow(a, 2000)

    await a.click("#toggle-mic")
    await a.wait_for_function("() => !window.conference.micMuted")
    await eventually(lambda: audio_bytes_grow(a))
    assert (await outbound(a))["audioActive"] == [True]
    assert not a.errors and not b.errors  # type: ignore[attr-defined]


# Per video slot: who is in it, and what its receiver decodes (frame width, frames, keyframes).
SLOT_VIDEO = """
async () => {
  const c = window.conference;
  const byMid = {};
  (await c.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      byMid[s.mid] = {width: s.frameWidth || 0, decoded: s.framesDecoded || 0,
                      keyframes: s.keyFramesDecoded || 0};
    }
  });
  const out = {};
  for (const [slot, mid] of Object.entries(c.slotMids)) {
    if (byMid[mid]) out[slot] = {...byMid[mid], site: c.slots[slot] || null};
  }
  return out;
}
"""

CAMERA = """
async () => {
  const pc = window.conference.pc;
  let bytes = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') bytes += s.bytesSent;
  });
  const tr = pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video');
  return {bytes, active: tr.sender.getParameters().encodings.map((e) => e.active),
          publish: window.conference.publishVideo};
}
"""

# Bytes this page sent on its selected ICE candidate pair (media, RTCP, STUN).
UPLINK = """
async () => {
  let bytes = 0;
  (await window.conference.pc.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') bytes += s.bytesSent;
  });
  return bytes;
}
"""

DISTRICT = "167"
COMMUNES = ["05536", "05539", "05542", "05545", "05548", "05551", "05554", "05560", "05563"]


async def join_page(browser, url: str, mic_muted: bool = False) -> Page:
    """A Chromium site joined through ``url`` (its microphone off before joining if asked)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.wait_for_selector("#join-button:not([disabled])")
    if mic_muted:
        await page.click("#prejoin-mic")
        await page.wait_for_function("() => window.conference.micMuted")
    await page.click("#join-button")
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=60_000
    )
    return page


async def test_layers_by_slot_paused_unseen_site_and_resume_on_spotlight(server, browser):
    """Three Chromium sites, seven WHIP cameras, then a fourth Chromium site nobody sees.

    Each site shows 1 main + 8 thumbnails, so the eleventh site to join is in
    nobody's slots: its camera is told to pause. The host spotlights it and
    everyone's main slot decodes it again.
    """
    import time

    from tests.support.console import Console
    from tests.support.media import PacketTrack, encode_opus, encode_vp8
    from tests.support.meetings import open_meeting
    from tests.support.peers import whip_publish

    host, meeting, tokens = await open_meeting(server, [DISTRICT, *COMMUNES, "05566"])
    console = Console(
        await host.session.ws_connect(
            server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
    )
    url = f"{server.base_url}/join/{meeting}?token=" + "{}"
    whips = []
    pages: dict[str, Page] = {}
    try:
        seen = [DISTRICT, "05536", "05539"]
        for code in seen:
            pages[code] = await join_page(browser, url.format(tokens[code]))
        video, audio = encode_vp8(frames=60), encode_opus(2.0)
        for code in COMMUNES[2:]:
            pc, response, _ = await whip_publish(
                server.base_url, meeting, tokens[code], [PacketTrack(video), PacketTrack(audio)]
            )
            assert response.status == 201
            whips.append(pc)
        unseen = "05566"
        pages[unseen] = await join_page(browser, url.format(tokens[unseen]), mic_muted=True)

        # Every Chromium answer took the offer's three layers.
        for page in pages.values():
            answer = await page.evaluate("() => window.conference.pc.localDescription.sdp")
            assert "a=simulcast:send q;h;f" in answer

        # Nobody shows the last site: its camera is paused, and it sends nothing.
        d = pages[unseen]
        await d.wait_for_function(
            "() => Array.isArray(window.conference.publishVideo)"
            " && window.conference.publishVideo.length === 0",
            timeout=30_000,
        )
        await d.wait_for_function(
            """async () => {
              const tr = window.conference.pc.getTransceivers().find(
                (t) => t.sender.track && t.sender.track.kind === 'video');
              return tr.sender.getParameters().encodings.every((e) => !e.active);
            }"""
        )
        await d.wait_for_timeout(1000)
        before = (await d.evaluate(CAMERA))["bytes"]
        await d.wait_for_timeout(3000)
        assert (await d.evaluate(CAMERA))["bytes"] == before
        assert not await audio_bytes_grow(d, 1000)  # muted: no audio either
        # Its whole uplink now (RTCP for the 9 streams it receives, STUN), for the report.
        sent = await d.evaluate(UPLINK)
        await d.wait_for_timeout(5000)
        uplink = (await d.evaluate(UPLINK) - sent) * 8 / 5 / 1000
        print(f"uplink of a silent (muted), unseen Chromium site: {uplink:.1f} kbit/s")

        # The host spotlights 05536: the district's main slot shows it large,
        # its thumbnail of 05539 small.
        assert (await console.command("spotlight", "05536"))["type"] == "result"
        a = pages[DISTRICT]

        async def sizes_fit() -> bool:
            slots = await a.evaluate(SLOT_VIDEO)
            main = slots.get("main", {})
            thumbs = [s for n, s in slots.items() if n != "main" and s["site"] == "05539"]
            return (
                main.get("site") == "05536"
                and main.get("width", 0) >= 640
                and bool(thumbs)
                and 0 < thumbs[0]["width"] <= 320
            )

        await eventually(sizes_fit, timeout=60)

        # Spotlight the paused site: the district's main slot decodes it.
        keyframes = (await a.evaluate(SLOT_VIDEO))["main"]["keyframes"]
        asked = time.monotonic()
        assert (await console.command("spotlight", unseen))["type"] == "result"

        async def main_shows_unseen() -> bool:
            main = (await a.evaluate(SLOT_VIDEO))["main"]
            return main["site"] == unseen and main["keyframes"] > keyframes

        await eventually(main_shows_unseen, timeout=30, interval=0.05)
        resumed = time.monotonic() - asked
        print(
            f"resume latency (spotlight -> first keyframe decoded at another site): {resumed:.2f} s"
        )
        decoded = (await a.evaluate(SLOT_VIDEO))["main"]["decoded"]

        async def keeps_decoding() -> bool:
            return (await a.evaluate(SLOT_VIDEO))["main"]["decoded"] >= decoded + 20

        await eventually(keeps_decoding, timeout=30)
        camera = await d.evaluate(CAMERA)
        assert camera["publish"] and any(camera["active"]) and camera["bytes"] > before
        assert all(not p.errors for p in pages.values())  # type: ignore[attr-defined]
    finally:
        for pc in whips:
            await pc.close()
        await console.close()
        await host.close()
