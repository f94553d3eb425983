"""Browser test of chat and a vote going round: two Chromium sites and the host's console.

A site writes to the host (markup in it stays text); the console shows it
with the site's name; the host answers every site; the host puts a question,
both sites answer from the vote card, the console's tally counts them, the
host closes it and both sites show the result with who chose what.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.support.browser import login, open_site
from tests.support.meetings import open_meeting
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

SITES = ["05536", "05539"]
SHOTS = Path("/tmp/chat-votes-shots")  # to look at by eye; Playwright makes the folder


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def test_chat_and_a_vote_go_round_in_chromium(server, browser):
    host_api, meeting, tokens = await open_meeting(server, ["167", *SITES])
    await host_api.close()  # the console page is the host from here on
    host = await login(browser, server.base_url, "host.dinhhoa")
    await host.goto(f"{server.base_url}/meetings/{meeting}/console")
    await host.wait_for_function(
        "() => window.consoleState && window.consoleState.state === 'connected'"
    )
    a = await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens['05536']}")
    b = await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens['05539']}")

    # A site writes to the host; its markup stays text everywhere.
    hostile = '<img src=x onerror="window.pwned=1">Xin phát biểu ý kiến'
    await a.click("#toggle-chat")
    await a.select_option("#chat-to", "host")
    await a.fill("#chat-text", hostile)
    await a.click("#chat-send")
    await host.wait_for_function(
        "(text) => [...document.querySelectorAll('#talk-chat-list .talk-text')]"
        ".some(p => p.textContent === text)",
        arg=hostile,
    )
    head = await host.inner_text("#talk-chat-list li:last-child .talk-head")
    assert "Thị trấn Chợ Chu" in head and "Gửi chủ trì" in head
    await a.wait_for_function(
        "(text) => [...document.querySelectorAll('#chat-list .chat-text')]"
        ".some(p => p.textContent === text)",
        arg=hostile,
    )
    for page in (a, host):
        assert (
            await page.evaluate(
                "() => document.querySelectorAll('.talk-text img, .chat-text img').length"
            )
            == 0
        )
        assert await page.evaluate("() => window.pwned === undefined")
    assert await b.evaluate("() => window.conference.chat.messages.length") == 0

    # The host answers every site; b, whose drawer is closed, counts it unread.
    await host.fill("#talk-chat-text", "Mời các điểm cầu biểu quyết")
    await host.click("#talk-chat-send")
    await b.wait_for_selector("#chat-unread:not([hidden])")
    assert (await b.inner_text("#chat-unread")).strip() == "1"
    await b.click("#toggle-chat")
    last = await b.inner_text("#chat-list li:last-child")
    assert "Mời các điểm cầu biểu quyết" in last and "Chủ trì" in last

    # An oversized message: refused, told under the form, nothing sent.
    await b.evaluate("() => document.querySelector('#chat-text').removeAttribute('maxlength')")
    await b.fill("#chat-text", "x" * 1001)
    await b.click("#chat-send")
    await b.wait_for_selector("#chat-error:not([hidden])")
    assert "1.000" in await b.inner_text("#chat-error")

    # A vote: the host puts it, both sites answer, the host sees the tally.
    await host.fill("#talk-vote-question-input", "Thông qua kế hoạch phòng chống dịch?")
    await host.click("#talk-vote-open")
    for page in (a, b):
        await page.wait_for_selector("#vote-card:not([hidden]) .vote-option")
        assert "Thông qua kế hoạch" in await page.inner_text("#vote-question")
    await a.click("#vote-options label:nth-child(1)")
    await a.click("#vote-submit")
    await b.click("#vote-options label:nth-child(2)")
    await b.click("#vote-submit")
    await a.wait_for_function("() => window.conference.vote.choice === 0")
    await _shot(a, "site-answered")

    async def tallied() -> bool:
        text = await host.inner_text("#talk-vote-counts")
        return "Đồng ý: 1" in text and "Không đồng ý: 1" in text

    await eventually(tallied)
    assert "2/3" in await host.inner_text("#talk-vote-answered")
    ballots = await host.inner_text("#talk-vote-ballots")
    assert "Thị trấn Chợ Chu: Đồng ý" in ballots and "Xã Linh Thông: Không đồng ý" in ballots
    await _shot(host, "console-tally")

    # The host closes it; every site shows the result and who chose what.
    host.once("dialog", lambda dialog: dialog.accept())
    await host.click("#talk-vote-close")
    for page in (a, b):
        await page.wait_for_selector("#vote-card[data-state='result']")
        result = await page.inner_text("#vote-result")
        assert "1 phiếu" in result
        assert "Xã Linh Thông: Không đồng ý" in await page.inner_text("#vote-ballots")
    await _shot(b, "site-result")
    await host.wait_for_selector("#talk-vote-past li[data-vote]")
    assert not await host.is_visible("#talk-vote-live")
    await _shot(host, "console-result")
    for page in (a, b, host):
        assert page.errors == []  # type: ignore[attr-defined]
