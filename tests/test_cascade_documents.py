"""A meeting's documents over two nodes: bytes uploaded at one are served by the other,
and a document shown at the home opens at the carrier's sites.

Real ``conference serve`` nodes on one Redis with ``CONFERENCE_CASCADE=spread``:
the Redis store keeps each upload's bytes in chunks (``document-bytes:<id>``);
the node without the file fetches them, checks the SHA-256, and serves them.
A site at each node (signaling only); the host shows from either node: at the
carrier the command runs at the home, and the home's state carries the shown
document to the carrier copy, whose sites (also one that joins later) open it.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis.asyncio
from PIL import Image

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, Reply
from tests.support.cascade import SpreadCluster, SpreadMeeting, spread_meeting
from tests.support.documents import pdf_bytes
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess


@pytest.fixture
def spread(tmp_path: Path, redis_url: str) -> Iterator[dict[str, ServerProcess]]:
    """Two nodes of one cluster that spread meetings (stopped after the test)."""
    cluster = SpreadCluster(tmp_path, redis_url)
    yield cluster.start()
    cluster.stop()


def noise_png() -> bytes:
    """A PNG of random pixels: about 3 MB that do not compress (several chunks in Redis)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000)).save(out, format="PNG")
    return out.getvalue()


async def upload(client: ApiClient, meeting: str, name: str, data: bytes) -> Reply:
    """POST the file as the body, as the pages do."""
    headers = {"Content-Type": "application/octet-stream", "X-CSRF-Token": client.csrf or ""}
    url = f"{client.base_url}/api/meetings/{meeting}/documents?name={quote(name)}"
    async with client.session.post(url, data=data, headers=headers) as response:
        return Reply(response.status, await response.json(content_type=None))


async def download(client: ApiClient, url: str) -> tuple[int, bytes]:
    async with client.session.get(client.base_url + url) as response:
        return response.status, await response.read()


async def chunks_kept(m: SpreadMeeting, document_id: str) -> int:
    """How many chunks of the document's bytes Redis holds."""
    client = redis.asyncio.Redis.from_url(m.env["CONFERENCE_REDIS_URL"])
    try:
        key = f"{m.env['CONFERENCE_REDIS_PREFIX']}document-bytes:{document_id}"
        return int(await client.llen(key))
    finally:
        await client.aclose()


async def logged_in(node: ServerProcess) -> ApiClient:
    client = ApiClient(node.base_url)
    assert (await client.login("host.dinhhoa", PASSWORD)).status == 200
    return client


async def test_bytes_uploaded_at_one_node_download_identical_at_the_other(spread):
    m = await spread_meeting(spread)
    at_home, at_carrier = await logged_in(m.home), await logged_in(m.carrier)
    try:
        png = noise_png()
        assert len(png) > 2 * 1024 * 1024
        created = await upload(at_carrier, m.id, "Bản đồ quy hoạch.png", png)
        assert created.status == 201, created.body
        document = created.body["document"]
        assert await chunks_kept(m, document["id"]) == -(-len(png) // (1024 * 1024))
        cached = m.home.data_dir / "documents" / document["id"]
        assert not cached.exists()  # received at the carrier only

        status, body = await download(at_home, document["url"])
        assert status == 200 and body == png
        # Kept on the home's disk, checked: a second download reads it there.
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == document["sha256"]
        assert await download(at_home, document["url"]) == (200, png)
        assert list((m.home.data_dir / "documents" / "incoming").iterdir()) == []

        # Deleted at the home: the record and the chunks go; neither node serves it.
        gone = await at_home.call("DELETE", f"/api/meetings/{m.id}/documents/{document['id']}")
        assert gone.status == 200
        assert await chunks_kept(m, document["id"]) == 0
        for client in (at_home, at_carrier):
            assert (await download(client, document["url"]))[0] == 404
    finally:
        await at_home.close()
        await at_carrier.close()
    for node in spread.values():
        assert "Traceback" not in node.log()


async def test_a_document_shown_at_the_home_opens_at_the_carriers_sites(spread):
    m = await spread_meeting(spread)
    near = SignalingClient(m.home.base_url, m.id, m.tokens["05536"])
    far = SignalingClient(m.carrier.base_url, m.id, m.tokens["05539"])
    late = SignalingClient(m.carrier.base_url, m.id, m.tokens["05542"])
    at_home, at_carrier = await logged_in(m.home), await logged_in(m.carrier)
    shown_path = f"/api/meetings/{m.id}/shown-document"

    def shown(site: SignalingClient, document_id: str | None, page: int = 1):
        return site.wait_for(
            lambda x: (
                x["type"] == "document"
                and x["id"] == document_id
                and (document_id is None or x["page"] == page)
            ),
            timeout=30,
        )

    try:
        created = await upload(at_home, m.id, "Báo cáo.pdf", pdf_bytes(3))
        assert created.status == 201, created.body
        doc = created.body["document"]["id"]
        for site in (near, far):
            await site.connect()
            first = await site.wait_for(lambda x: x["type"] in ("welcome", "redirect", "_closed"))
            assert first["type"] == "welcome", first  # served where it came

        # Shown at the home: its site and the carrier's open it at that page.
        put = await at_home.call("PUT", shown_path, {"document": doc, "page": 2})
        assert put.status == 200, put.body
        for site in (near, far):
            got = await shown(site, doc, 2)
            assert got["name"] == "Báo cáo.pdf" and got["kind"] == "pdf"
        # An upload at the carrier: the sites at both nodes list the documents again.
        extra = await upload(at_carrier, m.id, "Tờ trình.pdf", pdf_bytes(1))
        assert extra.status == 201, extra.body
        for site in (near, far):
            await site.wait_for(lambda x: x["type"] == "documents", timeout=30)
        # A site joining at the carrier afterwards opens the shown one at once.
        await late.connect()
        await shown(late, doc, 2)
        # The carrier's list says what is shown too.
        listed = await at_carrier.call("GET", f"/api/meetings/{m.id}/documents")
        assert listed.body["shown"]["id"] == doc and listed.body["shown"]["page"] == 2

        # From the carrier (its room is a copy): hidden, then shown, at the home.
        hidden = await at_carrier.call("DELETE", shown_path)
        assert hidden.status == 200, hidden.body
        for site in (near, far, late):
            await shown(site, None)
        put = await at_carrier.call("PUT", shown_path, {"document": doc, "page": 3})
        assert put.status == 200, put.body
        for site in (near, far, late):
            await shown(site, doc, 3)

        # Deleted at the carrier while shown: every site closes it, Redis keeps nothing.
        far.messages.clear()
        near.messages.clear()
        gone = await at_carrier.call("DELETE", f"/api/meetings/{m.id}/documents/{doc}")
        assert gone.status == 200, gone.body
        for site in (near, far):
            await shown(site, None)
            await site.wait_for(lambda x: x["type"] == "documents", timeout=30)
        assert await chunks_kept(m, doc) == 0
        # A document not of this meeting cannot be shown from either node.
        for client in (at_home, at_carrier):
            refused = await client.call("PUT", shown_path, {"document": doc, "page": 1})
            assert refused.status == 404, refused.body
    finally:
        for site in (near, far, late):
            await site.close()
        await at_home.close()
        await at_carrier.close()
    for node in spread.values():
        assert "Traceback" not in node.log()
