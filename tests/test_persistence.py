"""No data is lost on kill -9: accounts, meetings and invitations, on both engines."""

from __future__ import annotations

import signal

import pytest

from tests.support.api_client import ApiClient, meeting_body
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import start_server

PASSWORD = "mat-khau-kiem-thu"


@pytest.mark.parametrize("engine", ["sqlite", "redis"])
async def test_accounts_and_meetings_survive_kill_9(engine, tmp_path, request):
    env: dict[str, str] = {}
    prefix = ""
    if engine == "redis":
        redis_url = request.getfixturevalue("redis_url")
        prefix = unique_prefix()
        env = {"CONFERENCE_REDIS_URL": redis_url, "CONFERENCE_REDIS_PREFIX": prefix}
    data = tmp_path / "data"
    server = start_server(data, env=env)
    try:
        server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        host = ApiClient(server.base_url)
        await host.login("host.dinhhoa", PASSWORD)
        subtree = [
            u["code"] for u in (await host.call("GET", "/api/units/167/subtree")).body["units"]
        ]
        created = await host.call(
            "POST", "/api/meetings", meeting_body("167", subtree, start_in=600)
        )
        assert created.status == 201
        meeting = created.body["meeting"]["id"]
        await host.close()

        server.stop(signal.SIGKILL)  # no shutdown handlers, no flushing
        assert server.process.returncode == -signal.SIGKILL
        server = start_server(data, env=env)

        again = ApiClient(server.base_url)
        assert (await again.login("host.dinhhoa", PASSWORD)).status == 200
        detail = await again.call("GET", f"/api/meetings/{meeting}")
        assert detail.status == 200
        assert detail.body["meeting"]["title"] == "Họp giao ban"
        assert [s["id"] for s in detail.body["invited"]] == subtree
        links = await again.call("GET", f"/api/meetings/{meeting}/links")
        assert len(links.body["links"]) == 24
        await again.close()
    finally:
        server.stop()
        if engine == "redis":
            await delete_prefixed(request.getfixturevalue("redis_url"), prefix)
