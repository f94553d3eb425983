"""A site presents its screen to two others in real Chromium (its fake capture, 1920x1080).

The others decode the presentation in their main slot at the size it is
captured (getStats ``frameWidth``, the element's ``videoWidth``), the
presenter's camera goes to a thumbnail, and stopping (the button, or the
browser ending the capture) puts the sites' cameras back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.support.browser import decoded_from, login, open_site, slot_stats
from tests.support.meetings import open_meeting
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


SHOTS = Path("/tmp/presenting-shots")  # to look at by eye; Playwright makes the folder


async def test_the_host_allows_and_stops_a_presentation_from_the_console(server, browser):
    host_api, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    await host_api.close()  # the console page is the host from here on
    host = await login(browser, server.base_url, "host.dinhhoa")
    await host.goto(f"{server.base_url}/meetings/{meeting}/console")
    await host.wait_for_function(
        "() => window.consoleState && window.consoleState.state === 'connected'"
    )
    presenter = await open_site(
        browser, f"{server.base_url}/join/{meeting}?token={tokens['05536']}"
    )
    viewer = await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens['05539']}")
    await host.wait_for_function("() => window.consoleState.present === 2")
    assert (await host.inner_text("#presenting-now")).strip() == (
        "Không có điểm cầu nào đang trình bày."
    )

    # Presenting needs the host's approval: the site waits, the console lists it.
    await host.check("#presenting-approval")
    await host.wait_for_function("() => window.consoleState.presenting.approval === true")
    await presenter.click("#toggle-present")
    await presenter.wait_for_function("() => window.conference.presenting === 'pending'")
    assert "chờ chủ trì cho phép" in await presenter.inner_text("#notice-banner")
    request = host.locator('.presenting-request[data-site="05536"]')
    await request.wait_for()
    assert "Thị trấn Chợ Chu" in await request.inner_text()
    await request.locator('button[data-action="allow-presenting"]').click()

    # Allowed: it presents, the other site has it in its main slot, the console says who.
    await presenter.wait_for_function("() => window.conference.presenting === 'live'")
    await viewer.wait_for_function(
        "() => window.conference.presenter === '05536' && window.conference.slots.main === '05536'"
    )

    async def viewer_decodes_the_screen() -> bool:
        main = await main_slot(viewer)
        return main["presentation"] and main["frameWidth"] == 1920 and main["decoded"] >= 5

    await eventually(viewer_decodes_the_screen, timeout=60)
    await host.wait_for_function(
        "() => document.querySelector('#presenting-now').textContent.includes('đang trình bày')"
    )
    assert not await host.locator("#stop-presenting").is_hidden()
    await _shot(viewer, "viewer-during")
    await _shot(presenter, "presenter-during")
    await _shot(host, "console-during")

    # The host stops it: the presenter's page stops its capture and says why.
    await host.click("#stop-presenting")
    await presenter.wait_for_function(
        "() => window.conference.presenting === 'idle' && window.conference.screenTrack === null"
    )
    assert "Chủ trì đã dừng" in await presenter.inner_text("#notice-banner")
    await viewer.wait_for_function("() => window.conference.presenter === null")
    await host.wait_for_function(
        "() => window.consoleState.presenting.presenter === null"
        " && document.querySelector('#stop-presenting').hidden"
    )
    for page in (host, presenter, viewer):
        assert not page.errors, page.errors  # type: ignore[attr-defined]


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"))
