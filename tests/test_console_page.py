"""The host console page: what the server hands its script."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from tests.support.api_client import ApiClient, meeting_body
from tests.support.server import start_server

PASSWORD = "mat-khau-kiem-thu"


async def test_console_page_carries_the_configured_time_zone(tmp_path: Path) -> None:
    # The console shows join times, hands and alerts in CONFERENCE_TIMEZONE, not the browser's zone.
    server = start_server(tmp_path / "data", env={"CONFERENCE_TIMEZONE": "Asia/Tokyo"})
    host = ApiClient(server.base_url)
    try:
        server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        await host.login("host.dinhhoa", PASSWORD)
        created = await host.call("POST", "/api/meetings", meeting_body("167", ["167"]))
        assert created.status == 201, created.body
        meeting = created.body["meeting"]["id"]

        status, _, text = await host.text(f"/meetings/{meeting}/console")
        assert status == 200
        found = re.search(r'data-page="([^"]*)"', text)
        assert found, "no page data"
        page = json.loads(html.unescape(found.group(1)))
        assert page["timezone"] == "Asia/Tokyo"
        assert page["meeting_id"] == meeting
    finally:
        await host.close()
        server.stop()
