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
