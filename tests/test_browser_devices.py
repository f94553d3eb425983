"""Devices, links and phones on the meeting page, in real Chromium (issue 12).

The pre-join check names a refused camera and still lets the site join to watch
and listen; the level meter moves with the fake microphone and falls when it is
muted; a camera, microphone and speaker picked during the meeting take over
without renegotiation while the other site keeps decoding; a site whose
connection drops comes back by itself into the same slot on the other sites'
pages and the same roll-call row; an http page that is not localhost says
the browser needs https. The phone layout is in tests/test_browser_phone.py.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.browser import CHROMIUM, FLAGS, open_site, slot_stats
from tests.support.console import Console
from tests.support.meetings import open_meeting
from tests.support.server import ServerProcess
from tests.support.waiting import eventually, wait_until

pytestmark = pytest.mark.browser


async def launch(args: list[str]) -> tuple[object, Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    playwright = await async_playwright().start()
    instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    return playwright, instance


@pytest.fixture
async def cameras() -> AsyncIterator[Browser]:
    """Chromium with three fake cameras (and its three fake microphones and outputs).

    Its second fake camera delivers Y16 (depth) frames, which no encoder takes:
    the tests switch between the first and the third (I420 and MJPEG).
    """
    flags = [f for f in FLAGS if f != "--use-fake-device-for-media-stream"]
    playwright, instance = await launch(
        [*flags, "--use-fake-device-for-media-stream=device-count=3"]
    )
    yield instance
    await instance.close()
    await playwright.stop()  # type: ignore[attr-defined]


@pytest.fixture
async def refusing() -> AsyncIterator[Browser]:
    """Chromium whose camera and microphone permission prompts are answered "Block"."""
    flags = [f for f in FLAGS if f != "--use-fake-ui-for-media-stream"]
    playwright, instance = await launch([*flags, "--deny-permission-prompts"])
    yield instance
    await instance.close()
    await playwright.stop()  # type: ignore[attr-defined]


def join_url(server: ServerProcess, room: str, name: str) -> str:
    return f"{server.base_url}/join/{room}?token={server.token(room, name)}"


async def prejoin(browser: Browser, url: str) -> Page:
    """A page on its pre-join screen, its media check finished."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.wait_for_selector("#join-button:not([disabled])")
    return page


async def decoded_in(page: Page, slot: str, who: str) -> int:
    """Frames ``page`` decoded in ``slot`` while ``who`` is in it (0 if someone else is)."""
    stats = (await slot_stats(page)).get(slot)
    return stats["decoded"] if stats and stats["participant"] == who else 0


async def slot_of(page: Page, who: str) -> str | None:
    return await page.evaluate(
        "(who) => Object.entries(window.conference.slots).find(([s, p]) => p === who"
        " && !s.startsWith('audio'))?.[0] ?? null",
        who,
    )


async def test_prejoin_reports_a_refused_camera_and_joins_to_watch(server, room, refusing, browser):
    page = await prejoin(refusing, join_url(server, room, "Xã Từ Chối"))
    await page.wait_for_selector("#media-warning", state="visible")
    assert await page.evaluate("() => window.conference.mediaWarning") == "media.denied"
    warning = await page.inner_text("#media-warning")
    assert "chưa được phép dùng camera và micrô" in warning
    assert "vẫn có thể tham gia để xem và nghe" in warning
    assert "Không có camera" in await page.inner_text("#prejoin-cam")
    # English too, on request.
    await page.click("#lang-toggle")
    assert "not allowed to use the camera" in await page.inner_text("#media-warning")
    await page.click("#lang-toggle")

    # Joining still works: the site watches and listens, and sees the other site.
    other = await open_site(browser, join_url(server, room, "Xã Có Camera"))
    other_id = await other.evaluate("() => window.conference.selfId")
    await page.click("#join-button")
    await page.wait_for_function("() => window.conference.state === 'connected'")
    await eventually(lambda: decoded_in(page, "main", other_id), timeout=40)
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_level_meter_moves_with_the_microphone_and_falls_when_muted(server, room, browser):
    page = await prejoin(browser, join_url(server, room, "Xã Thử Micrô"))
    await page.wait_for_selector("#mic-level-field", state="visible")

    async def readings(count: int = 40) -> list[float]:
        values = []
        for _ in range(count):
            # What the bar shows (its aria-valuenow, 0-100).
            shown = await page.get_attribute("#mic-level", "aria-valuenow")
            values.append(int(shown or 0) / 100)
            await page.wait_for_timeout(50)
        return values

    async def moving() -> bool:
        # Chromium's fake microphone beeps: the bar jumps with each beep, falls between.
        values = await readings()
        return max(values) > 0.3 and min(values) < 0.2

    await eventually(moving, timeout=30)
    await page.click("#prejoin-mic")  # muted: the analyser hears silence
    await page.wait_for_function("() => window.conference.micMuted")
    await page.wait_for_timeout(1500)
    muted = await readings()
    assert max(muted) < 0.02, muted
    await page.click("#prejoin-mic")
    await eventually(moving, timeout=30)


SENDER = """
() => {
  const pc = window.conference.pc;
  const video = pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video');
  const audio = pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'audio');
  return {
    video: video.sender.track.getSettings().deviceId,
    audio: audio.sender.track.getSettings().deviceId,
    local: window.conference.localStream.getVideoTracks()[0].getSettings().deviceId,
    sdp: pc.localDescription.sdp.length,
    signaling: pc.signalingState,
    sinks: [...document.querySelectorAll('#audio-sinks audio')].map((a) => a.sinkId),
  };
}
"""


async def test_devices_switch_during_the_meeting_and_video_keeps_flowing(server, room, cameras):
    a = await open_site(cameras, join_url(server, room, "Xã Đổi Camera"))
    b = await open_site(cameras, join_url(server, room, "Xã Xem"))
    a_id = await a.evaluate("() => window.conference.selfId")
    await eventually(lambda: decoded_in(b, "main", a_id), timeout=40)
    await a.evaluate("() => { window.__pc = window.conference.pc; }")
    before = await a.evaluate(SENDER)

    await a.click("#toggle-devices")
    await a.wait_for_selector("#device-dialog #camera-select", state="visible")
    listed = await a.eval_on_selector_all(
        "#camera-select option", "(os) => os.map((o) => [o.value, o.textContent])"
    )
    assert [name for _, name in listed] == ["fake_device_0", "fake_device_1", "fake_device_2"]
    assert before["video"] == listed[0][0]
    other_camera = listed[2][0]
    await a.select_option("#camera-select", other_camera)
    await a.wait_for_function(
        "(id) => window.conference.pc.getTransceivers().some("
        "(t) => t.sender.track && t.sender.track.getSettings().deviceId === id)",
        arg=other_camera,
    )
    mics = await a.eval_on_selector_all("#mic-select option", "(os) => os.map((o) => o.value)")
    other_mic = next(m for m in mics if m != before["audio"])
    await a.select_option("#mic-select", other_mic)
    await a.wait_for_function(
        "(id) => window.conference.pc.getTransceivers().some("
        "(t) => t.sender.track && t.sender.track.getSettings().deviceId === id)",
        arg=other_mic,
    )
    outputs = await a.eval_on_selector_all(
        "#speaker-select option", "(os) => os.map((o) => o.value)"
    )
    assert len(outputs) >= 2, outputs
    await a.select_option("#speaker-select", outputs[1])
    await a.wait_for_function(
        "(id) => [...document.querySelectorAll('#audio-sinks audio')].every((el) => el.sinkId === id)",
        arg=outputs[1],
    )
    after = await a.evaluate(SENDER)
    assert after["video"] == other_camera and after["local"] == other_camera
    assert after["audio"] == other_mic
    # The same peer connection, never renegotiated.
    assert await a.evaluate("() => window.__pc === window.conference.pc")
    assert after["signaling"] == "stable" and after["sdp"] == before["sdp"]

    # The other site goes on decoding this one: 30 more frames from the new camera.
    start = await decoded_in(b, "main", a_id)

    async def more() -> bool:
        return await decoded_in(b, "main", a_id) > start + 30

    await eventually(more, timeout=40)
    # The front/back switch (no facing mode on a computer: the next camera, here the first).
    await a.click("#device-dialog-close")
    await a.wait_for_selector("#self-flip", state="visible")
    await a.click("#self-flip")
    await a.wait_for_function(
        "(id) => window.conference.pc.getTransceivers().some("
        "(t) => t.sender.track && t.sender.track.getSettings().deviceId === id)",
        arg=before["video"],
    )
    start = await decoded_in(b, "main", a_id)
    await eventually(more, timeout=40)
    assert not a.errors and not b.errors, (a.errors, b.errors)  # type: ignore[attr-defined]


async def test_link_quality_bars_on_every_tile_and_the_own_picture(server, room, browser):
    a = await open_site(browser, join_url(server, room, "Xã Một"))
    await open_site(browser, join_url(server, room, "Xã Hai"))

    async def measured() -> dict | None:
        quality = await a.evaluate("() => window.conference.linkQuality")
        main, own = quality.get("main"), quality.get("self")
        ready = main and own and main["level"] and own["level"] and main["fps"] is not None
        return quality if ready else None

    quality = await eventually(measured, timeout=40)
    # On loopback: no loss, a short round trip, frames decoded: four bars.
    assert quality["main"]["level"] == 4, quality
    assert quality["main"]["fps"] > 0 and quality["main"]["loss"] == 0
    bars = await a.get_attribute('.tile[data-slot="main"] .link-quality', "data-level")
    assert bars == "4"
    title = await a.get_attribute('.tile[data-slot="main"] .link-quality', "title")
    assert "Đường truyền tốt" in title and "độ trễ" in title and "mất gói" in title
    assert await a.get_attribute("#self-view .link-quality", "data-level") in ("3", "4")


async def test_a_dropped_site_comes_back_to_the_same_slot_and_row(server, browser):
    sites = ["05536", "05539", "05542"]
    host, meeting, tokens = await open_meeting(server, sites)
    ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(ws_url))
    try:
        pages = {
            site: await open_site(browser, f"{server.base_url}/join/{meeting}?token={tokens[site]}")
            for site in sites
        }
        dropped, *others = sites
        await wait_until(lambda: console.status_count("connected") == 3, timeout=40)
        # The main slot follows the floor (else the voice): the third site holds the
        # floor, so what the drop may move is only what reconnecting keeps.
        assert (await console.command("give-floor", sites[2]))["type"] == "result"

        async def everyone_shown() -> dict[str, str] | None:
            where = {other: await slot_of(pages[other], dropped) for other in others}
            return where if all(where.values()) else None

        where = await eventually(everyone_shown, timeout=40)
        for other in others:
            await eventually(lambda other=other: decoded_in(pages[other], where[other], dropped))

        rows = sorted(console.sites)
        page = pages[dropped]
        # The network drops twice: the peer connection dies (the server hears
        # DTLS close), then the signaling socket (closed without a `leave`).
        for drop in ("window.conference.pc.close()", "window.conference.socket.close()"):
            old_pc = await page.evaluate_handle("() => window.conference.pc")
            await page.evaluate(f"() => {drop}")
            await page.wait_for_selector("#stage-overlay", state="visible")
            await page.wait_for_function(
                "(old) => window.conference.state === 'connected' && window.conference.pc !== old",
                arg=old_pc,
                timeout=60_000,
            )
            await page.wait_for_selector("#notice-banner", state="visible")
            assert "Đã kết nối lại" in await page.inner_text("#notice-banner")

            # The others show it where it was, decoding its new connection's video.
            for other in others:
                assert await slot_of(pages[other], dropped) == where[other]
                start = await decoded_in(pages[other], where[other], dropped)

                async def again(other: str = other, start: int = start) -> bool:
                    now = await decoded_in(pages[other], where[other], dropped)
                    # New frames: more than before, or a new receiver counting from zero.
                    return now > start + 10 or 10 < now < start

                await eventually(again, timeout=40)
                assert await slot_of(pages[other], dropped) == where[other]
        # One roll-call row, connected again.
        await wait_until(lambda: console.sites[dropped]["status"] == "connected", timeout=40)
        assert sorted(console.sites) == rows
        assert all(not p.errors for p in pages.values())  # type: ignore[attr-defined]
    finally:
        await console.close()
        await host.close()


def outside_address() -> str:
    """This machine's first address that is not loopback: an http page there is not secure."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout
    address = next((a for a in out.split() if ":" not in a and not a.startswith("127.")), None)
    assert address, f"no IPv4 address besides loopback: {out!r}"
    return address


async def test_an_insecure_page_says_the_camera_needs_https(open_server, browser):
    room = open_server.create_room()
    port = open_server.base_url.rsplit(":", 1)[1]
    url = f"http://{outside_address()}:{port}/join/{room}?token={open_server.token(room, 'Xã')}"
    page = await prejoin(browser, url)
    assert await page.evaluate("() => window.isSecureContext") is False
    await page.wait_for_selector("#media-warning", state="visible")
    assert await page.evaluate("() => window.conference.mediaWarning") == "media.insecure"
    assert "địa chỉ an toàn (https)" in await page.inner_text("#media-warning")
    assert await page.is_enabled("#join-button")


async def test_a_camera_allowed_during_the_meeting_is_sent_after_a_reconnect(
    server, room, refusing, browser
):
    # The camera refused, the microphone allowed: the site joins with sound only.
    context = await refusing.new_context(viewport={"width": 1280, "height": 720})
    await context.grant_permissions(["microphone"], origin=server.base_url)
    page = await context.new_page()
    await page.goto(join_url(server, room, "Xã Thêm Camera"))
    await page.wait_for_selector("#join-button:not([disabled])")
    assert await page.evaluate("() => window.conference.mediaWarning") == "media.audioOnly"
    other = await open_site(browser, join_url(server, room, "Xã Xem Hình"))
    await page.click("#join-button")
    await page.wait_for_function("() => window.conference.state === 'connected'")
    me = await page.evaluate("() => window.conference.selfId")
    assert await decoded_in(other, "main", me) == 0  # no camera: never in a video slot

    # The camera is allowed now; picked in the devices dialog, it needs a new offer.
    await context.grant_permissions(["microphone", "camera"], origin=server.base_url)
    await page.click("#toggle-devices")
    await page.wait_for_selector("#device-dialog #camera-select", state="visible")
    first_pc = await page.evaluate_handle("() => window.conference.pc")
    camera = await page.eval_on_selector_all(
        "#camera-select option", "(os) => os.map((o) => o.value).filter(Boolean)[0]"
    )
    await page.select_option("#camera-select", camera)
    await page.wait_for_function(
        "(old) => window.conference.state === 'connected' && window.conference.pc !== old",
        arg=first_pc,
        timeout=60_000,
    )
    await eventually(lambda: decoded_in(other, "main", me), timeout=40)
