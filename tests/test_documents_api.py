"""A meeting's documents over HTTP on a real server: upload, list, download, delete, scope, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, Reply, meeting_body
from tests.support.documents import (
    docx_bytes,
    pdf_bytes,
    pdf_with_hidden_script,
    pdf_with_open_action_script,
    png_bytes,
)
from tests.support.meetings import open_meeting
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import wait_until

LIMIT = 300_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose documents may be at most LIMIT bytes."""
    proc = start_server(tmp_path / "data", env={"CONFERENCE_DOCUMENTS_MAX_BYTES": str(LIMIT)})
    yield proc
    proc.stop()


async def upload(client: ApiClient, meeting: str, name: str, data: Any, **headers: str) -> Reply:
    """POST the file as the body, as the pages do."""
    sent = {"Content-Type": "application/octet-stream", **headers}
    if client.csrf:
        sent["X-CSRF-Token"] = client.csrf
    url = f"{client.base_url}/api/meetings/{meeting}/documents?name={quote(name)}"
    async with client.session.post(url, data=data, headers=sent) as response:
        body = await response.json(content_type=None)
        return Reply(response.status, body)


async def fetch(
    session: aiohttp.ClientSession, url: str, **headers: str
) -> tuple[int, bytes, dict[str, str]]:
    async with session.get(url, headers=headers) as response:
        return response.status, await response.read(), dict(response.headers)


def stored_files(server: ServerProcess) -> list[Path]:
    """Every file under the documents folder (kept and incoming alike)."""
    root = server.data_dir / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_host_uploads_sites_list_and_download_the_same_bytes_host_deletes(server):
    host, meeting, tokens = await open_meeting(server, ["167", "05536"])
    pdf = pdf_bytes(3)
    name = "Báo cáo tình hình quý 3/2026.pdf"
    try:
        created = await upload(host, meeting, name, pdf)
        assert created.status == 201, created.body
        document = created.body["document"]
        assert document["name"] == "2026.pdf"  # the "/" ended a folder: only the last part stays
        assert document["kind"] == "pdf" and document["size"] == len(pdf)
        assert document["sha256"] == hashlib.sha256(pdf).hexdigest()
        assert document["uploaded_by"] == "host.dinhhoa"
        # On disk: by id, the same bytes; nothing left in the incoming folder.
        assert stored_files(server) == [server.data_dir / "documents" / document["id"]]
        assert stored_files(server)[0].read_bytes() == pdf

        docx = await upload(host, meeting, "Tờ trình số 12.docx", docx_bytes())
        assert docx.status == 201, docx.body

        listed = await host.call("GET", f"/api/meetings/{meeting}/documents")
        assert listed.status == 200
        assert [d["name"] for d in listed.body["documents"]] == ["2026.pdf", "Tờ trình số 12.docx"]
        assert listed.body["shown"] is None

        # The host downloads it: same bytes, as an attachment with its Vietnamese name.
        status, body, headers = await fetch(host.session, server.base_url + document["url"])
        assert status == 200 and body == pdf
        assert headers["Content-Type"] == "application/pdf"
        assert headers["X-Content-Type-Options"] == "nosniff"
        disposition = headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="2026.pdf"')
        word = (await host.call("GET", f"/api/meetings/{meeting}/documents")).body["documents"][1]
        _, _, headers = await fetch(host.session, server.base_url + word["url"])
        assert headers["Content-Disposition"] == (
            'attachment; filename="To trinh so 12.docx"; '
            "filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh%20s%E1%BB%91%2012.docx"
        )
        # Shown inline in the page: sandboxed, framed by this site only.
        _, _, headers = await fetch(host.session, server.base_url + document["url"] + "?inline=1")
        assert headers["Content-Disposition"].startswith("inline;")
        assert "sandbox" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]

        # An invited site in the meeting page: lists with its join token, opens by the key.
        async with aiohttp.ClientSession() as site:
            bearer = {"Authorization": f"Bearer {tokens['05536']}"}
            status, body, _ = await fetch(
                site, f"{server.base_url}/api/meetings/{meeting}/documents", **bearer
            )
            assert status == 200
            seen = json.loads(body)["documents"]
            assert [d["id"] for d in seen] == [document["id"], word["id"]]
            assert "key=" in seen[0]["url"]
            status, body, _ = await fetch(site, server.base_url + seen[0]["url"])
            assert status == 200 and body == pdf
            # A key opens its own document only, and a document never without one.
            other = seen[1]["url"].replace(word["id"], document["id"])
            assert (await fetch(site, server.base_url + other))[0] == 403
            assert (await fetch(site, server.base_url + document["url"]))[0] == 401

        deleted = await host.call("DELETE", f"/api/meetings/{meeting}/documents/{document['id']}")
        assert deleted.status == 200
        listed = await host.call("GET", f"/api/meetings/{meeting}/documents")
        assert [d["name"] for d in listed.body["documents"]] == ["Tờ trình số 12.docx"]
        assert (await fetch(host.session, server.base_url + document["url"]))[0] == 404
        assert [p.name for p in stored_files(server)] == [word["id"]]
    finally:
        await host.close()


async def test_documents_are_scoped_like_the_meeting(server):
    host, meeting, _tokens = await open_meeting(server, ["167", "05536"])
    server.add_user("site.chochu", "site", "05536", password=PASSWORD)
    server.add_user("site.songcau", "site", "05539", password=PASSWORD)
    server.add_user("host.tp", "host", "164", password=PASSWORD)
    invited, stranger, other_host = (ApiClient(server.base_url) for _ in range(3))
    try:
        await invited.login("site.chochu", PASSWORD)
        await stranger.login("site.songcau", PASSWORD)
        await other_host.login("host.tp", PASSWORD)
        created = await upload(host, meeting, "Kế hoạch.pdf", pdf_bytes())
        assert created.status == 201
        doc_url = created.body["document"]["url"]

        # The invited site's account reads, and cannot upload or delete.
        assert (await invited.call("GET", f"/api/meetings/{meeting}/documents")).status == 200
        assert (await fetch(invited.session, server.base_url + doc_url))[0] == 200
        refused = await upload(invited, meeting, "Của tôi.pdf", pdf_bytes())
        assert refused.status == 403, refused.body
        gone = await invited.call("DELETE", doc_url)
        assert gone.status == 403
        doc_id = created.body["document"]["id"]
        shown = f"/api/meetings/{meeting}/shown-document"
        refused = await invited.call("PUT", shown, {"document": doc_id, "page": 1})
        assert (refused.status, refused.code) == (403, "not-your-meeting")
        assert (await invited.call("DELETE", shown)).status == 403
        # The host's bad requests to show one: a page out of range, a document not there.
        bad_page = await host.call("PUT", shown, {"document": doc_id, "page": 0})
        assert bad_page.status == 400
        missing = await host.call("PUT", shown, {"document": "0" * 32, "page": 1})
        assert missing.status == 404
        # A site not invited and a host of another district see nothing.
        for outsider in (stranger, other_host):
            assert (await outsider.call("GET", f"/api/meetings/{meeting}/documents")).status == 403
            assert (await fetch(outsider.session, server.base_url + doc_url))[0] == 403
        assert (await upload(other_host, meeting, "x.pdf", pdf_bytes())).status == 403
        # Nobody logged in: 401.
        async with aiohttp.ClientSession() as anonymous:
            assert (await fetch(anonymous, server.base_url + doc_url))[0] == 401

        # A site's join token of another meeting does not open this one's documents.
        other = await other_host.call(
            "POST", "/api/meetings", meeting_body("164", ["164"], start_in=0, title="Họp khác")
        )
        assert other.status == 201, other.body
        links = await other_host.call("GET", f"/api/meetings/{other.body['meeting']['id']}/links")
        other_token = links.body["links"][0]["url"].split("token=")[1]
        async with aiohttp.ClientSession() as site:
            bearer = {"Authorization": f"Bearer {other_token}"}
            status, _, _ = await fetch(
                site, f"{server.base_url}/api/meetings/{meeting}/documents", **bearer
            )
            assert status == 403
            status, _, _ = await fetch(site, server.base_url + doc_url, **bearer)
            assert status == 403
        # Only the host's one upload was kept.
        listed = await host.call("GET", f"/api/meetings/{meeting}/documents")
        assert [d["name"] for d in listed.body["documents"]] == ["Kế hoạch.pdf"]
        assert len(stored_files(server)) == 1
    finally:
        for client in (host, invited, stranger, other_host):
            await client.close()


async def _slow_body(total: int) -> AsyncIterator[bytes]:
    yield b"%PDF-1.4\n"
    sent = 9
    while sent < total:
        yield b"0" * 65536
        sent += 65536


async def test_bad_uploads_are_refused_and_leave_nothing(server):
    host, meeting, _tokens = await open_meeting(server, ["167"])
    try:
        cases = [
            # Over the limit, declared: refused before the body is read.
            ("lớn.pdf", b"%PDF-1.4\n" + b"0" * LIMIT, 413, "too-large"),
            # Over the limit, streamed without a length: cut off once it passes the limit.
            ("lớn hơn.pdf", _slow_body(LIMIT * 3), 413, "too-large"),
            ("ảnh.pdf", png_bytes(), 415, "type-mismatch"),
            ("chương trình.exe", b"MZ\x90\x00" * 10, 415, "unsupported-type"),
            ("kịch bản.pdf", pdf_with_open_action_script(), 422, "pdf-script"),
            ("ẩn.pdf", pdf_with_hidden_script(), 422, "pdf-script"),
            ("trống.pdf", b"", 400, "empty-file"),
            ("../../..", pdf_bytes(), 400, "bad-name"),
        ]
        for name, data, status, code in cases:
            refused = await upload(host, meeting, name, data)
            assert (refused.status, refused.body["error"]["code"]) == (status, code), name
        listed = await host.call("GET", f"/api/meetings/{meeting}/documents")
        assert listed.body["documents"] == []
        assert stored_files(server) == []

        # A client that goes away in the middle of its upload leaves nothing either.
        host_part, port = server.base_url.removeprefix("http://").split(":")
        _reader, writer = await asyncio.open_connection(host_part, int(port))
        cookies = "; ".join(f"{c.key}={c.value}" for c in host.session.cookie_jar)
        writer.write(
            (
                f"POST /api/meetings/{meeting}/documents?name=cut.pdf HTTP/1.1\r\n"
                f"Host: {host_part}:{port}\r\nCookie: {cookies}\r\n"
                f"X-CSRF-Token: {host.csrf}\r\nContent-Length: 200000\r\n\r\n"
            ).encode()
            + b"%PDF-1.4\n"
            + b"0" * 50_000
        )
        await writer.drain()
        await wait_until(lambda: bool(stored_files(server)))  # it is being written
        writer.close()
        await wait_until(lambda: not stored_files(server))

        # A name that climbs folders is only a name: the file is stored by id.
        kept = await upload(host, meeting, "../../../../etc/cron.d/x.pdf", pdf_bytes())
        assert kept.status == 201 and kept.body["document"]["name"] == "x.pdf"
        assert stored_files(server) == [server.data_dir / "documents" / kept.body["document"]["id"]]
        # The server still serves everyone after all that.
        assert (await host.call("GET", f"/api/meetings/{meeting}/documents")).status == 200
        # A file gone from this server's disk (another node's upload, removed by hand): 404.
        stored_files(server)[0].unlink()
        gone = await host.call("GET", kept.body["document"]["url"])
        assert (gone.status, gone.code) == (404, "not-found")
    finally:
        await host.close()
