"""A site presents its screen to two others in real Chromium (its fake capture, 1920x1080).

The others decode the presentation in their main slot at the size it is
captured (getStats ``frameWidth``, the element's ``videoWidth``), the
presenter's camera goes to a thumbnail, and stopping (the button, or the
browser ending the capture) puts the sites' cameras back.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from tests.support.browser import decoded_from, open_site, slot_stats
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

# What the main slot shows: who is in it, the presenter, and what its receiver decoded.
MAIN_SLOT = """
async () => {
  const c = window.conference;
  const tile = document.querySelector('.tile[data-slot="main"]');
  const video = tile.querySelector('video');
  let frameWidth = 0, frameHeight = 0, decoded = 0;
  const mid = c.slotMids && c.slotMids.main;
  const stats = c.pc ? await c.pc.getStats() : new Map();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid) {
      frameWidth = s.frameWidth || 0;
      frameHeight = s.frameHeight || 0;
      decoded = s.framesDecoded || 0;
    }
  });
  return {
    site: c.slots.main || null,
    presenter: c.presenter,
    frameWidth, frameHeight, decoded,
    videoWidth: video.videoWidth, videoHeight: video.videoHeight,
    label: tile.querySelector('.label').textContent.trim(),
    presentation: tile.classList.contains('is-presentation'),
  };
}
"""


async def main_slot(page: Page) -> dict[str, Any]:
    return await page.evaluate(MAIN_SLOT)


async def test_a_site_presents_its_screen_in_everyone_s_main_slot(server, room, browser):
    names = ["UBND tỉnh Thái Nguyên", "UBND huyện Định Hóa", "UBND xã Yên Bình"]
    urls = [f"{server.base_url}/join/{room}?token={server.token(room, n)}" for n in names]
    pages = [await open_site(browser, url) for url in urls]
    ids = [await p.evaluate("() => window.conference.selfId") for p in pages]
    presenter, others = pages[0], pages[1:]
    button = presenter.locator("#toggle-present")
    assert await button.is_visible()
    assert (await button.inner_text()).strip() == "Trình bày màn hình"

    async def start() -> tuple[int, int]:
        await button.click()
        await presenter.wait_for_function("() => window.conference.presenting === 'live'")
        size = await presenter.evaluate(
            "() => { const s = window.conference.screenTrack.getSettings();"
            " return [s.width, s.height]; }"
        )
        # The track says it carries text, and its one encoding keeps its resolution.
        sent = await presenter.evaluate(
            """() => {
              const c = window.conference;
              const sender = c.pc.getSenders().find((s) => s.track === c.screenTrack);
              const p = sender.getParameters();
              return {hint: c.screenTrack.contentHint, pref: p.degradationPreference,
                      encodings: p.encodings.length};
            }"""
        )
        assert sent == {"hint": "detail", "pref": "maintain-resolution", "encodings": 1}, sent
        return size[0], size[1]

    width, height = await start()
    assert (width, height) == (1920, 1080)

    async def everyone_sees_the_screen() -> bool:
        for page in others:
            main = await main_slot(page)
            if not (
                main["site"] == ids[0]
                and main["presenter"] == ids[0]
                and main["presentation"]
                and main["frameWidth"] == width
                and main["frameHeight"] == height
                and main["videoWidth"] == width
                and main["decoded"] >= 10
            ):
                return False
        return True

    await eventually(everyone_sees_the_screen, timeout=60)
    label = (await main_slot(others[0]))["label"]
    assert label == f"{names[0]} đang trình bày", label

    # The presenter's camera is a thumbnail meanwhile, and it still decodes.
    async def camera_in_a_thumbnail() -> bool:
        for page in others:
            stats = await slot_stats(page)
            thumbs = {k: v for k, v in stats.items() if k.startswith("thumb-")}
            if decoded_from(thumbs, ids[0]) < 10:
                return False
        return True

    await eventually(camera_in_a_thumbnail, timeout=40)
    # The third site may not present meanwhile: its button says who presents.
    third = others[1].locator("#toggle-present")
    await others[1].wait_for_function("() => document.querySelector('#toggle-present').disabled")
    assert names[0] in (await third.get_attribute("title") or "")

    # Stop with the button: the main slots go back to the sites' cameras.
    await button.click()
    await presenter.wait_for_function("() => window.conference.presenting === 'idle'")

    async def back_to_cameras() -> bool:
        for page in others:
            main = await main_slot(page)
            if main["presenter"] is not None or main["presentation"]:
                return False
            if main["frameWidth"] in (0, width) or main["videoWidth"] == width:
                return False
        return True

    await eventually(back_to_cameras, timeout=60)
    assert await presenter.evaluate("() => window.conference.screenTrack") is None

    # Again, and this time the browser ends the capture (its "Stop sharing" bar
    # fires the track's ended event): the presentation ends the same way.
    await start()
    await eventually(everyone_sees_the_screen, timeout=60)
    await presenter.evaluate(
        "() => window.conference.screenTrack.dispatchEvent(new Event('ended'))"
    )
    await presenter.wait_for_function("() => window.conference.presenting === 'idle'")
    await eventually(back_to_cameras, timeout=60)
    assert all(not p.errors for p in pages), [p.errors for p in pages]  # type: ignore[attr-defined]
