"""Travel declarations over HTTP: imports all or nothing, hand entry, scope, alerts and notes.

One server for the module on each store engine (SQLite, then Redis); its cameras point at nothing, the passes
are written as the manager writes them and checked by the manager's own
checker (tests/support/declarations.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.accounts import logins, start_with_accounts
from tests.support.declarations import make_mismatch
from tests.support.feeds import LOCAL_CAMERAS
from tests.support.redis_keys import unique_prefix
from tests.support.server import ServerProcess

ACCOUNTS = {
    "admin": ("admin", None),
    "host.tinh": ("host", "19"),
    "host.dinhhoa": ("host", "167"),
    "operator.dinhhoa": ("operator", "167"),
    "operator.tp": ("operator", "164"),
    "host.tp": ("host", "164"),
    "viewer.dinhhoa": ("viewer", "167"),
}

BAD = """biển số,họ tên,nơi đi,từ,đến,điện thoại
30A-123.45,Nguyễn Văn A,Hà Nội,2021-11-05,2021-11-06,0912345678
30A-12,Trần B,Hà Nội,2021-11-05,2021-11-06,
30A12346,Lê C,Hà Bắc,2021-11-05,2021-11-06,
30A12347,Phạm D,29,2021-11-06,2021-11-05,
30A12348,Hoàng E,29,2021-11-05,2021-11-06,12345
30A-123.45,Nguyễn Văn A,Hà Nội,2021-11-05,2021-11-06,
""".encode()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on each store engine in turn: all or nothing holds on both."""
    env = dict(LOCAL_CAMERAS)
    if request.param == "redis":
        env |= {
            "CONFERENCE_REDIS_URL": request.getfixturevalue("redis_url"),
            "CONFERENCE_REDIS_PREFIX": unique_prefix(),
        }
    the_server = start_with_accounts(
        Path(tmp_path_factory.mktemp("declarations")) / "data", ACCOUNTS, env=env
    )
    yield the_server
    the_server.stop()


@pytest.fixture
async def as_user(server: ServerProcess) -> AsyncIterator:
    async with logins(server) as login:
        yield login


async def _upload(client, data: bytes, content_type: str, query: str = "") -> tuple[int, dict]:
    async with client.session.post(
        client.base_url + "/api/anpr/declarations/upload" + query,
        data=data,
        headers={"X-CSRF-Token": client.csrf or "", "Content-Type": content_type},
    ) as response:
        return response.status, await response.json()


async def test_an_import_with_bad_rows_stores_nothing_and_names_each_line(as_user):
    host = await as_user("host.dinhhoa")
    operator = await as_user("operator.dinhhoa")
    status, body = await _upload(host, BAD, "text/csv")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    assert [(e["line"], e["code"]) for e in body["error"]["details"]["errors"]] == [
        (3, "bad-plate"),
        (4, "unknown-province"),
        (5, "inverted-window"),
        (6, "bad-phone"),
        (7, "duplicate"),
    ]
    assert body["error"]["message"].startswith("dòng 3: biển số")
    assert (await host.call("GET", "/api/anpr/declarations")).body["declarations"] == []
    assert (await _upload(operator, BAD, "text/csv"))[0] == 403  # supervisors import files
    status, body = await _upload(host, b"x" * (5 * 1024 * 1024), "text/csv")
    assert status == 413

    good = "\n".join(BAD.decode().splitlines()[:2]) + "\n20A-999.99,Đỗ F,TP HCM,2021-11-05,,\n"
    status, body = await _upload(host, good.encode(), "text/csv")
    assert status == 400 and body["error"]["details"]["errors"][0]["line"] == 3
    status, body = await _upload(host, good.replace(",,", ",2021-11-07,").encode(), "text/csv")
    assert status == 201 and body == {"added": 2}
    listed = (await operator.call("GET", "/api/anpr/declarations")).body["declarations"]
    assert sorted((d["plate"], d["origin"], d["unit_code"]) for d in listed) == [
        ("20A99999", "TP Hồ Chí Minh", "167"),
        ("30A12345", "Hà Nội", "167"),
    ]
    found = await operator.call("GET", "/api/anpr/declarations?plate=30A-123.45")
    assert [d["driver"] for d in found.body["declarations"]] == ["Nguyễn Văn A"]
    # Another district sees none of them; the province sees them all.
    other = await as_user("operator.tp")
    assert (await other.call("GET", "/api/anpr/declarations")).body["declarations"] == []
    province = await as_user("host.tinh")
    assert len((await province.call("GET", "/api/anpr/declarations")).body["declarations"]) == 2
    viewer = await as_user("viewer.dinhhoa")
    assert (await viewer.call("GET", "/api/anpr/declarations")).status == 403

    # The same file again: every row is stored already for this unit, each named, none kept
    # twice; another district's supervisor keeps its own.
    again = good.replace(",,", ",2021-11-07,").encode()
    status, body = await _upload(host, again, "text/csv")
    assert status == 400 and body["error"]["code"] == "bad-upload"
    assert [(e["line"], e["code"]) for e in body["error"]["details"]["errors"]] == [
        (2, "already-stored"),
        (3, "already-stored"),
    ]
    more = again + b"29A-222.22,Mai H,Ha Noi,2021-11-05,2021-11-06,\n"
    assert (await _upload(host, more, "text/csv"))[0] == 400
    assert len((await host.call("GET", "/api/anpr/declarations")).body["declarations"]) == 2
    status, body = await _upload(await as_user("host.tp"), again, "text/csv")
    assert status == 201 and body == {"added": 2}


async def test_a_declaration_is_deleted_by_a_supervisor_of_its_unit_only(as_user):
    host = await as_user("host.dinhhoa")
    row = "30B-555.55,Vũ G,Hà Nội,2021-11-05,2021-11-06,\n"
    status, _ = await _upload(
        host, (BAD.decode().splitlines()[0] + "\n" + row).encode(), "text/csv"
    )
    assert status == 201
    [found] = (await host.call("GET", "/api/anpr/declarations?plate=30B55555")).body["declarations"]
    path = f"/api/anpr/declarations/{found['id']}"
    # Another district's supervisor is not told it exists; an officer may not delete.
    assert (await (await as_user("host.tp")).call("DELETE", path)).status == 404
    assert (await (await as_user("operator.dinhhoa")).call("DELETE", path)).status == 403
    assert (await (await as_user("host.tinh")).call("DELETE", path)).status == 204
    assert (await host.call("DELETE", path)).status == 404
    assert (await host.call("DELETE", "/api/anpr/declarations/nope")).status == 404
    listed = (await host.call("GET", "/api/anpr/declarations?plate=30B55555")).body
    assert listed["declarations"] == []


async def test_one_declaration_by_hand_is_checked_field_by_field(as_user):
    operator = await as_user("operator.dinhhoa")
    bad = {
        "plate": "30A-12",
        "driver": "A",
        "origin": "Atlantis",
        "valid_from": "2021-11-06T08:00",
        "valid_to": "2021-11-05T08:00",
        "phone": "12",
    }
    reply = await operator.call("POST", "/api/anpr/declarations", bad)
    assert reply.status == 400 and reply.code == "bad-declaration"
    assert [e["field"] for e in reply.body["error"]["details"]["errors"]] == [
        "plate",
        "origin",
        "valid_to",
        "phone",
    ]
    good = {**bad, "plate": "29A-111.11", "origin": "ha noi", "valid_to": "2021-11-07", "phone": ""}
    reply = await operator.call("POST", "/api/anpr/declarations", good)
    assert reply.status == 201, reply.body
    assert (reply.body["plate"], reply.body["origin_code"], reply.body["source"]) == (
        "29A11111",
        "29",
        "form",
    )


async def test_a_mismatch_alert_its_evidence_and_an_officers_note(server, as_user):
    admin = await as_user("admin")
    officer = await as_user("operator.dinhhoa")
    made = await make_mismatch(server, admin, officer, "167", "164")
    listed = (await officer.call("GET", "/api/anpr/declaration-alerts")).body["alerts"]
    assert [a["id"] for a in listed] == [made.alert.id]
    alert = (await officer.call("GET", f"/api/anpr/declaration-alerts/{made.alert.id}")).body
    assert alert["kind"] == "mismatch" and "Bắc Giang" in alert["reason"]
    assert [e["id"] for e in alert["evidence"]] == [made.here.id, made.elsewhere.id]
    assert alert["declaration"]["driver"] == "Nguyễn Văn Bình"
    assert alert["declaration"]["phone"] == "0912345678"
    # The other district's pass is shown to this officer as the alert's evidence only.
    crop = alert["evidence"][1]["crop_url"]
    async with officer.session.get(officer.base_url + crop) as response:
        assert response.status == 200 and (await response.read())[:2] == b"\xff\xd8"
    events_url = f"/api/anpr/events/{made.elsewhere.id}/plate.jpg"
    async with officer.session.get(officer.base_url + events_url) as response:
        assert response.status == 404

    note = {"outcome": "false", "text": "Lái xe khai đi từ Bắc Giang, đã lập biên bản"}
    reply = await officer.call("POST", f"/api/anpr/declaration-alerts/{made.alert.id}/notes", note)
    assert reply.status == 201 and reply.body["outcome_label"] == "Khai báo sai"
    bad = await officer.call(
        "POST", f"/api/anpr/declaration-alerts/{made.alert.id}/notes", {"outcome": "maybe"}
    )
    assert bad.status == 400
    alert = (await officer.call("GET", f"/api/anpr/declaration-alerts/{made.alert.id}")).body
    assert alert["outcome"] == "false"
    assert [(n["by"], n["outcome"], n["text"]) for n in alert["notes"]] == [
        ("operator.dinhhoa", "false", note["text"])
    ]

    # Another district's officer: nothing listed, nothing shown, no note taken.
    other = await as_user("operator.tp")
    assert (await other.call("GET", "/api/anpr/declaration-alerts")).body["alerts"] == []
    path = f"/api/anpr/declaration-alerts/{made.alert.id}"
    assert (await other.call("GET", path)).status == 404
    assert (await other.call("POST", path + "/notes", note)).status == 404
    async with other.session.get(other.base_url + crop) as response:
        assert response.status == 404
    # Nor may it set the rules of a camera out of its scope.
    rule = {"province_code": "20", "required": "all"}
    reply = await other.call("PUT", f"/api/anpr/feeds/{made.here.feed_id}/declaration-rule", rule)
    assert reply.status == 404
