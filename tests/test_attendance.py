"""A meeting's attendance record: live, as a spreadsheet, for its hosts only, and kept
across a server restart."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from conference.attendance import Attendance
from conference.rooms.participant import Participant
from conference.rooms.roll_call import InvitedSite
from conference.rooms.room import Room
from conference.store import AttendanceRecord, Meeting
from conference.tokens import Role
from tests.support.accounts import logins, start_with_accounts
from tests.support.api_client import ApiClient, meeting_body
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.server import start_server
from tests.support.waiting import eventually

ACCOUNTS = {
    "host.dinhhoa": ("host", "167"),
    "host.tp": ("host", "164"),
    "operator.dinhhoa": ("operator", "167"),
}


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


async def statuses(host: ApiClient, meeting: str) -> dict[str, str]:
    reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
    assert reply.status == 200, reply.body
    return {s["site_id"]: s["status"] for s in reply.body["sites"]}


async def test_attendance_is_recorded_downloaded_and_kept(tmp_path: Path, clips) -> None:
    data_dir = tmp_path / "data"
    server = start_with_accounts(data_dir, ACCOUNTS)
    sites: list[SignalingClient] = []
    try:
        async with logins(server) as login:
            host = await login("host.dinhhoa")
            created = await host.call(
                "POST", "/api/meetings", meeting_body("167", ["167", "05536", "05539"], start_in=0)
            )
            assert created.status == 201, created.body
            meeting = created.body["meeting"]["id"]
            links = {
                link["site"]["id"]: link["url"].split("token=")[1]
                for link in (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
            }
            video, audio = clips
            for code in ("05536", "05539"):
                site = SignalingClient(
                    server.base_url,
                    meeting,
                    links[code],
                    publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
                )
                sites.append(site)
                await site.connect()
                await site.wait_for(lambda m: m["type"] == "offer")

            async def both_in() -> bool:
                now = await statuses(host, meeting)
                return now["05536"] == now["05539"] == "connected"

            await eventually(both_in)
            await sites[1].send({"type": "leave"})

            async def one_left() -> bool:
                return (await statuses(host, meeting))["05539"] == "left"

            await eventually(one_left)

            record = (await host.call("GET", f"/api/meetings/{meeting}/attendance")).body
            assert record["live"] is True
            assert (record["invited"], record["attended"]) == (3, 2)
            rows = {s["site_id"]: s for s in record["sites"]}
            assert rows["167"]["status"] == "not-joined" and rows["167"]["present_seconds"] == 0
            assert rows["167"]["first_joined_at"] is None
            assert rows["05536"]["first_joined_at"] and rows["05536"]["left_at"] is None
            assert rows["05539"]["left_at"] and rows["05539"]["present_seconds"] > 0
            assert rows["05539"]["kind"] == "site" and rows["05539"]["invited"] is True

            # The spreadsheet: a byte-order mark, Vietnamese headings, one row per site.
            async with host.session.get(
                f"{server.base_url}/api/meetings/{meeting}/attendance.csv"
            ) as response:
                assert response.status == 200
                assert response.content_type == "text/csv"
                assert "attachment" in response.headers["Content-Disposition"]
                raw = await response.read()
            assert raw.startswith("\ufeff".encode())
            table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert table[0][:3] == ["STT", "Mã điểm cầu", "Điểm cầu"]
            by_site = {row[1]: row for row in table[1:]}
            assert set(by_site) == {"167", "05536", "05539"}
            assert by_site["05539"][6] == "Đã rời" and by_site["05539"][8] != ""
            assert by_site["167"][6] == "Chưa vào" and by_site["167"][7] == ""
            assert by_site["05536"][6] == "Có mặt" and by_site["05536"][8] == ""

            # Only the meeting's hosts: not another district, not an operator.
            for username in ("host.tp", "operator.dinhhoa"):
                other = await login(username)
                for suffix in ("attendance", "attendance.csv"):
                    refused = await other.call("GET", f"/api/meetings/{meeting}/{suffix}")
                    assert refused.status == 403, (username, suffix, refused.body)
            missing = await host.call("GET", "/api/meetings/khong-co/attendance")
            assert missing.status == 404

            # The host keeps 05539 out and locks the room: that holds after a restart too.
            console = await host.session.ws_connect(
                server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
            )
            for number, (command, site_id) in enumerate((("remove", "05539"), ("lock", None))):
                await console.send_json(
                    {"type": "command", "id": number, "command": command, "site": site_id}
                )
                while (answer := await console.receive_json(timeout=30)).get("id") != number:
                    pass
                assert answer["type"] == "result", answer
            await console.close()
            first_joined = rows["05536"]["first_joined_at"]
            before = rows["05539"]["present_seconds"]
        for site in sites:
            await site.close()
        sites.clear()
    finally:
        for site in sites:
            await site.close()
        server.stop()

    # After a restart the record is still there: who came, when, and for how long;
    # the removed site stays out, and the locked room lets in only who was in.
    again = start_server(data_dir)
    try:
        for code, refusal in (("05539", "removed"), ("167", "room-locked"), ("05536", None)):
            client = SignalingClient(again.base_url, meeting, links[code])
            await client.connect()
            first = await client.wait_for(lambda m: m["type"] in ("error", "welcome"))
            await client.close()
            if refusal is None:
                assert first["type"] == "welcome", (code, first)
            else:
                assert first["type"] == "error" and first["code"] == refusal, (code, first)
        async with logins(again) as login:
            host = await login("host.dinhhoa")
            record = (await host.call("GET", f"/api/meetings/{meeting}/attendance")).body
            rows = {s["site_id"]: s for s in record["sites"]}
            assert rows["05539"]["status"] == "removed"
            assert rows["05536"]["status"] in ("left", "connecting", "connected")
            assert rows["05536"]["first_joined_at"] == first_joined
            assert rows["05536"]["present_seconds"] > 0
            assert rows["05539"]["present_seconds"] == pytest.approx(before, abs=0.2)
            assert rows["167"]["status"] == "not-joined"
            assert (record["invited"], record["attended"]) == (3, 2)
    finally:
        again.stop()


class OutageStore:
    """A store whose roll-call writes fail while ``down`` (Redis out), kept in a dict."""

    def __init__(self) -> None:
        self.down = False
        self.saved: dict[str, AttendanceRecord] = {}

    async def save_attendance(self, record: AttendanceRecord) -> None:
        if self.down:
            raise RedisConnectionError("Connection refused")
        self.saved[record.meeting_id] = record

    async def get_attendance(self, meeting_id: str) -> AttendanceRecord | None:
        if self.down:
            raise RedisConnectionError("Connection refused")
        return self.saved.get(meeting_id)


async def test_a_roll_call_of_a_room_closed_while_redis_is_out_is_saved_when_it_returns(caplog):
    store = OutageStore()
    attendance = Attendance(store)  # type: ignore[arg-type]
    meeting = Meeting("m1", "Họp", "", 0.0, 1e10, "167", "host", "m1", 0.0)
    room = Room("m1", "Họp", "vp8", invited=[InvitedSite("05536", "Chợ Chu", "05536", 2, "Xã")])
    attendance.opened(room)
    room.join(Participant(id="05536", name="Chợ Chu", role=Role.PARTICIPANT, notify=[].append))
    room.mute(["05536"])

    store.down = True
    with caplog.at_level(logging.WARNING, logger="conference.attendance"):
        await attendance.save(room, meeting)  # a pass while the room lives
        await attendance.save(room, meeting, final=True)  # the room closes
        await attendance.save_pending()
    assert store.saved == {}
    assert caplog.text.count("roll calls cannot be saved") == 1  # once per outage
    # Reopened meanwhile, the room would take back what it had.
    store.down = False
    saved = await attendance.saved(meeting)
    assert saved is not None and saved[2]["host_muted"] == ["05536"]

    await attendance.save_pending()
    record = store.saved["m1"]
    assert record.room["host_muted"] == ["05536"]
    assert [row["site_id"] for row in record.sites if row["first_joined_at"]] == ["05536"]
    assert attendance.pending == {}
    await room.close()
