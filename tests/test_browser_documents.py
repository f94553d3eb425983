"""Browser test of paperless documents: the host uploads, sites list and read, the host shows one.

The host uploads a PDF on the meeting's page (Chromium, logged in); a site in
the meeting page lists it and downloads the same bytes; the host shows it
from the console at page 2, and the site's page opens it there (an iframe of
the document's URL at ``#page=2``, which serves the PDF); a site joining
later opens it too; the host turns to page 3, then stops showing it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.accounts import PASSWORD
from tests.support.browser import login, open_site
from tests.support.documents import pdf_bytes
from tests.support.meetings import open_meeting
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser

# Chromium's built-in PDF viewer (an extension; its id is fixed in Chromium's source).
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
NAME = "Báo cáo kinh tế - xã hội quý 3.pdf"

# What the frame points at, and the bytes that address serves (fetched by the page itself).
FRAME = """
async () => {
  const frame = document.querySelector('#document-frame');
  const viewer = document.querySelector('#document-viewer');
  const src = frame.getAttribute('src');
  if (viewer.hidden || !src || src === 'about:blank') return { open: false };
  const response = await fetch(src);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return {
    open: true,
    src,
    page: frame.dataset.page,
    status: response.status,
    type: response.headers.get('content-type'),
    sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''),
    banner: document.querySelector('#document-banner').hidden
      ? null : document.querySelector('#document-banner-text').textContent,
  };
}
"""


async def frame_state(page: Page) -> dict:
    return await page.evaluate(FRAME)


async def test_host_uploads_a_site_reads_it_and_the_shown_document_opens_on_every_site(
    server, browser, tmp_path: Path
):
    host_api, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    await host_api.close()
    pdf = pdf_bytes(4)
    digest = hashlib.sha256(pdf).hexdigest()
    upload = tmp_path / NAME
    upload.write_bytes(pdf)

    # The host uploads it on the meeting's page.
    host = await login(browser, server.base_url, "host.dinhhoa", PASSWORD)
    await host.goto(f"{server.base_url}/meetings/{meeting}")
    await host.wait_for_selector(f"#documents-file-{meeting}", state="attached")
    await host.set_input_files(f"#documents-file-{meeting}", str(upload))
    await host.wait_for_selector(f"#documents .documents-name:text-is('{NAME}')")
    await host.screenshot(path=str(tmp_path / "meeting-page.png"), full_page=True)

    # A site in the meeting lists it and downloads the same bytes.
    site = await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens['05536']}")
    await site.wait_for_selector("#toggle-documents:not([hidden])")
    await site.click("#toggle-documents")
    await site.wait_for_selector(f"#documents-list .documents-name:text-is('{NAME}')")
    href = await site.get_attribute("#documents-list .documents-download", "href")
    assert href is not None and "key=" in href and "token" not in href
    downloaded = await site.evaluate(
        """async (href) => {
             const r = await fetch(href);
             const b = new Uint8Array(await r.arrayBuffer());
             const d = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
             return {status: r.status, disposition: r.headers.get('content-disposition'),
                     sha256: [...d].map((x) => x.toString(16).padStart(2, '0')).join('')};
           }""",
        href,
    )
    assert downloaded["status"] == 200 and downloaded["sha256"] == digest
    assert downloaded["disposition"].startswith("attachment;")
    await site.click("#toggle-documents")  # closes the list again
    assert (await frame_state(site))["open"] is False

    # The host shows it from the console at page 2: the site's page opens it there.
    console = await host.context.new_page()
    await console.goto(f"{server.base_url}/meetings/{meeting}/console")
    item = f"#console-documents .documents-item:has(.documents-name:text-is('{NAME}'))"
    await console.wait_for_selector(item)
    await console.fill(f"{item} .documents-page", "2")
    await console.click(f"{item} .documents-show")
    await console.wait_for_selector("#console-documents .documents-shown:not([hidden])")
    await console.screenshot(path=str(tmp_path / "console-showing.png"), full_page=True)

    await site.wait_for_function(
        "() => document.querySelector('#document-frame')?.dataset.page === '2'"
    )
    seen = await frame_state(site)
    assert seen["open"] and seen["src"].endswith("#page=2"), seen
    assert f"/api/meetings/{meeting}/documents/" in seen["src"] and "inline=1" in seen["src"]
    assert (seen["status"], seen["type"], seen["sha256"]) == (200, "application/pdf", digest)
    assert seen["banner"] is not None and "trang 2" in seen["banner"], seen
    # Chromium's own PDF viewer took the frame: its extension's page is the frame's child.
    frame_element = await site.query_selector("#document-frame")
    assert frame_element is not None
    frame = await frame_element.content_frame()
    assert frame is not None and frame.url.endswith("#page=2")
    await wait_until(lambda: any(f.url.startswith(PDF_VIEWER) for f in frame.child_frames))
    await site.screenshot(path=str(tmp_path / "site-shown.png"))  # looked at: page 2 shown

    # A site joining later opens it too, at the same page.
    late = await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens['05539']}")
    await late.wait_for_function(
        "() => document.querySelector('#document-frame')?.dataset.page === '2'"
    )
    late_seen = await frame_state(late)
    assert late_seen["open"] and late_seen["sha256"] == digest, late_seen

    # The host turns to page 3: every site follows.
    await console.fill(f"{item} .documents-page", "3")
    await console.dispatch_event(f"{item} .documents-page", "change")
    for page in (site, late):
        await page.wait_for_function(
            "() => document.querySelector('#document-frame')?.dataset.page === '3'"
        )
        assert (await frame_state(page))["src"].endswith("#page=3")

    # And stops showing it: the viewers close.
    await console.click("#console-documents .documents-hide")
    for page in (site, late):
        await page.wait_for_function("() => document.querySelector('#document-viewer').hidden")
        assert (await frame_state(page))["open"] is False
        assert await page.is_hidden("#document-banner")
    for page in (host, site, late):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
