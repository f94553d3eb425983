"""The camera wall's endpoints: who may open a wall of which feeds, and whose wall is whose.

A real server; the feeds point at a closed port (their workers never get a
picture, which is all a permission check needs). The picture itself is
tested in Chromium (tests/test_browser_wall.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.accounts import logins, start_with_accounts
from tests.support.api_client import ApiClient
from tests.support.feeds import LOCAL_CAMERAS, register_feed
from tests.support.server import ServerProcess

ACCOUNTS = {
    "admin": ("admin", None),
    "host.tinh": ("host", "19"),  # the province: sees every district's cameras
    "host.dinhhoa": ("host", "167"),
    "operator.dinhhoa": ("operator", "167"),
    "operator.tp": ("operator", "164"),  # another district
    "site.chochu": ("site", "05536"),
}
CLOSED = "rtsp://127.0.0.1:9/Streaming/Channels/{}"


@pytest.fixture(scope="module")
def wall_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_with_accounts(
        Path(tmp_path_factory.mktemp("wall")) / "data", ACCOUNTS, env=LOCAL_CAMERAS
    )
    yield server
    server.stop()


@pytest.fixture
async def api(wall_server: ServerProcess) -> AsyncIterator:
    async with logins(wall_server) as login:
        yield login


async def feeds_of(client: ApiClient, units: list[str]) -> list[str]:
    ids = []
    for index, unit in enumerate(units):
        feed = await register_feed(
            client, CLOSED.format(index), name=f"Làn {index}", unit_code=unit
        )
        ids.append(str(feed["id"]))
    return ids


async def test_a_wall_is_opened_only_with_feeds_in_scope_and_closed_only_by_its_owner(
    api,
) -> None:
    admin = await api("admin")
    dinhhoa_feeds = await feeds_of(admin, ["167", "167"])
    (tp_feed,) = await feeds_of(admin, ["164"])

    operator = await api("operator.dinhhoa")
    opened = await operator.call("POST", "/api/wall", {"feeds": dinhhoa_feeds})
    assert opened.status == 201, opened.body
    wall = opened.body
    assert [t["feed"] for t in wall["tiles"]] == dinhhoa_feeds
    assert all(t["mid"] for t in wall["tiles"])
    assert wall["ice_servers"] == []  # none configured: the page gets the meeting's list
    assert wall["offer"].count("m=video") == 2 and "a=sendonly" in wall["offer"]

    # A camera of another district refuses the whole wall, and so does one that does not exist.
    mixed = await operator.call("POST", "/api/wall", {"feeds": [*dinhhoa_feeds, tp_feed]})
    assert mixed.status == 403 and mixed.body["error"]["code"] == "out-of-scope"
    other = await api("operator.tp")
    refused = await other.call("POST", "/api/wall", {"feeds": dinhhoa_feeds[:1]})
    assert refused.status == 403 and refused.body["error"]["code"] == "out-of-scope"
    missing = await operator.call("POST", "/api/wall", {"feeds": ["ffffffff"]})
    assert missing.status == 403 and missing.body["error"]["code"] == "feed-not-found"
    # The province sees both districts' cameras on one wall.
    province = await api("host.tinh")
    both = await province.call("POST", "/api/wall", {"feeds": [*dinhhoa_feeds, tp_feed]})
    assert both.status == 201, both.body

    # A meeting site's account has no wall at all; nor has a caller without the CSRF token.
    site = await api("site.chochu")
    assert (await site.call("POST", "/api/wall", {"feeds": dinhhoa_feeds})).status == 403
    no_csrf = await operator.call("POST", "/api/wall", {"feeds": dinhhoa_feeds}, csrf=False)
    assert no_csrf.status == 403
    anonymous = ApiClient(operator.base_url)
    try:
        assert (await anonymous.call("POST", "/api/wall", {"feeds": dinhhoa_feeds})).status == 401
    finally:
        await anonymous.close()

    # Only its owner answers or closes a wall.
    answer = {"sdp": "v=0\r\n"}
    stranger = await other.call("POST", f"/api/wall/{wall['id']}/answer", answer)
    assert stranger.status == 403 and stranger.body["error"]["code"] == "wall-not-found"
    assert (await other.call("DELETE", f"/api/wall/{wall['id']}")).status == 403
    bad = await operator.call("POST", f"/api/wall/{wall['id']}/answer", answer)
    assert bad.status == 400 and bad.body["error"]["code"] == "invalid-sdp"
    assert (await operator.call("DELETE", f"/api/wall/{wall['id']}")).status == 204
    assert (await operator.call("DELETE", f"/api/wall/{wall['id']}")).status == 403  # gone


async def test_a_wall_refuses_bad_feed_lists(api) -> None:
    admin = await api("admin")
    (feed,) = await feeds_of(admin, ["167"])
    host = await api("host.dinhhoa")
    for body, status in (
        ({"feeds": []}, 400),
        ({"feeds": [feed] * 37}, 400),  # more than 36 tiles
        ({"feeds": [feed, feed]}, 403),  # one camera twice
        ({"feeds": ["../etc"]}, 400),
        ({"feeds": "abc"}, 400),
        ({"feeds": [feed], "layout": 16}, 400),  # a field the endpoint does not know
    ):
        reply = await host.call("POST", "/api/wall", body)
        assert reply.status == status, (body, reply.body)


async def test_the_wall_page_is_for_the_camera_roles(wall_server: ServerProcess, api) -> None:
    host = await api("host.dinhhoa")
    async with host.session.get(host.base_url + "/wall") as page:
        assert page.status == 200 and "Màn hình camera chốt" in await page.text()
    site = await api("site.chochu")
    async with site.session.get(site.base_url + "/wall") as refused:
        assert refused.status == 403


async def test_saved_walls_are_the_owners_and_only_of_feeds_in_scope(api) -> None:
    admin = await api("admin")
    dinhhoa = await feeds_of(admin, ["167", "167"])
    (tp_feed,) = await feeds_of(admin, ["164"])
    operator = await api("operator.dinhhoa")
    wall = {"name": "Chốt Km 52", "layout": 16, "feeds": dinhhoa}
    saved = await operator.call("POST", "/api/wall/saved", wall)
    assert saved.status == 201, saved.body
    assert saved.body["walls"] == [wall]
    again = {**wall, "layout": 25, "feeds": dinhhoa[:1]}  # the same name replaces it
    assert (await operator.call("POST", "/api/wall/saved", again)).body["walls"] == [again]

    other = {"name": "Hai huyện", "layout": 16, "feeds": [*dinhhoa, tp_feed]}
    refused = await operator.call("POST", "/api/wall/saved", other)
    assert refused.status == 403 and refused.body["error"]["code"] == "out-of-scope"
    for bad in (
        {**wall, "layout": 20},
        {**wall, "name": ""},
        {**wall, "feeds": ["../x"]},
        {**wall, "shared": True},
    ):
        assert (await operator.call("POST", "/api/wall/saved", bad)).status == 400, bad

    # Another account sees none of them, and cannot delete them.
    stranger = await api("host.dinhhoa")
    assert (await stranger.call("GET", "/api/wall/saved")).body["walls"] == []
    assert (await stranger.call("DELETE", "/api/wall/saved/Chốt Km 52")).status == 404
    assert (await operator.call("DELETE", "/api/wall/saved/Chốt Km 52")).status == 204
    assert (await operator.call("GET", "/api/wall/saved")).body["walls"] == []
