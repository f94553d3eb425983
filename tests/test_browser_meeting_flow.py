"""Browser test of a three-tier meeting: schedule, roll call, hand, floor.

A district host schedules a meeting for Định Hóa (the district and its 23
communes) through the pages, three commune site accounts join with Chromium,
the console's roll call shows 3 connected and 21 not joined, a site raises
its hand and is given the floor, and its video becomes the main video of the
other two (slot events and getStats).
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.api_client import VN
from tests.support.browser import SLOT_STATS, decoded_from, login
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-kiem-thu"
COMMUNES = {"site.chochu": "05536", "site.linhthong": "05539", "site.lamvy": "05542"}


def local(moment: datetime.datetime) -> str:
    """The value of a datetime-local input, in the server's zone."""
    return moment.strftime("%Y-%m-%dT%H:%M")


async def test_district_host_runs_a_meeting_of_its_communes(server, browser):
    server.add_user("host.dinhhoa", "host", "167", name="UBND huyện Định Hóa", password=PASSWORD)
    for username, site in COMMUNES.items():
        server.add_user(username, "site", site, password=PASSWORD)

    # The host schedules the district and all its communes with one click.
    host = await login(browser, server.base_url, "host.dinhhoa")
    await host.goto(f"{server.base_url}/meetings/new")
    now = datetime.datetime.now(VN)
    await host.fill("#title", "Họp giao ban huyện Định Hóa")
    await host.fill("#agenda", "1. Tình hình phòng chống dịch\n2. Ý kiến các xã")
    await host.fill("#start", local(now))
    await host.fill("#end", local(now + datetime.timedelta(hours=1)))
    await host.click('button[data-subtree="167"]')
    await host.wait_for_function(
        "() => document.querySelector('#selected-count')?.dataset.count === '24'"
    )
    await host.click("#save-button")
    await host.wait_for_function(
        "() => /^\\/meetings\\/[a-z0-9-]+$/.test(location.pathname) && !location.pathname.endsWith('/new')"
    )
    meeting = host.url.rstrip("/").split("/")[-1]
    await host.wait_for_function(
        "() => document.querySelector('#invitation-count')?.dataset.count === '24'"
    )

    # The console: 24 sites, none joined yet.
    await host.goto(f"{server.base_url}/meetings/{meeting}/console")
    await host.wait_for_function(
        "() => window.consoleState && window.consoleState.state === 'connected' && window.consoleState.sites.size === 24"
    )

    # Three commune site accounts join from their own page.
    sites: dict[str, Page] = {}
    for username, code in COMMUNES.items():
        page = await login(browser, server.base_url, username)
        await page.goto(f"{server.base_url}/meetings/{meeting}/join")
        await page.wait_for_selector("#join-button:not([disabled])")
        await page.click("#join-button")
        await page.wait_for_function(
            "() => window.conference && window.conference.state === 'connected'", timeout=30_000
        )
        sites[code] = page

    counts = (
        "() => { const s = [...window.consoleState.sites.values()];"
        " return [s.filter(r => r.status === 'connected').length,"
        " s.filter(r => r.status === 'not-joined').length]; }"
    )

    async def three_connected():
        return await host.evaluate(counts) == [3, 21]

    await eventually(three_connected)
    tiers = await host.inner_text("#tier-counts")
    assert "3/23" in tiers
    # The attendance record downloads from the console as a spreadsheet.
    async with host.expect_download() as download_info:
        await host.click("#attendance-download")
    download = await download_info.value
    assert download.suggested_filename.startswith("diem-danh-")
    saved = Path(await download.path())
    table = (await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")).splitlines()
    assert table[0].startswith("STT,") and len(table) == 1 + 24
    assert sum("Có mặt" in line for line in table) == 3

    # A commune raises its hand; the host gives it the floor from the queue.
    speaker = "05539"
    await sites[speaker].click("#toggle-hand")
    await host.wait_for_selector(f'#hands [data-hand-site="{speaker}"]')
    await host.click(f'#hands button[data-give-floor="{speaker}"]')
    await host.wait_for_function(f"() => window.consoleState.floor === {speaker!r}")

    others = [code for code in COMMUNES.values() if code != speaker]
    for code in others:
        page = sites[code]
        await page.wait_for_function(f"() => window.conference.slots.main === {speaker!r}")

    async def main_decodes_speaker(page: Page, minimum: int) -> bool:
        stats = await page.evaluate(SLOT_STATS) or {}
        main = stats.get("main", {})
        return main.get("participant") == speaker and main.get("decoded", 0) >= minimum

    for code in others:
        page = sites[code]
        before = (await page.evaluate(SLOT_STATS))["main"]["decoded"]
        await eventually(lambda p=page, b=before: main_decodes_speaker(p, b + 20))
        assert decoded_from(await page.evaluate(SLOT_STATS), speaker) >= before + 20
    await sites[speaker].wait_for_function(f"() => window.conference.floor === {speaker!r}")
    assert all(not p.errors for p in [host, *sites.values()])  # type: ignore[attr-defined]
