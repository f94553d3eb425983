"""The declaration alerts on a checkpoint officer's phone (/anpr/declarations), in Chromium.

A real server; the alert is made as the server makes one (the manager's own
checker on passes written as the manager writes them:
tests/support/declarations.py). The officer, on a 390 px wide phone, opens
it, sees its evidence (both passes with their plate crops, the declaration,
the reason) and records what was found, which the history then shows.
A supervisor (a host), on the same phone, imports a file (a bad row is named
by its line and nothing is kept; a good file's rows then show) and sets a
camera's rule; an officer's page has none of those controls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.support.accounts import PASSWORD, logins, start_with_accounts
from tests.support.declarations import UNREACHABLE, make_mismatch
from tests.support.feeds import LOCAL_CAMERAS, register_feed
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

ACCOUNTS = {
    "admin": ("admin", None),
    "operator.dinhhoa": ("operator", "167"),  # a checkpoint officer of Định Hóa district
    "operator.tp": ("operator", "164"),  # one of the city
    "host.dinhhoa": ("host", "167"),  # their supervisor
}

HEADER = "biển số,họ tên,nơi đi,từ,đến,điện thoại"
GOOD_ROWS = (
    "30A-123.45,Nguyễn Văn A,Hà Nội,2021-11-05 08:00,2021-11-06 18:00,0912345678\n"
    "20A-999.99,Đỗ Thị F,TP HCM,2021-11-05,2021-11-07,\n"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    the_server = start_with_accounts(tmp_path / "data", ACCOUNTS, env=LOCAL_CAMERAS)
    yield the_server
    the_server.stop()


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator:
    async with logins(server) as login:
        yield login


async def phone_page(browser: Browser, base_url: str, username: str, path: str) -> Page:
    """A 390 px wide phone, logged in through the form, on ``path``; page errors collected."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base_url}/login?next={path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_url(f"**{path}")
    return page


async def test_an_officer_sees_the_evidence_on_a_phone_and_records_the_outcome(
    server: ServerProcess, browser: Browser, api, tmp_path: Path
) -> None:
    made = await make_mismatch(
        server, await api("admin"), await api("operator.dinhhoa"), "167", "164"
    )
    page = await phone_page(browser, server.base_url, "operator.dinhhoa", "/anpr/declarations")
    await page.wait_for_function(
        "() => window.declarationsPage && window.declarationsPage.alerts !== null"
    )
    card = page.locator(f'#alerts > li[data-alert-id="{made.alert.id}"]')
    assert "Bắc Giang" in await card.inner_text()
    await card.locator("button").click()
    await page.wait_for_function(
        "() => window.declarationsPage.alert !== null && document.querySelectorAll("
        "'#detail-evidence img.plate-crop').length === 2 && [...document.querySelectorAll("
        "'#detail-evidence img.plate-crop')].every(img => img.complete && img.naturalWidth > 0)"
    )
    shown = await page.locator("#detail-evidence > li").evaluate_all(
        "items => items.map(li => li.dataset.eventId)"
    )
    assert shown == [made.here.id, made.elsewhere.id]  # this pass, then the one that contradicts
    evidence = await page.inner_text("#detail-evidence")
    assert "Chốt Km 52 Định Hóa" in evidence and "Chốt QL1 Bắc Giang" in evidence
    assert "Khai báo đi từ Hà Nội" in await page.inner_text("#detail-reason")
    declaration = await page.inner_text("#detail-declaration")
    assert "Nguyễn Văn Bình" in declaration and "0912345678" in declaration
    # Nothing is wider than the phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "declaration-alert-390.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    await page.check('input[name="outcome"][value="false"]')
    await page.fill("#note-text", "Lái xe thừa nhận đi từ Bắc Giang")
    await page.click("#note-save")
    history = page.locator("#detail-history li.decl-note")
    await history.first.wait_for()
    text = await history.first.inner_text()
    assert "Khai báo sai" in text and "Lái xe thừa nhận đi từ Bắc Giang" in text
    assert "operator.dinhhoa" in text
    # Saved: a fresh load of the alert's address shows it again.
    await page.goto(f"{server.base_url}/anpr/declarations?alert={made.alert.id}")
    await page.locator("#detail-history li.decl-note").first.wait_for()
    assert "Lái xe thừa nhận" in await page.inner_text("#detail-history")

    # A declaration by hand: a bad phone is refused in Vietnamese, then it is kept.
    await page.click("#declare-by-hand summary")
    await page.fill("#d-plate", "29A-111.11")
    await page.fill("#d-driver", "Trần Thị C")
    await page.fill("#d-origin", "Hà Nội")
    await page.fill("#d-from", "2021-11-05T08:00")
    await page.fill("#d-to", "2021-11-06T08:00")
    await page.fill("#d-phone", "12")
    await page.click("#declaration-form button[type=submit]")
    await page.locator("#declaration-error").wait_for()
    assert "số điện thoại không hợp lệ" in await page.inner_text("#declaration-error")
    await page.fill("#d-phone", "0987 654 321")
    await page.click("#declaration-form button[type=submit]")
    await page.locator("#declaration-done").wait_for()
    assert "29A11111" in await page.inner_text("#declaration-done")
    listed = (await (await api("operator.dinhhoa")).call("GET", "/api/anpr/declarations")).body
    assert [(d["plate"], d["phone"]) for d in listed["declarations"] if d["source"] == "form"] == [
        ("29A11111", "0987654321"),
        ("20A12345", "0912345678"),
    ]
    assert page.errors == []  # type: ignore[attr-defined]

    # The city's officer sees no alert, and the alert's address shows none.
    other = await phone_page(browser, server.base_url, "operator.tp", "/anpr/declarations")
    await other.wait_for_function(
        "() => window.declarationsPage && window.declarationsPage.alerts !== null"
    )
    assert await other.locator("#alerts > li").count() == 0
    assert "Chưa có cảnh báo nào" in await other.inner_text("#alerts-status")
    await other.goto(f"{server.base_url}/anpr/declarations?alert={made.alert.id}")
    await other.wait_for_function("() => !document.querySelector('#page-error').hidden")
    assert await other.locator("#alert-detail").is_hidden()


async def _upload(page: Page, name: str, text: str) -> None:
    """Choose ``text`` as the file ``name`` and send it."""
    await page.set_input_files(
        "#upload-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )
    await page.click("#upload-send")


async def test_a_supervisor_imports_a_file_and_sets_a_cameras_rule_on_a_phone(
    server: ServerProcess, browser: Browser, api
) -> None:
    admin = await api("admin")
    feed = await register_feed(
        admin, UNREACHABLE, unit_code="167", name="Làn vào 1", checkpoint="Chốt Km 52 Định Hóa"
    )
    page = await phone_page(browser, server.base_url, "host.dinhhoa", "/anpr/declarations")
    await page.wait_for_function(
        "() => window.declarationsPage && window.declarationsPage.declarations !== null"
        " && window.declarationsPage.feeds !== null"
    )
    assert "khai báo" in (await page.inner_text("#declarations-status")).lower()
    example = await page.inner_text("#csv-example")
    assert example.splitlines()[0] == HEADER

    # A bad row (line 3: a plate cut short): its line is named, nothing is kept.
    bad = f"{HEADER}\n{GOOD_ROWS.splitlines()[0]}\n30A-12,Trần B,Hà Nội,2021-11-05,2021-11-06,\n"
    await _upload(page, "khai-bao-loi.csv", bad)
    error = page.locator('#upload-errors li[data-line="3"]')
    await error.wait_for()
    assert (await error.inner_text()).startswith("Dòng 3: biển số")
    assert await page.locator("#upload-errors li").count() == 1
    assert "chưa lưu dòng nào" in await page.inner_text("#upload-error-title")
    assert await page.locator("#declarations > li").count() == 0
    host = await api("host.dinhhoa")
    assert (await host.call("GET", "/api/anpr/declarations")).body["declarations"] == []

    # The file fixed: its two rows are added and shown.
    await _upload(page, "khai-bao.csv", f"{HEADER}\n{GOOD_ROWS}")
    await page.locator("#declarations > li").nth(1).wait_for()
    assert "Đã thêm 2 khai báo" in await page.inner_text("#upload-done")
    assert await page.locator("#upload-error").is_hidden()
    plates = await page.locator("#declarations > li").evaluate_all(
        "items => items.map(li => li.dataset.plate).sort()"
    )
    assert plates == ["20A99999", "30A12345"]
    assert "Nguyễn Văn A" in await page.inner_text("#declarations")

    # The camera's rule: its checkpoint is in Thái Nguyên, every vehicle must declare.
    item = page.locator(f'#rules > li[data-feed-id="{feed["id"]}"]')
    assert "Chưa đặt quy định" in await item.inner_text()
    # A checkpoint has several lanes: the card names the camera, not only its checkpoint.
    assert "Chốt Km 52 Định Hóa – Làn vào 1" in await item.locator("strong").inner_text()
    await item.locator('input[name="province_code"]').fill("Thái Nguyên")
    await item.locator('select[name="required"]').select_option("all")
    await item.locator("button[type=submit]").click()
    current = page.locator(f'#rules > li[data-feed-id="{feed["id"]}"] .decl-rule-current')
    await page.wait_for_function(
        'id => document.querySelector(`#rules > li[data-feed-id="${id}"] .decl-rule-current`)'
        ".textContent.includes('Thái Nguyên')",
        arg=feed["id"],
    )
    assert "Mọi xe" in await current.inner_text()
    rules = (await host.call("GET", "/api/anpr/declaration-rules")).body["rules"]
    assert [(r["feed_id"], r["province"], r["required"]) for r in rules] == [
        (feed["id"], "Thái Nguyên", "all")
    ]
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.errors == []  # type: ignore[attr-defined]

    # An officer's page has none of it.
    officer = await phone_page(browser, server.base_url, "operator.dinhhoa", "/anpr/declarations")
    await officer.wait_for_function(
        "() => window.declarationsPage && window.declarationsPage.alerts !== null"
    )
    assert await officer.locator("#supervisor, #upload-form, #rules").count() == 0
    assert await officer.evaluate("window.declarationsPage.canSupervise") is False
