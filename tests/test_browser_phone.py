"""The meeting page on a phone, in Chromium's mobile emulation (issue 12).

390x844 portrait and 844x390 landscape, touch, a mobile viewport: every button
and picker a finger can reach is at least 44 px both ways, and nothing is wider
than the screen. Screenshots of each screen are kept (CONFERENCE_SCREENSHOTS,
else the test's temporary directory) to be looked at by eye.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import open_site, slot_stats
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

PORTRAIT = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}
TOUCH_TARGET = 44

# Every visible control a finger can press, with its size; and how wide the page is.
MEASURE = """
() => {
  const small = [];
  const controls = document.querySelectorAll('button, select, a.btn, [role="button"]');
  for (const el of controls) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('[hidden]') || el.closest('dialog:not([open])')) continue;
    if (box.width < 43.5 || box.height < 43.5) {
      small.push(`${el.id || el.className} ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  const root = document.scrollingElement;
  return {small, scrollWidth: root.scrollWidth, width: window.innerWidth,
          bodyScrollWidth: document.body.scrollWidth};
}
"""


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONFERENCE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def phone(browser: Browser) -> Page:
    context = await browser.new_context(
        viewport=PORTRAIT, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def fits(page: Page, where: str) -> None:
    measured = await page.evaluate(MEASURE)
    assert measured["small"] == [], f"{where}: controls under 44 px: {measured['small']}"
    width = measured["width"]
    assert measured["scrollWidth"] <= width, f"{where}: page scrolls sideways: {measured}"
    assert measured["bodyScrollWidth"] <= width, f"{where}: page scrolls sideways: {measured}"


async def test_the_meeting_page_fits_a_phone(server, room, browser, tmp_path):
    shots = shots_dir(tmp_path)
    desk = await open_site(
        browser, f"{server.base_url}/join/{room}?token={server.token(room, 'UBND huyện Định Hóa')}"
    )
    third = await open_site(
        browser, f"{server.base_url}/join/{room}?token={server.token(room, 'UBND xã Bảo Linh')}"
    )
    page = await phone(browser)
    name = "UBND xã Yên Bình, tỉnh Thái Nguyên"
    await page.goto(f"{server.base_url}/join/{room}?token={server.token(room, name)}")
    await page.wait_for_selector("#join-button:not([disabled])")
    await page.wait_for_selector("#mic-level-field", state="visible")
    await fits(page, "pre-join, portrait")
    await page.screenshot(path=shots / "phone-prejoin-portrait.png", full_page=True)

    await page.tap("#join-button")
    await page.wait_for_function("() => window.conference.state === 'connected'")
    ids = [await p.evaluate("() => window.conference.selfId") for p in (desk, third)]

    async def sees_both() -> bool:
        stats = await slot_stats(page)
        shown = {s["participant"] for n, s in stats.items() if s["decoded"] > 5}
        return set(ids) <= shown

    await eventually(sees_both, timeout=40)
    await page.wait_for_selector('.tile[data-slot="main"] .link-quality[data-level="4"]')
    await fits(page, "meeting, portrait")
    await page.screenshot(path=shots / "phone-meeting-portrait.png")

    # The devices dialog, then the link numbers on a tap.
    await page.tap("#toggle-devices")
    await page.wait_for_selector("#device-dialog[open] #mic-select", state="visible")
    await fits(page, "devices dialog, portrait")
    await page.screenshot(path=shots / "phone-devices-portrait.png")
    await page.tap("#device-dialog-close")
    await page.tap('.tile[data-slot="main"] .link-quality')
    await page.wait_for_selector('.tile[data-slot="main"] .link-quality-detail', state="visible")
    await page.screenshot(path=shots / "phone-quality-portrait.png")

    await page.set_viewport_size(LANDSCAPE)
    await page.wait_for_timeout(500)  # the layout settles (nothing is measured by time)
    await fits(page, "meeting, landscape")
    await page.screenshot(path=shots / "phone-meeting-landscape.png")
    # The controls stay on screen in landscape: nothing below the fold to scroll to.
    leave_box = await page.locator("#leave-button").bounding_box()
    assert leave_box and leave_box["y"] + leave_box["height"] <= LANDSCAPE["height"]
    assert not page.errors, page.errors  # type: ignore[attr-defined]
