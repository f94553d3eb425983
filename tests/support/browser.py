"""Shared by the browser tests: how to start Debian's chromium, a site's and a user's page,
getStats helpers, and what a site's main tile and a console row show.

The ``browser`` fixture (tests/conftest.py) launches it with :data:`FLAGS`.
"""

from __future__ import annotations

import os

from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.support.accounts import PASSWORD

CHROMIUM = os.environ.get("CONFERENCE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]

# Per slot: who is in it and what its receiver decoded, read through getStats().
SLOT_STATS = """
async () => {
  const c = window.conference;
  if (!c || !c.pc) return null;
  const byTrack = new Map();
  for (const r of c.pc.getReceivers()) if (r.track) byTrack.set(r.track.id, r);
  const out = {};
  for (const el of document.querySelectorAll('[data-slot] video, audio[data-slot]')) {
    const holder = el.closest('[data-slot]');
    const slot = holder.dataset.slot;
    const track = el.srcObject && el.srcObject.getTracks()[0];
    const receiver = track && byTrack.get(track.id);
    let decoded = 0, packets = 0;
    if (receiver) {
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') {
          decoded += s.framesDecoded || 0;
          packets += s.packetsReceived || 0;
        }
      });
    }
    out[slot] = {participant: c.slots[slot] || null, decoded, packets};
  }
  return out;
}
"""


# A site's main tile: who is in it, its weak-link marker, and what its video receiver
# got (getStats), for the thin-link tests.
MAIN_TILE = """
async () => {
  const c = window.conference;
  const tile = document.querySelector('.tile[data-slot="main"]');
  const marker = tile && tile.querySelector('.link-marker');
  let packets = 0, decoded = 0;
  const mid = c.slotMids && c.slotMids.main;
  // Between two connections (the page reconnecting) there is no peer: nothing received.
  const stats = c.pc ? await c.pc.getStats() : new Map();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid) {
      packets += s.packetsReceived || 0;
      decoded += s.framesDecoded || 0;
    }
  });
  return {
    site: c.slots.main || null,
    paused: c.linkPaused,
    downlink: c.downlinkKbps,
    marker: !!marker && !marker.hidden && marker.offsetParent !== null,
    markerText: marker ? marker.textContent.trim() : '',
    dimmed: !!tile && tile.classList.contains('is-link-paused'),
    changes: window.__markerChanges || 0,
    packets,
    decoded,
  };
}
"""

# The link cell and the loss/RTT cells of a site's row on the host's console page.
CONSOLE_ROW = """
(site) => {
  const row = document.querySelector(`.rc-site[data-site-id="${site}"]`);
  if (!row) return null;
  const cell = (name) => row.querySelector(`[data-col="${name}"]`);
  const link = cell('link');
  return {
    kbps: (link.querySelector('.link-kbps') || {}).textContent || '',
    layers: (link.querySelector('.link-layers') || {}).textContent || '',
    bad: link.classList.contains('is-bad'),
    title: link.title,
    rtt: cell('rtt').textContent,
    loss: cell('loss').textContent,
  };
}
"""


def decoded_from(stats: dict[str, dict], who: str) -> int:
    return sum(
        s["decoded"]
        for slot, s in stats.items()
        if s["participant"] == who and not slot.startswith("audio")
    )


def audio_from(stats: dict[str, dict], who: str) -> int:
    return sum(
        s["packets"]
        for slot, s in stats.items()
        if s["participant"] == who and slot.startswith("audio")
    )


NETWORK_CHANGED = "ERR_NETWORK_CHANGED"


async def open_site(browser: Browser, url: str, timeout_ms: float = 30_000) -> Page:
    """A new page joined through the join link ``url``, its page errors kept in ``page.errors``.

    ``timeout_ms`` bounds the wait for the join button and for the connection
    (a browser in a network namespace behind a thin link needs longer).
    """
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    # The page's own console, so that a join that does not connect says where it stopped.
    said: list[str] = []
    page.on("console", lambda message: said.append(f"{message.type}: {message.text}"))
    # A new interface on this host (a thin link's veth, an address it gains a
    # moment later) makes Chromium fail the loads in flight with
    # ERR_NETWORK_CHANGED: the page then never gets its modules. A user would
    # reload; so does this, twice at most, and only for that error.
    for attempt in range(3):
        said.clear()
        await page.goto(url)
        await page.wait_for_selector("#join-button:not([disabled])", timeout=timeout_ms)
        await page.wait_for_load_state("load")
        if attempt < 2 and any(NETWORK_CHANGED in line for line in said):
            continue
        await page.click("#join-button")
        try:
            await page.wait_for_function(
                "() => window.conference && window.conference.state === 'connected'",
                timeout=timeout_ms,
            )
            return page
        except PlaywrightTimeout:
            changed = any(NETWORK_CHANGED in line for line in said)
            if changed and attempt < 2:
                continue
            state = await page.evaluate(JOIN_STATE)
            raise AssertionError(
                f"{url} did not connect in {timeout_ms / 1000:.0f} s: {state}; "
                f"page errors {errors}; console {said[-30:]}"
            ) from None
    raise AssertionError("unreachable")


# Where a join stands: the page's state and its peer connection's.
JOIN_STATE = """
() => {
  const c = window.conference;
  const pc = c && c.pc;
  return {
    state: c ? c.state : null,
    connection: pc ? pc.connectionState : null,
    ice: pc ? pc.iceConnectionState : null,
    gathering: pc ? pc.iceGatheringState : null,
    signaling: pc ? pc.signalingState : null,
  };
}
"""


async def slot_stats(page: Page) -> dict[str, dict]:
    """What each slot of the page shows and decoded (:data:`SLOT_STATS`)."""
    return await page.evaluate(SLOT_STATS) or {}


async def login(browser: Browser, base_url: str, username: str, password: str = PASSWORD) -> Page:
    """A new page logged in as ``username`` through the login page, on the meetings list."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base_url}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-button")
    await page.wait_for_url("**/meetings**")
    return page
