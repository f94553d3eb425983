"""Checkpoint-camera pages in Chromium: feeds, plate search on a phone, alert lists, console.

Each test runs a real server; the feeds run real worker processes. The plate
search is seeded with plate events and JPEG files written the way
``anpr_feed.manager.FeedManager`` stores a pass (a row in the store, the
crop and thumbnail under ``DATA_DIR/anpr/<day>/``). The console test reads
plates for real: a synthetic checkpoint clip is registered as a file feed,
the provinces of its plates are marked as outbreak zones, the host brings
the camera into a live meeting from the picker and the real reader's passes
raise the alerts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from playwright.async_api import Browser, Page

from anpr_feed.events_store import PlateEvent, plate_store_for
from conference.store import SqliteStore
from tests.support import synth
from tests.support.accounts import PASSWORD, logins, start_with_accounts
from tests.support.api_client import ApiClient, meeting_body
from tests.support.feeds import LOCAL_CAMERAS, register_file_feed
from tests.support.feeds import register_feed as _register_feed
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ACCOUNTS = {
    "admin": ("admin", None),
    "host.tinh": ("host", "19"),  # Thái Nguyên province: the supervisors
    "host.dinhhoa": ("host", "167"),
    "operator.dinhhoa": ("operator", "167"),  # a checkpoint officer of Định Hóa district
}
UNREACHABLE = "rtsp://127.0.0.1:9/Streaming/Channels/101"  # nothing listens on port 9


@pytest.fixture
def anpr_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_with_accounts(tmp_path / "data", ACCOUNTS, env=LOCAL_CAMERAS)
    yield server
    server.stop()


@pytest.fixture
async def api(anpr_server: ServerProcess) -> AsyncIterator:
    async with logins(anpr_server) as login:
        yield login


async def open_page(
    browser: Browser, base_url: str, username: str, path: str, phone: bool = False
) -> Page:
    """Log in through the login form, then open ``path``; page errors are collected."""
    if phone:
        context = await browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
        )
    else:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of deletions
    await page.goto(f"{base_url}/login?next={path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_url(f"**{path}")
    return page


async def register_feed(
    client: ApiClient, url: str, name: str = "Camera làn vào 1", **extra: object
) -> dict:
    return await _register_feed(client, url, name=name, **extra)


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(data)


async def seed_passes(
    data_dir: Path,
    passes: list[tuple[str, str, str, str, float]],
    colours: dict[str, str] | None = None,
) -> list[PlateEvent]:
    """Store passes (feed id, checkpoint, plate, display, at) as FeedManager does.

    Each keeps its feed's unit, which says who may see it.

    ``colours`` gives some plates a background colour (the rest: none seen).

    The crop is the plate drawn by the synthetic-video renderer; the
    thumbnail a frame holding it.
    """
    store = SqliteStore(data_dir / "conference.sqlite3")
    units = {feed.id: feed.unit_code for feed in await store.list_feeds()}
    events = []
    for feed_id, checkpoint, plate, display, at in passes:
        local = datetime.fromtimestamp(at, VN)
        event_id = local.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(5)
        folder = local.strftime("%Y-%m-%d")
        colour = (colours or {}).get(plate)
        spec = synth.PlateSpec(
            plate, display, (display,), "car_1line", colour or "white", plate[:2]
        )
        crop = synth.render_plate(spec, 0.5)
        frame = np.full((270, 480, 3), (70, 80, 90), np.uint8)
        frame[150 : 150 + crop.shape[0], 180 : 180 + crop.shape[1]] = crop
        directory = data_dir / "anpr" / folder
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{event_id}-plate.jpg").write_bytes(jpeg(crop))
        (directory / f"{event_id}-frame.jpg").write_bytes(jpeg(frame))
        events.append(
            PlateEvent(
                id=event_id,
                feed_id=feed_id,
                checkpoint=checkpoint,
                at=at,
                plate=plate,
                display=display,
                province_code=plate[:2],
                confidence=0.97,
                crop=f"{folder}/{event_id}-plate.jpg",
                thumbnail=f"{folder}/{event_id}-frame.jpg",
                colour=colour,
                unit_code=units[feed_id],
            )
        )
    try:
        await plate_store_for(store).add_plate_events(events)
    finally:
        await store.close()
    return events


# -- (a) the feeds page ---------------------------------------------------------------------


async def test_feeds_page_shows_an_offline_camera_and_an_admin_adds_and_removes_one(
    anpr_server: ServerProcess, browser: Browser, api
) -> None:
    admin = await api("admin")
    feed = await register_feed(admin, UNREACHABLE, unit_code="167")

    page = await open_page(browser, anpr_server.base_url, "admin", "/feeds")
    card = page.locator(f'#feeds li[data-feed-id="{feed["id"]}"]')
    await card.locator('.feed-state[data-state="offline"]').wait_for(timeout=40_000)
    assert await card.locator(".feed-state").inner_text() == "Mất tín hiệu"
    error = await card.locator(".feed-error-text").inner_text()
    assert error == "cannot connect to the camera", error  # whatever answered, if anything
    assert await card.locator('[data-fact="fps"] dd').inner_text() == "0,0"
    assert "Chưa đọc được biển số nào" in await card.locator(".feed-last").inner_text()

    # A source the server cannot use is refused with the reason, next to the field.
    await page.fill("#feed-name", "Camera làn ra")
    await page.fill("#feed-checkpoint", "Chốt Sơn Cẩm")
    await page.fill("#feed-url", "ftp://camera.local/stream")
    await page.click("#feed-submit")
    form_error = page.locator("#feed-form-error")
    await form_error.wait_for(state="visible")
    assert "Địa chỉ luồng video không dùng được" in await form_error.inner_text()
    assert await page.get_attribute("#feed-url", "aria-invalid") == "true"

    # Registered through the form: listed at once, then with its live status.
    await page.fill("#feed-url", "rtsp://127.0.0.1:9/lane-2")
    await page.fill("#feed-location", "QL3 Km 60")
    await page.click("#feed-submit")
    added = page.locator("#feeds li", has_text="Camera làn ra")
    await added.wait_for()
    assert await form_error.is_hidden()
    assert "Đã đăng ký camera “Camera làn ra”" in await page.inner_text("#feeds-status")
    feeds = (await admin.call("GET", "/api/feeds")).body["feeds"]
    new = next(f for f in feeds if f["name"] == "Camera làn ra")
    assert new["checkpoint"] == "Chốt Sơn Cẩm" and new["url"] == "rtsp://127.0.0.1:9/lane-2"
    await added.locator('.feed-state[data-state="offline"]').wait_for(timeout=40_000)

    # Deleted (after the confirmation): gone from the page and from the server.
    await added.locator('button[data-action="delete"]').click()
    await added.wait_for(state="detached")
    assert "Đã xóa camera Camera làn ra" in await page.inner_text("#feeds-status")
    assert (await admin.call("GET", f"/api/feeds/{new['id']}")).status == 404
    assert await card.count() == 1  # the other camera stays
    assert not page.errors  # type: ignore[attr-defined]


# -- (b) plate search on a phone --------------------------------------------------------------


async def test_operator_finds_a_partial_plate_on_a_phone_within_their_scope(
    anpr_server: ServerProcess, browser: Browser, api
) -> None:
    admin = await api("admin")
    ours = await register_feed(admin, UNREACHABLE, unit_code="167", checkpoint="Chốt Định Hóa")
    theirs = await register_feed(
        admin, UNREACHABLE, unit_code="164", name="Camera TP", checkpoint="Chốt TP Thái Nguyên"
    )
    now = time.time()
    recent, newest, old, _other, out_of_scope = await seed_passes(
        anpr_server.data_dir,
        [
            (ours["id"], ours["checkpoint"], "20A12345", "20A-123.45", now - 600),
            (ours["id"], ours["checkpoint"], "20A12399", "20A-123.99", now - 300),
            (ours["id"], ours["checkpoint"], "20A12345", "20A-123.45", now - 3 * 86400),
            (ours["id"], ours["checkpoint"], "30F55555", "30F-555.55", now - 200),
            (theirs["id"], theirs["checkpoint"], "20A12377", "20A-123.77", now - 100),
        ],
        colours={"20A12399": "yellow"},
    )

    page = await open_page(browser, anpr_server.base_url, "operator.dinhhoa", "/anpr", phone=True)
    results = page.locator("#results > li")
    await page.wait_for_function("() => window.anprPage && window.anprPage.events !== null")
    await page.fill("#plate", "a-123")
    await page.press("#plate", "Enter")
    await page.wait_for_function(
        "() => window.anprPage.query.plate === 'a-123'"
        " && document.querySelector('#results').getAttribute('aria-busy') === 'false'"
    )
    shown = await results.evaluate_all("items => items.map(li => li.dataset.eventId)")
    expected = [newest.id, recent.id, old.id]  # newest first
    assert shown == expected, shown  # the other unit's 20A-123.77 is not among them
    assert "3 lượt xe khớp “a-123”" in await page.inner_text("#results-status")
    assert page.url.endswith("/anpr?plate=a-123")

    first = results.first
    assert "20A-123.99" in await first.locator(".plate-display").inner_text()
    assert await first.locator(".plate-display mark").inner_text() == "A-123"
    assert await first.locator(".plate-checkpoint").inner_text() == "Chốt Định Hóa"
    # The plate colour is shown where the camera saw it, and only there.
    colour = first.locator('[data-fact="colour"] dd')
    assert await colour.inner_text() == "Nền vàng (xe kinh doanh vận tải)"
    assert await results.nth(1).locator('[data-fact="colour"]').count() == 0
    for index in range(3):
        crop = results.nth(index).locator("img.plate-crop")
        await crop.scroll_into_view_if_needed()
        await page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await crop.element_handle()
        )
    # Phone first: nothing wider than the screen, a big enough tap target.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    box = await page.locator("#search-button").bounding_box()
    assert box is not None and box["height"] >= 44

    # The whole picture opens full screen from the thumbnail.
    await first.locator('button[data-action="enlarge"]').click()
    viewer = page.locator("#frame-viewer-img")
    await page.wait_for_function(
        "() => { const img = document.querySelector('#frame-viewer-img');"
        " return document.querySelector('#frame-viewer').open && img.complete"
        " && img.naturalWidth > 0; }"
    )
    assert "20A-123.99" in await page.inner_text("#frame-viewer-title")
    src = await viewer.get_attribute("src")
    assert src == f"/api/anpr/events/{expected[0]}/frame.jpg", src
    await page.click("#frame-viewer-close")

    # A time range leaves the pass of three days ago out.
    await page.click("#search-more summary")
    since = datetime.fromtimestamp(now - 86400, VN).strftime("%Y-%m-%dT%H:%M")
    await page.fill("#search-from", since)
    await page.dispatch_event("#search-from", "change")
    await page.wait_for_function(
        "() => window.anprPage.query.from !== ''"
        " && document.querySelector('#results').getAttribute('aria-busy') === 'false'"
        " && document.querySelectorAll('#results > li').length === 2"
    )
    shown = await results.evaluate_all("items => items.map(li => li.dataset.eventId)")
    assert shown == expected[:2]

    # The checkpoint filter lists only the checkpoints in scope.
    options = await page.locator("#search-checkpoint option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert options == ["", "Chốt Định Hóa"]

    # Out of scope: no search result and no picture for the other unit's pass.
    operator = await api("operator.dinhhoa")
    found = (await operator.call("GET", "/api/anpr/events?plate=12377")).body["events"]
    assert found == []
    status, _, _ = await operator.text(f"/api/anpr/events/{out_of_scope.id}/plate.jpg")
    assert status == 404
    assert not page.errors  # type: ignore[attr-defined]


# -- (c) the watch list and the outbreak provinces ---------------------------------------------


async def test_supervisor_edits_the_lists_and_an_operator_reads_them(
    anpr_server: ServerProcess, browser: Browser, api
) -> None:
    page = await open_page(browser, anpr_server.base_url, "host.tinh", "/anpr/lists")
    await page.wait_for_function("() => window.listsPage && window.listsPage.watch !== null")
    assert await page.evaluate("() => window.listsPage.canEdit")

    await page.fill("#watch-pattern", "30a-999.99")
    await page.fill("#watch-reason", "Xe khai báo sai nơi đi")
    await page.click("#watch-submit")
    row = page.locator('#watch-list li[data-pattern="30A99999"]')
    await row.wait_for()
    assert "Xe khai báo sai nơi đi" in await row.inner_text()
    assert "Đã thêm 30A99999 vào danh sách theo dõi" in await page.inner_text("#watch-status")

    # A pattern that is not one is refused with the reason.
    await page.fill("#watch-pattern", "**")
    await page.fill("#watch-reason", "thử")
    await page.click("#watch-submit")
    await page.locator("#watch-error").wait_for(state="visible")
    assert "không hợp lệ" in await page.inner_text("#watch-error")

    await page.wait_for_function(
        "() => document.querySelectorAll('#outbreak-province option').length > 60"
    )
    await page.select_option("#outbreak-province", "99")
    await page.fill("#outbreak-start", "2021-07-01")
    await page.fill("#outbreak-end", "2099-12-31")
    await page.fill("#outbreak-reason", "Theo công điện số 15")
    await page.click("#outbreak-submit")
    outbreak = page.locator('#outbreak-list li[data-province="99"]')
    await outbreak.wait_for()
    assert "Bắc Ninh" in await outbreak.inner_text()
    assert await outbreak.get_attribute("data-phase") == "active"

    # A malformed upload: a clear error naming the line, and nothing is taken.
    await page.set_input_files(
        "#upload-file",
        {
            "name": "danh-sach.csv",
            "mimeType": "text/csv",
            "buffer": "biển số,lý do\n29A12345,Xe mất cắp\n$$$,hỏng\n".encode(),
        },
    )
    await page.click("#upload-button")
    upload_error = page.locator("#upload-error")
    await upload_error.wait_for(state="visible")
    text = await upload_error.inner_text()
    assert "danh-sach.csv" in text and "dòng 3" in text and "chưa có mục nào" in text, text

    # A good one is loaded.
    await page.set_input_files(
        "#upload-file",
        {
            "name": "bo-sung.csv",
            "mimeType": "text/csv",
            "buffer": "biển số,lý do\n29A-123.45,Xe mất cắp\n30A99999,trùng\n".encode(),
        },
    )
    await page.click("#upload-button")
    await page.locator('#watch-list li[data-pattern="29A12345"]').wait_for()
    assert "thêm 1 mục, 1 mục đã có sẵn" in await page.inner_text("#upload-result")
    assert await upload_error.is_hidden()

    # Persisted on the server.
    host = await api("host.tinh")
    entries = (await host.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert sorted((e["pattern"], e["reason"]) for e in entries) == [
        ("29A12345", "Xe mất cắp"),
        ("30A99999", "Xe khai báo sai nơi đi"),
    ]
    outbreaks = (await host.call("GET", "/api/anpr/outbreaks")).body["outbreaks"]
    assert [(o["province_code"], o["start"], o["end"], o["reason"]) for o in outbreaks] == [
        ("99", "2021-07-01", "2099-12-31", "Theo công điện số 15")
    ]

    # The checkpoint operator sees both lists and cannot change them.
    reader = await open_page(browser, anpr_server.base_url, "operator.dinhhoa", "/anpr/lists")
    await reader.locator('#watch-list li[data-pattern="30A99999"]').wait_for()
    await reader.locator('#outbreak-list li[data-province="99"]').wait_for()
    assert await reader.locator("#watch-list li").count() == 2
    assert await reader.locator("#readonly-note").is_visible()
    for selector in ("#watch-form", "#upload-form", "#outbreak-form", "button.lists-delete"):
        assert await reader.locator(selector).count() == 0, selector
    assert not await reader.evaluate("() => window.listsPage.canEdit")

    # The supervisor removes an entry.
    await page.locator('#watch-list li[data-pattern="29A12345"] button.lists-delete').click()
    await page.locator('#watch-list li[data-pattern="29A12345"]').wait_for(state="detached")
    entries = (await host.call("GET", "/api/anpr/watchlist")).body["entries"]
    assert [e["pattern"] for e in entries] == ["30A99999"]

    # A district host sees the province's entry as the province's: no delete button.
    district = await open_page(browser, anpr_server.base_url, "host.dinhhoa", "/anpr/lists")
    theirs = district.locator('#watch-list li[data-pattern="30A99999"]')
    await theirs.wait_for()
    assert await theirs.locator("button.lists-delete").count() == 0
    locked = theirs.locator(".lists-locked")
    assert await locked.inner_text() == "Chỉ Tỉnh Thái Nguyên xóa được"
    assert "cấp trên hoặc quản trị" in (await locked.get_attribute("title") or "")
    assert "Thái Nguyên" in await theirs.locator(".lists-by").inner_text()
    assert not page.errors and not reader.errors and not district.errors  # type: ignore[attr-defined]


# -- (d) the host console: a camera in the meeting and its alerts -----------------------------


@pytest.fixture(scope="module")
def checkpoint_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("clip") / "checkpoint.webm"
    truth = synth.generate(
        path, 8, fps=15, width=960, height=540, seed=3, vehicles_per_minute=40, distractors=False
    )
    assert len(truth) >= 3
    return path, truth


async def test_host_adds_a_camera_from_the_console_and_sees_its_alerts(
    anpr_server: ServerProcess, browser: Browser, api, checkpoint_clip
) -> None:
    path, truth = checkpoint_clip
    host = await api("host.dinhhoa")
    provinces = sorted({v.plate.province_code for v in truth})
    for code in provinces:
        body = {"province_code": code, "start": "2021-01-01", "end": "2099-12-31", "reason": "F0"}
        assert (await host.call("POST", "/api/anpr/outbreaks", body)).status == 201
    feed = await register_file_feed(  # an administrator registers files; the host uses it
        anpr_server, path, unit_code="167", name="Camera tổng hợp", checkpoint="Chốt Quán Vuông"
    )
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]

    page = await open_page(
        browser, anpr_server.base_url, "host.dinhhoa", f"/meetings/{meeting}/console"
    )
    await page.wait_for_function(
        "() => window.consoleState.state === 'connected' && window.consoleState.roomLive",
        timeout=30_000,
    )
    assert await page.locator("#cameras-empty").is_visible()
    assert await page.locator("#alerts-empty").is_visible()

    # The picker lists the registered cameras; one click brings one in.
    await page.click("#add-camera")
    option = page.locator(f'#feed-options button[data-add-feed="{feed["id"]}"]')
    await option.wait_for()
    assert "Chốt Quán Vuông" in await option.inner_text()
    await option.click()
    listed = page.locator(f'#meeting-cameras li[data-feed-id="{feed["id"]}"]')
    await listed.wait_for()
    assert "Camera tổng hợp" in await listed.inner_text()
    assert await page.inner_text("#cameras-count") == "1"
    assert "Đã đưa camera Camera tổng hợp vào cuộc họp" in await page.inner_text(
        "#console-notice-text"
    )
    await page.wait_for_function(
        f"() => window.consoleState.sites.get('feed-{feed['id']}')?.status === 'connected'",
        timeout=30_000,
    )
    # The camera is its own group in the counts, not a present site: no site
    # has joined, so attendance stays 0 of the 2 invited.
    camera_count = page.locator('#tier-counts [data-kind="camera"]')
    await camera_count.wait_for()
    assert await camera_count.inner_text() == "Camera: 1"
    assert await page.inner_text("#present-count") == "0"
    assert await page.inner_text("#invited-count") == "2"

    # The real reader reads a plate from an outbreak province: a toast and a list entry.
    toast = page.locator("#alert-toasts .alert-toast").first
    await toast.wait_for(timeout=90_000)
    toast_text = await toast.inner_text()
    assert "Cảnh báo biển số" in toast_text and "Chốt Quán Vuông" in toast_text, toast_text
    assert "Xe từ tỉnh có dịch" in toast_text and "F0" in toast_text, toast_text
    assert await toast.get_attribute("role") == "alert"
    item = page.locator("#alert-list li.alert-item").first
    await item.wait_for()
    plate = await item.get_attribute("data-plate")
    assert plate and plate[:2] in provinces, plate
    item_text = await item.inner_text()
    assert "Chốt Quán Vuông" in item_text and "Xe từ tỉnh có dịch" in item_text
    assert await item.locator(".alert-time").inner_text() != ""
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=await item.locator("img.alert-crop").element_handle(),
    )
    assert await page.locator("#alerts-empty").is_hidden()

    # In English, the alerts and the cameras card follow.
    await page.click("#lang-toggle")
    await page.wait_for_function(
        "() => document.querySelector('#alert-list li.alert-item')?.textContent"
        ".includes('From an outbreak province')"
    )
    assert await page.inner_text("#cameras-title") == "Checkpoint cameras in the meeting\n1"
    assert "Take out" in await listed.inner_text()
    await page.click("#lang-toggle")
    await page.wait_for_function("() => document.documentElement.lang === 'vi'")

    # A toast can be dismissed; the list keeps the alert, also after a reload.
    await toast.locator("button[data-close-toast]").click()
    await page.reload()
    await page.wait_for_function("() => window.consoleState.state === 'connected'")
    await page.locator(f'#alert-list li[data-plate="{plate}"]').first.wait_for()
    await listed.wait_for()

    # In the roll call a camera can be pinned or taken out, not given the floor.
    row = page.locator(f'#roll-call-body [data-site-id="feed-{feed["id"]}"]')
    assert await row.locator("button[data-spotlight]").count() == 1
    assert await row.locator(f'button[data-remove-feed="{feed["id"]}"]').count() == 1
    assert await row.locator("button[data-give-floor], button[data-remove]").count() == 0
    assert await row.locator(".tag-guest").count() == 0  # a camera, not a guest site

    # Taken out of the meeting from the cameras card.
    await listed.locator("button[data-remove-feed]").click()
    await listed.wait_for(state="detached")
    assert await page.locator("#cameras-empty").is_visible()
    await page.wait_for_function(
        f"() => ['left', 'removed'].includes(window.consoleState.sites.get('feed-{feed['id']}')?.status)",
        timeout=30_000,
    )
    assert not page.errors  # type: ignore[attr-defined]
