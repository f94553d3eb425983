"""The REST API by role and unit scope: what each role must not do returns 403.

One server for the module (accounts cost a scrypt hash each); every test
makes its own meetings.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.accounts import PASSWORD, Login, logins, start_with_accounts
from tests.support.api_client import ApiClient, meeting_body
from tests.support.server import ServerProcess

ACCOUNTS = {
    "admin": ("admin", None),
    "host.tinh": ("host", "19"),
    "host.dinhhoa": ("host", "167"),
    "host.tp": ("host", "164"),
    "site.chochu": ("site", "05536"),
    "site.quantrieu": ("site", "05431"),
    "viewer.dinhhoa": ("viewer", "167"),
    "operator.dinhhoa": ("operator", "167"),
}
DINH_HOA_FIRST_COMMUNES = ["05536", "05539", "05542"]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_with_accounts(Path(tmp_path_factory.mktemp("api")) / "data", ACCOUNTS)
    yield server
    server.stop()


@pytest.fixture
async def as_user(api_server: ServerProcess) -> AsyncIterator[Login]:
    async with logins(api_server) as login:
        yield login


_SLOTS = itertools.count(1)


def claims_of(token: str) -> dict:
    """A token's claims, read without checking it (the server checks)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def schedule(
    client: ApiClient, host_site: str = "167", units: list[str] | None = None, **extra
) -> str:
    # Meetings of one host site must not overlap: give each its own hour, days ahead.
    extra.setdefault("start_in", 3000 + 90 * next(_SLOTS))
    reply = await client.call(
        "POST", "/api/meetings", meeting_body(host_site, units or ["167"], **extra)
    )
    assert reply.status == 201, reply.body
    return str(reply.body["meeting"]["id"])


async def test_login_logout_and_csrf(api_server, as_user):
    anonymous = ApiClient(api_server.base_url)
    try:
        assert (await anonymous.call("GET", "/api/meetings")).code == "login-required"
        wrong = await anonymous.login("host.dinhhoa", "sai-mat-khau-roi")
        assert (wrong.status, wrong.code) == (401, "invalid-credentials")
        unknown = await anonymous.login("khong.ton.tai", PASSWORD)
        assert (unknown.status, unknown.code) == (401, "invalid-credentials")
    finally:
        await anonymous.close()

    host = await as_user("host.dinhhoa")
    me = await host.call("GET", "/api/me")
    assert me.body["user"] == {
        "username": "host.dinhhoa",
        "display_name": "host.dinhhoa",
        "role": "host",
        "unit_code": "167",
    }
    no_token = await host.call("POST", "/api/meetings", meeting_body("167", ["167"]), csrf=False)
    assert (no_token.status, no_token.code) == (403, "csrf")
    assert (await host.call("POST", "/api/logout")).status == 204
    assert (await host.call("GET", "/api/me")).status == 401


async def test_cookie_is_httponly_and_samesite(api_server):
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            api_server.base_url + "/api/login", json={"username": "admin", "password": PASSWORD}
        ) as response,
    ):
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_site_account_must_not_schedule_or_run_meetings(api_server, as_user):
    host = await as_user("host.dinhhoa")
    mine = await schedule(host, units=["167", "05536"])
    other = await schedule(await as_user("host.tp"), host_site="164", units=["164"])
    site = await as_user("site.chochu")
    assert (
        await site.call("POST", "/api/meetings", meeting_body("05536", ["05536"]))
    ).status == 403
    assert (await site.call("GET", f"/api/meetings/{mine}/links")).status == 403
    assert (await site.call("DELETE", f"/api/meetings/{mine}")).status == 403
    assert (
        await site.call("PUT", f"/api/meetings/{mine}", meeting_body("167", ["167"]))
    ).status == 403
    assert (await site.call("GET", f"/api/meetings/{other}")).status == 403  # not invited
    assert (await site.call("GET", "/api/users")).status == 403
    assert (
        await site.call("POST", "/api/grants", {"unit_code": "19", "grantee_unit": "167"})
    ).status == 403
    assert (await site.call("GET", "/api/sites/167/calendar.ics")).status == 403  # not its site
    # What it may do: see its own meetings and get its own join link.
    listed = await site.call("GET", "/api/meetings")
    assert mine in [m["id"] for m in listed.body["meetings"]]
    assert other not in [m["id"] for m in listed.body["meetings"]]
    join = await site.call("GET", f"/api/meetings/{mine}/join")
    assert join.status == 200 and join.body["url"].startswith(f"/join/{mine}?token=")
    # Asking for another site's link still gives its own: a site speaks only for itself.
    other_site = (await site.call("GET", f"/api/meetings/{mine}/join?site=167")).body["url"]
    claims = claims_of(other_site.split("token=")[1])
    assert (claims["sub"], claims["mtg"], claims["role"]) == ("05536", mine, "participant")
    status, kind, text = await site.text("/api/sites/05536/calendar.ics")
    assert status == 200 and kind.startswith("text/calendar") and f"UID:{mine}@" in text


async def test_viewer_and_operator_must_not_schedule(api_server, as_user):
    host = await as_user("host.dinhhoa")
    meeting = await schedule(host)
    for username in ("viewer.dinhhoa", "operator.dinhhoa"):
        client = await as_user(username)
        assert (
            await client.call("POST", "/api/meetings", meeting_body("167", ["167"]))
        ).status == 403
        assert (await client.call("GET", f"/api/meetings/{meeting}/links")).status == 403
        assert (await client.call("GET", "/api/users")).status == 403
        assert (
            await client.call("POST", "/api/grants", {"unit_code": "167", "grantee_unit": "05536"})
        ).status == 403
    viewer = await as_user("viewer.dinhhoa")
    assert (await viewer.call("GET", f"/api/meetings/{meeting}")).status == 200  # in its scope
    operator = await as_user("operator.dinhhoa")
    assert (await operator.call("GET", f"/api/meetings/{meeting}")).status == 403
    assert (await operator.call("GET", "/api/meetings")).body["meetings"] == []


async def test_host_is_held_to_its_subtree(api_server, as_user):
    district = await as_user("host.dinhhoa")
    # Another district's site as host site, or its communes as invitees: refused.
    reply = await district.call("POST", "/api/meetings", meeting_body("164", ["164"]))
    assert (reply.status, reply.code) == (403, "out-of-scope")
    reply = await district.call("POST", "/api/meetings", meeting_body("167", ["167", "05431"]))
    assert (reply.status, reply.code) == (403, "out-of-scope")
    # The province's hall (upward) needs the province host's grant.
    reply = await district.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "19"], start_in=200)
    )
    assert (reply.status, reply.code) == (403, "out-of-scope")
    assert (
        await district.call("POST", "/api/grants", {"unit_code": "19", "grantee_unit": "167"})
    ).status == 403
    province = await as_user("host.tinh")
    granted = await province.call("POST", "/api/grants", {"unit_code": "19", "grantee_unit": "167"})
    assert granted.status == 201
    upward = await district.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "19"], start_in=200)
    )
    assert upward.status == 201
    assert "19" in [s["id"] for s in upward.body["invited"]]
    # ...but not the province's other districts (a grant is for the hall, not the subtree).
    sideways = await district.call(
        "POST", "/api/meetings", meeting_body("167", ["164"], start_in=400)
    )
    assert sideways.status == 403
    # A district host cannot manage a province meeting, nor another district's.
    provincial = await schedule(province, host_site="19", units=["19", "167"], start_in=600)
    assert (await district.call("DELETE", f"/api/meetings/{provincial}")).status == 403
    assert (await district.call("GET", f"/api/meetings/{provincial}/links")).status == 403
    assert (await district.call("GET", "/api/users")).status == 403
    await province.call("DELETE", "/api/grants/19/167")
    again = await district.call("POST", "/api/meetings", meeting_body("167", ["19"], start_in=800))
    assert again.status == 403


async def test_admin_manages_accounts(api_server, as_user):
    admin = await as_user("admin")
    created = await admin.call(
        "POST",
        "/api/users",
        {
            "username": "Host.PhuBinh",
            "display_name": "UBND huyện Phú Bình",
            "role": "host",
            "unit_code": "173",
            "password": PASSWORD,
        },
    )
    assert created.status == 201 and created.body["user"]["username"] == "host.phubinh"
    duplicate = await admin.call(
        "POST",
        "/api/users",
        {
            "username": "host.phubinh",
            "display_name": "Khác",
            "role": "site",
            "unit_code": "05536",
            "password": PASSWORD,
        },
    )
    assert (duplicate.status, duplicate.code) == (409, "conflict")
    users = {u["username"]: u for u in (await admin.call("GET", "/api/users")).body["users"]}
    assert users["host.phubinh"]["role"] == "host"  # the duplicate damaged nothing
    weak = await admin.call(
        "POST",
        "/api/users",
        {
            "username": "yeu",
            "display_name": "Y",
            "role": "viewer",
            "unit_code": "19",
            "password": "ngan",
        },
    )
    assert (weak.status, weak.code) == (400, "weak-password")
    no_unit = await admin.call(
        "POST",
        "/api/users",
        {"username": "host.x", "display_name": "X", "role": "host", "password": PASSWORD},
    )
    assert no_unit.code == "unit-required"
    bad_unit = await admin.call(
        "POST",
        "/api/users",
        {
            "username": "host.y",
            "display_name": "Y",
            "role": "host",
            "unit_code": "99999",
            "password": PASSWORD,
        },
    )
    assert bad_unit.status == 404


async def test_bad_meeting_requests_get_clear_errors_and_damage_nothing(api_server, as_user):
    host = await as_user("host.dinhhoa")
    first = await schedule(host, units=["167", *DINH_HOA_FIRST_COMMUNES], start_in=1000)
    before = (await host.call("GET", f"/api/meetings/{first}")).body

    cases = [
        (meeting_body("167", ["167", "00000"], start_in=1100), 400, "unknown-unit"),
        (meeting_body("167", ["167"], start_in=1100, minutes=-30), 400, "end-before-start"),
        (meeting_body("167", ["167"], start_in=-120), 400, "start-in-past"),
        (meeting_body("167", ["167"], start_in=1000, minutes=30), 409, "overlap"),
        (meeting_body("khong-co", ["167"], start_in=1100), 400, "unknown-site"),
        (meeting_body("167", ["167"], start_in=1100, title=""), 400, "invalid-request"),
        ({"title": "Thiếu giờ"}, 400, "invalid-request"),
        ({**meeting_body("167", ["167"], start_in=1100), "extra": 1}, 400, "invalid-request"),
        (
            {**meeting_body("167", ["167"], start_in=1100), "start": "ngày mai"},
            400,
            "invalid-request",
        ),
    ]
    for body, status, code in cases:
        reply = await host.call("POST", "/api/meetings", body)
        assert (reply.status, reply.code) == (status, code), (body, reply.body)
        assert reply.body["error"]["message"]
    async with host.session.post(
        host.base_url + "/api/meetings",
        data="{not json",
        headers={"X-CSRF-Token": host.csrf or "", "Content-Type": "application/json"},
    ) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad-json"
    moved = await host.call(
        "PUT", f"/api/meetings/{first}", meeting_body("167", ["167", "00000"], start_in=1000)
    )
    assert moved.code == "unknown-unit"
    after = (await host.call("GET", f"/api/meetings/{first}")).body
    assert after == before  # nothing already stored was damaged
    assert (await host.call("GET", "/api/meetings/khong-co")).status == 404


async def test_meeting_links_are_per_site_and_bound_to_the_window(api_server, as_user):
    host = await as_user("host.dinhhoa")
    later = await schedule(host, units=["167", *DINH_HOA_FIRST_COMMUNES], start_in=500)
    links = (await host.call("GET", f"/api/meetings/{later}/links")).body["links"]
    assert [link["site"]["id"] for link in links] == ["167", *DINH_HOA_FIRST_COMMUNES]
    assert len({link["url"] for link in links}) == 4
    # Hours ahead: the room is not open yet (it opens 15 minutes before).
    async with aiohttp.ClientSession() as http:
        async with http.get(api_server.base_url + links[1]["url"]) as page:
            assert page.status == 401 and "chưa mở" in await page.text()
        ws = await http.ws_connect(api_server.base_url.replace("http", "ws") + f"/ws/{later}")
        await ws.send_str(json.dumps({"type": "join", "token": links[1]["url"].split("token=")[1]}))
        error = json.loads((await ws.receive(timeout=10)).data)
        assert (error["code"], error["fatal"]) == ("token-not-yet-valid", True)
        await ws.close()
        # A token of another (open) meeting opens neither this meeting's page nor its socket.
        now = await schedule(host, units=["167", "05536"], start_in=0.2, minutes=30)
        elsewhere = await schedule(
            host, host_site="05539", units=["05539"], start_in=0.2, minutes=30
        )
        elsewhere_links = (await host.call("GET", f"/api/meetings/{elsewhere}/links")).body["links"]
        other_token = elsewhere_links[0]["url"].split("token=")[1]
        async with http.get(api_server.base_url + f"/join/{now}?token={other_token}") as page:
            assert page.status == 403
        ws = await http.ws_connect(api_server.base_url.replace("http", "ws") + f"/ws/{now}")
        await ws.send_str(json.dumps({"type": "join", "token": other_token}))
        assert json.loads((await ws.receive(timeout=10)).data)["code"] == "wrong-room"
        await ws.close()
        # The open meeting's own link works; after cancelling, it does not.
        now_links = (await host.call("GET", f"/api/meetings/{now}/links")).body["links"]
        async with http.get(api_server.base_url + now_links[1]["url"]) as page:
            assert page.status == 200
        assert (await host.call("DELETE", f"/api/meetings/{now}")).body["meeting"][
            "cancelled"
        ] is True
        async with http.get(api_server.base_url + now_links[1]["url"]) as page:
            assert page.status == 403 and "hủy" in await page.text()


async def test_units_api_and_ics(api_server, as_user):
    host = await as_user("host.dinhhoa")
    roots = (await host.call("GET", "/api/units")).body["units"]
    assert [(u["code"], u["leaf"]) for u in roots] == [("19", False)]
    districts = (await host.call("GET", "/api/units?parent=19")).body["units"]
    assert len(districts) == 9
    communes = (await host.call("GET", "/api/units?parent=167")).body["units"]
    assert len(communes) == 23 and all(u["leaf"] for u in communes)
    subtree = (await host.call("GET", "/api/units/167/subtree")).body["units"]
    assert len(subtree) == 24 and subtree[0]["code"] == "167"
    detail = (await host.call("GET", "/api/units/05536")).body
    assert [u["code"] for u in detail["ancestors"]] == ["19", "167"]
    assert detail["sites"] == [{"id": "05536", "unit_code": "05536", "name": "Thị trấn Chợ Chu"}]
    assert (await host.call("GET", "/api/units/00000")).status == 404
    meeting = await schedule(host, units=["167"], start_in=2000, title="Họp; về, phòng chống dịch")
    status, kind, text = await host.text(f"/api/meetings/{meeting}/calendar.ics")
    assert status == 200 and kind.startswith("text/calendar")
    assert "BEGIN:VEVENT" in text and "SUMMARY:Họp\\; về\\, phòng chống dịch" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    spec = (await host.call("GET", "/api/openapi.json")).body
    assert "/api/meetings" in spec["paths"] and "MeetingIn" in spec["components"]["schemas"]


async def test_pages_need_login_and_the_right_role(api_server, as_user):
    async with (
        aiohttp.ClientSession() as http,
        http.get(api_server.base_url + "/meetings", allow_redirects=False) as r,
    ):
        assert r.status == 302 and r.headers["Location"].startswith("/login?next=")
    site = await as_user("site.chochu")
    status, _, _ = await site.text("/meetings/new")
    assert status == 403
    await asyncio.sleep(0)


async def test_login_form_without_javascript(api_server):
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(api_server.base_url + "/login?next=/meetings/abc") as page:
            html = await page.text()
            assert page.status == 200 and 'name="form_token"' in html
        token = html.split('name="form_token" value="')[1].split('"')[0]
        form = {
            "username": "host.dinhhoa",
            "password": "sai-mat-khau-roi",
            "next": "/meetings/abc",
            "form_token": token,
        }
        async with http.post(
            api_server.base_url + "/login", data=form, allow_redirects=False
        ) as wrong:
            assert wrong.status == 401
        form["password"] = PASSWORD
        async with http.post(
            api_server.base_url + "/login",
            data={**form, "form_token": "forged"},
            allow_redirects=False,
        ) as forged:
            assert forged.status == 403
        async with http.post(
            api_server.base_url + "/login", data=form, allow_redirects=False
        ) as ok:
            assert ok.status == 302 and ok.headers["Location"] == "/meetings/abc"
        async with http.get(api_server.base_url + "/api/me") as me:
            assert (await me.json())["user"]["username"] == "host.dinhhoa"
        # An open redirect through next= is refused (a fresh form: the old token was used up).
        async with http.get(api_server.base_url + "/login") as page:
            html = await page.text()
        form["form_token"] = html.split('name="form_token" value="')[1].split('"')[0]
        form["next"] = "https://evil.example/"
        async with http.post(
            api_server.base_url + "/login", data=form, allow_redirects=False
        ) as ok:
            assert ok.headers["Location"] == "/meetings"
