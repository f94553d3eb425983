"""The minutes' buttons in Chromium: the meeting's page and the host console download them.

The host sees "Tải biên bản (PDF)" and "(Word)" on the meeting's page and
"Biên bản (PDF)" / "(Word)" in the console, and each click saves the file;
an invited site's account sees no such button.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.accounts import PASSWORD
from tests.support.browser import login
from tests.support.meetings import open_meeting

pytestmark = pytest.mark.browser

TITLE = "Họp triển khai nhiệm vụ tháng 12"


async def _download(page: Page, selector: str, into: Path) -> tuple[str, bytes]:
    """Click ``selector``; the file the browser saved (its suggested name, its bytes)."""
    async with page.expect_download() as waiting:
        await page.click(selector)
    download = await waiting.value
    target = into / download.suggested_filename
    await download.save_as(target)
    return download.suggested_filename, target.read_bytes()


async def test_the_host_downloads_the_minutes_from_the_meeting_page_and_the_console(
    server, browser, tmp_path: Path
):
    host_api, meeting, _tokens = await open_meeting(server, ["167", "05536"], title=TITLE)
    await host_api.close()
    server.add_user("site.chochu", "site", "05536", password=PASSWORD)

    host = await login(browser, server.base_url, "host.dinhhoa")
    await host.goto(f"{server.base_url}/meetings/{meeting}")
    pdf_button = host.locator("#minutes-pdf-link")
    await pdf_button.wait_for(state="visible")
    assert (await pdf_button.inner_text()).strip() == "Tải biên bản (PDF)"
    name, data = await _download(host, "#minutes-pdf-link", tmp_path)
    assert re.fullmatch(r"bien-ban-hop-trien-khai-nhiem-vu-thang-12-\d{4}-\d{2}-\d{2}\.pdf", name)
    assert data.startswith(b"%PDF-")
    name, data = await _download(host, "#minutes-docx-link", tmp_path)
    assert name.endswith(".docx") and data.startswith(b"PK")

    await host.goto(f"{server.base_url}/meetings/{meeting}/console")
    await host.wait_for_function(
        "() => window.consoleState && window.consoleState.state === 'connected'"
    )
    assert (await host.locator("#minutes-pdf").inner_text()).strip() == "Biên bản (PDF)"
    name, data = await _download(host, "#minutes-pdf", tmp_path)
    assert name.endswith(".pdf") and data.startswith(b"%PDF-")
    name, data = await _download(host, "#minutes-docx", tmp_path)
    assert name.endswith(".docx") and data.startswith(b"PK")
    assert not host.errors  # type: ignore[attr-defined]

    # An invited site's account reads the meeting's page, without the minutes.
    site = await login(browser, server.base_url, "site.chochu")
    await site.goto(f"{server.base_url}/meetings/{meeting}")
    await site.locator("#meeting-title", has_text=TITLE).wait_for()
    assert await site.locator("#minutes-pdf-link").is_hidden()
    assert await site.locator("#minutes-docx-link").is_hidden()
