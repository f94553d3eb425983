"""A meeting open on a test server, with a join token per invited site."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, meeting_body
from tests.support.server import ServerProcess


async def open_meeting(
    server: ServerProcess, units: list[str], **extra: Any
) -> tuple[ApiClient, str, dict[str, str]]:
    """Định Hóa's host (unit 167) opens a meeting of ``units`` now.

    Returns the host's client, the meeting id and each invited site's join token.
    """
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    host = ApiClient(server.base_url)
    await host.login("host.dinhhoa", PASSWORD)
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", units, start_in=0, **extra)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    return host, meeting, {link["site"]["id"]: link["url"].split("token=")[1] for link in links}
