"""Browser tests: Debian's chromium, driven by Playwright, joins through join links.

A missing browser is a failure, never a skip: ``scripts/test`` installs it.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.support.browser import audio_from, decoded_from, open_site, slot_stats
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser


async def site_ids(page: Page) -> tuple[str, set[str]]:
    me = await page.evaluate("() => window.conference.selfId")
    everyone = await page.evaluate("() => [...window.conference.participants.keys()]")
    return me, set(everyone) - {me}


async def test_three_sites_decode_each_other_and_survive_a_leave(server, room, browser):
    names = ["UBND tỉnh Thái Nguyên", "UBND huyện Định Hóa", "UBND xã Yên Bình"]
    urls = [f"{server.base_url}/join/{room}?token={server.token(room, n)}" for n in names]
    pages = [await open_site(browser, url) for url in urls]
    ids = [(await site_ids(p))[0] for p in pages]

    async def everyone_decodes_everyone() -> bool:
        for index, page in enumerate(pages):
            stats = await slot_stats(page)
            for other in set(ids) - {ids[index]}:
                if decoded_from(stats, other) < 10 or audio_from(stats, other) < 10:
                    return False
        return True

    await eventually(everyone_decodes_everyone)
    # Names are shown on the tiles.
    labels = await pages[0].locator("[data-slot] .label").all_inner_texts()
    assert {names[1], names[2]} <= {label.strip() for label in labels}

    await pages[1].click("#leave-button")
    await pages[1].wait_for_selector("#left-screen", state="visible")
    for page in (pages[0], pages[2]):
        await page.wait_for_function("() => window.conference.participants.size === 2")
        await page.wait_for_function(
            f"() => !Object.values(window.conference.slots).includes({ids[1]!r})"
        )

    remaining = {0: ids[2], 2: ids[0]}
    before = {i: decoded_from(await slot_stats(pages[i]), remaining[i]) for i in remaining}
    for i, other in remaining.items():
        # Still decoding the remaining site: 20 more frames (waited for, not timed).
        async def advanced(i: int = i, other: str = other) -> bool:
            return decoded_from(await slot_stats(pages[i]), other) > before[i] + 20

        await eventually(advanced, timeout=25)
    assert all(not p.errors for p in pages), [p.errors for p in pages]  # type: ignore[attr-defined]


async def test_mute_is_shown_to_others_and_language_switches(server, room, browser):
    a = await open_site(
        browser, f"{server.base_url}/join/{room}?token={server.token(room, 'Xã A')}"
    )
    b = await open_site(
        browser, f"{server.base_url}/join/{room}?token={server.token(room, 'Xã B')}"
    )
    a_id = (await site_ids(a))[0]
    await a.click("#toggle-mic")
    await a.click("#toggle-cam")
    assert await a.get_attribute("#toggle-mic", "aria-pressed") == "true"
    await b.wait_for_function(
        f"() => {{ const p = window.conference.participants.get({a_id!r});"
        " return p && p.audio_muted && p.video_muted; }"
    )
    await b.wait_for_selector(f'.tile[data-participant="{a_id}"].video-off')
    # Vietnamese first, English on request.
    assert "Rời cuộc họp" in await b.inner_text("#leave-button")
    await b.click("#lang-toggle")
    assert "Leave" in await b.inner_text("#leave-button")
    await a.click("#toggle-mic")
    await b.wait_for_function(f"() => !window.conference.participants.get({a_id!r}).audio_muted")


async def test_sites_reconnect_after_the_server_restarts(tmp_path, browser):
    from tests.support.server import start_server

    first = start_server(tmp_path / "data")
    port = int(first.base_url.rsplit(":", 1)[1])
    room = first.create_room()
    pages = [
        await open_site(browser, f"{first.base_url}/join/{room}?token={first.token(room, n)}")
        for n in ("Xã A", "Xã B")
    ]
    ids = [(await site_ids(p))[0] for p in pages]

    async def both_decode(minimum: int) -> bool:
        for index, page in enumerate(pages):
            if decoded_from(await slot_stats(page), ids[1 - index]) < minimum:
                return False
        return True

    await eventually(lambda: both_decode(10))
    first.stop()
    await pages[0].wait_for_function(
        "() => ['reconnecting', 'connecting', 'disconnected'].includes(window.conference.state)"
    )
    second = start_server(tmp_path / "data", port=port)
    try:
        for page in pages:
            await page.wait_for_function(
                "() => window.conference.state === 'connected'", timeout=60_000
            )
        # New peer connections: their decoders count from zero again.
        await eventually(lambda: both_decode(10), timeout=60)
    finally:
        second.stop()


async def test_browser_decodes_a_whip_publisher(server, room, browser):
    from tests.support.media import PacketTrack, encode_opus, encode_vp8
    from tests.support.peers import whip_publish

    token = server.token(room, "Camera hội trường", site_id="camera-1")
    pc, response, body = await whip_publish(
        server.base_url,
        room,
        token,
        [
            PacketTrack(encode_vp8(frames=90, width=640, height=360, gop=30)),
            PacketTrack(encode_opus(2)),
        ],
    )
    try:
        assert response.status == 201, body
        page = await open_site(
            browser, f"{server.base_url}/join/{room}?token={server.token(room, 'Tỉnh')}"
        )
        await eventually(lambda: _decodes(page, "camera-1", 30))
        label = await page.inner_text('.tile[data-participant="camera-1"] .label')
        assert "Camera hội trường" in label
    finally:
        await pc.close()


async def _decodes(page: Page, who: str, minimum: int) -> bool:
    return decoded_from(await slot_stats(page), who) >= minimum


async def test_bad_links_get_a_clear_page(server, room, browser):
    import time
    from datetime import timedelta

    page = await (await browser.new_context()).new_page()
    expired = server.token(room, "Xã", ttl=timedelta(minutes=1), issued_at=time.time() - 3600)
    response = await page.goto(f"{server.base_url}/join/{room}?token={expired}")
    assert response is not None and response.status == 401
    assert "hết hạn" in await page.inner_text("body")
    response = await page.goto(
        f"{server.base_url}/join/khong-co?token={server.token('khong-co', 'X')}"
    )
    assert response is not None and response.status == 404
    assert "Không tìm thấy phòng họp" in await page.inner_text("body")
