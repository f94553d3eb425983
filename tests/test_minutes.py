"""The minutes ("Biên bản cuộc họp") on a real server: PDF and DOCX content, and who may take them.

Sites join with aiortc over the real signaling socket, chat and vote; the
host uploads a document. Two aiortc sites speak in turn (a tone, its RFC
6464 levels written by aiortc) and the server's timeline has both; for the
content checks the timeline is written into the server's own store file.
The PDF's text is read back with pypdf, its first page drawn with pdfium;
the DOCX is read back with python-docx.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from typing import Any

import aiohttp
import pypdfium2
from docx import Document as open_docx
from pypdf import PdfReader

from conference.store import SpeakingInterval
from conference.store.sqlite import SqliteStore
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, meeting_body
from tests.support.console import Console
from tests.support.documents import pdf_bytes
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess
from tests.support.tone import ToneTrack
from tests.support.waiting import wait_until

TITLE = "Giao ban phòng chống dịch Quý 4"


async def _join(server: ServerProcess, meeting: str, token: str) -> SignalingClient:
    site = SignalingClient(server.base_url, meeting, token)
    await site.connect()
    await site.wait_for(lambda m: m["type"] == "offer")
    return site


async def _console(server: ServerProcess, host: ApiClient, meeting: str) -> Console:
    url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(url))
    await wait_until(lambda: bool(console.of_type("console")))
    return console


async def _get(client: ApiClient, path: str) -> tuple[int, bytes, dict[str, str]]:
    async with client.session.get(client.base_url + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def _upload(host: ApiClient, meeting: str, name: str, data: bytes) -> dict[str, Any]:
    url = f"{host.base_url}/api/meetings/{meeting}/documents"
    headers = {"Content-Type": "application/octet-stream", "X-CSRF-Token": host.csrf or ""}
    async with host.session.post(url, params={"name": name}, data=data, headers=headers) as r:
        assert r.status == 201, await r.text()
        return dict((await r.json())["document"])


async def _speaking(server: ServerProcess, meeting: str, now: float) -> None:
    """Two turns of the district and one of the commune, in the server's store file."""
    store = SqliteStore(server.data_dir / "conference.sqlite3")
    try:
        await store.add_speaking(
            [
                SpeakingInterval(meeting, "167", "Huyện Định Hóa", now - 300, now - 180),
                SpeakingInterval(meeting, "05539", "Xã Linh Thông", now - 170, now - 95),
                SpeakingInterval(meeting, "167", "Huyện Định Hóa", now - 90, now - 60),
            ]
        )
    finally:
        await store.close()


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(data: bytes) -> str:
    document = open_docx(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


async def test_minutes_say_who_came_spoke_decided_and_read(server: ServerProcess):
    host, meeting, tokens = await open_meeting(
        server, ["167", "05536", "05539", "05542"], title=TITLE
    )
    console = await _console(server, host, meeting)
    district = await _join(server, meeting, tokens["167"])
    commune = await _join(server, meeting, tokens["05539"])
    try:
        document = await _upload(host, meeting, "Báo cáo tình hình.pdf", pdf_bytes(pages=3))
        await commune.send({"type": "chat", "text": "Xã Linh Thông xin ý kiến", "to": "host"})
        await wait_until(lambda: bool(console.of_type("chat")))
        opened = await console.command(
            "vote-open", question="Thông qua kế hoạch?", options=["Đồng ý", "Không đồng ý"]
        )
        vote = opened["vote"]
        await commune.wait_for(lambda m: m["type"] == "vote")
        await commune.send({"type": "vote", "vote": vote, "choice": 0})
        await commune.wait_for(lambda m: m["type"] == "vote-answered")
        assert (await console.command("vote-close", vote=vote))["type"] == "result"
        await _speaking(server, meeting, time.time())

        # During the meeting: the PDF says what happened so far.
        status, pdf, headers = await _get(host, f"/api/meetings/{meeting}/minutes.pdf")
        assert status == 200, pdf[:300]
        assert headers["Content-Type"] == "application/pdf"
        disposition = headers["Content-Disposition"]
        assert re.fullmatch(
            r'attachment; filename="bien-ban-giao-ban-phong-chong-dich-quy-4-\d{4}-\d{2}-\d{2}\.pdf"',
            disposition,
        ), disposition
        assert pdf.startswith(b"%PDF-")
        text = _pdf_text(pdf)
        for expected in (
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "BIÊN BẢN CUỘC HỌP",
            TITLE,
            "HUYỆN ĐỊNH HÓA",
            "Xã Linh Thông",
            "Thị trấn Chợ Chu",  # invited, absent
            "Báo cáo tình hình.pdf",
            document["sha256"][:24],
            "Thông qua kế hoạch?",
            "Xã Linh Thông xin ý kiến",
            "đang diễn ra",
        ):
            assert expected in text, (expected, text)
        # Attendance by tier: the district 1 of 1, the communes 1 of 3 (a tier per line).
        assert re.search(r"Cấp huyện\s+1\s+1\b", text), text
        assert re.search(r"Cấp xã\s+1\s+3\b", text), text
        assert re.search(r"Tổng cộng\s+2\s+4\b", text), text
        # Who spoke: the district twice for 2 min 30 s in all, the commune once.
        assert re.search(r"Huyện Định Hóa\s+2\s+2 phút 30 giây", text), text
        assert re.search(r"Xã Linh Thông\s+1\s+1 phút 15 giây", text), text
        # Page 1 draws (pdfium): ink on white, in the page's proportions.
        page = pypdfium2.PdfDocument(pdf)[0]
        image = page.render(scale=1).to_pil().convert("L")
        assert abs(image.width / image.height - 210 / 297) < 0.01
        dark = sum(image.histogram()[:128])
        assert 0.005 < dark / (image.width * image.height) < 0.3

        status, docx, headers = await _get(host, f"/api/meetings/{meeting}/minutes.docx")
        assert status == 200
        assert headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        assert headers["Content-Disposition"].endswith('.docx"')
        words = _docx_text(docx)
        for expected in (
            "BIÊN BẢN CUỘC HỌP",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            TITLE,
            "Cấp xã | 1 | 3",
            "Huyện Định Hóa | 2 | 2 phút 30 giây",
            "Báo cáo tình hình.pdf | ",
            document["sha256"],
            "Đồng ý | 1",
            "Xã Linh Thông: Đồng ý",
        ):
            assert expected in words, (expected, words)
    finally:
        for client in (district, commune):
            await client.close()
        await console.close()
        await host.close()


async def test_minutes_are_for_the_meetings_hosts_and_their_superiors(server: ServerProcess):
    host, meeting, _tokens = await open_meeting(server, ["167", "05536"], title=TITLE)
    server.add_user("host.tinh", "host", "19", password=PASSWORD)  # the province: over 167
    server.add_user("host.tp", "host", "164", password=PASSWORD)  # another district
    server.add_user("site.chochu", "site", "05536", password=PASSWORD)  # invited, not a host
    province, other_host, site = (ApiClient(server.base_url) for _ in range(3))
    try:
        for client, name in (
            (province, "host.tinh"),
            (other_host, "host.tp"),
            (site, "site.chochu"),
        ):
            assert (await client.login(name, PASSWORD)).status == 200
        for suffix in ("pdf", "docx"):
            path = f"/api/meetings/{meeting}/minutes.{suffix}"
            assert (await _get(province, path))[0] == 200
            for outsider in (other_host, site):
                status, body, _ = await _get(outsider, path)
                assert status == 403, body
                assert b"%PDF" not in body and b"PK" not in body[:2]
            async with aiohttp.ClientSession() as anonymous:
                async with anonymous.get(server.base_url + path) as response:
                    assert response.status == 401
        # Several at once are written one after the other; each gets its file.
        both = await asyncio.gather(
            *(_get(c, f"/api/meetings/{meeting}/minutes.pdf") for c in (host, province, host))
        )
        assert [(s, b[:5]) for s, b, _ in both] == [(200, b"%PDF-")] * 3
        status, _, _ = await _get(host, "/api/meetings/no-such-meeting/minutes.pdf")
        assert status == 404
        # Another district's own meeting is its own; this one stays closed to it.
        theirs = await other_host.call("POST", "/api/meetings", meeting_body("164", ["164"]))
        assert theirs.status == 201, theirs.body
        path = f"/api/meetings/{theirs.body['meeting']['id']}/minutes.pdf"
        assert (await _get(other_host, path))[0] == 200
        assert (await _get(host, path))[0] == 403
    finally:
        for client in (host, province, other_host, site):
            await client.close()


async def test_two_aiortc_sites_speak_in_turn_and_the_minutes_list_both(server: ServerProcess):
    host, meeting, tokens = await open_meeting(server, ["167", "05539", "05542"], title=TITLE)
    district_tone, commune_tone = ToneTrack(loud=True), ToneTrack(loud=False)
    district = SignalingClient(
        server.base_url, meeting, tokens["167"], publish={"audio": district_tone}
    )
    commune = SignalingClient(
        server.base_url, meeting, tokens["05539"], publish={"audio": commune_tone}
    )
    try:
        for site in (district, commune):
            await site.connect()
        await commune.wait_for(lambda m: m["type"] == "speaker" and m["id"] == "167", timeout=40)
        # The district falls silent, the commune speaks: the speaker moves.
        district_tone.loud, commune_tone.loud = False, True
        await district.wait_for(lambda m: m["type"] == "speaker" and m["id"] == "05539", timeout=40)

        status, pdf, _ = await _get(host, f"/api/meetings/{meeting}/minutes.pdf")
        assert status == 200, pdf[:300]
        text = _pdf_text(pdf)
        # Each site's turns and speaking time (the commune's turn is the one under way).
        assert re.search(r"Huyện Định Hóa\s+1\s+\d+ giây", text), text
        assert re.search(r"Xã Linh Thông\s+1\s+\d+ giây", text), text

        # The district's closed turn is in the server's store.
        store = SqliteStore(server.data_dir / "conference.sqlite3")
        try:
            stored = await store.meeting_speaking(meeting)
        finally:
            await store.close()
        assert stored[0].site == "167" and stored[0].name == "Huyện Định Hóa"
        assert stored[0].end > stored[0].start
    finally:
        for site in (district, commune):
            await site.close()
        await host.close()
