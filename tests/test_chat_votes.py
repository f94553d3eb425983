"""Chat and votes over the real sockets: sites (aiortc) and the host console on a real server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient, meeting_body
from tests.support.console import Console
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.waiting import wait_until

SITES = ["05536", "05539", "05542"]


async def _join(server: Any, meeting: str, token: str) -> SignalingClient:
    site = SignalingClient(server.base_url, meeting, token)
    await site.connect()
    await site.wait_for(lambda m: m["type"] == "offer")
    return site


def _chats(client: SignalingClient) -> list[str]:
    return [m["text"] for m in client.of_type("chat")]


def _errors(client: SignalingClient, code: str) -> list[dict[str, Any]]:
    return [m for m in client.of_type("error") if m["code"] == code]


async def _console(server: Any, host: ApiClient, meeting: str) -> Console:
    url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(url))
    await wait_until(lambda: bool(console.of_type("console")))
    return console


async def test_chat_to_all_and_to_the_host_is_delivered_kept_and_limited(server):
    host, meeting, tokens = await open_meeting(server, ["167", *SITES])
    console = await _console(server, host, meeting)
    sites = {code: await _join(server, meeting, tokens[code]) for code in ["167", *SITES]}
    a, b, host_site = sites["05536"], sites["05539"], sites["167"]
    try:
        # To everyone: every site and the console, with the sender's name; markup stays text.
        await a.send({"type": "chat", "text": "  <b>Xin chào</b> các điểm cầu \u0007", "to": "all"})
        for client in sites.values():
            got = await client.wait_for(lambda m: m["type"] == "chat")
            assert got["text"] == "<b>Xin chào</b> các điểm cầu"
            assert got["site"] == "05536" and got["name"] == "Thị trấn Chợ Chu"
            assert got["to"] == "all" and got["host"] is False
        await wait_until(lambda: len(console.of_type("chat")) == 1)

        # To the host: the console, the host site and the sender; not the other sites.
        await b.send({"type": "chat", "text": "Xin phát biểu", "to": "host"})
        await wait_until(lambda: len(console.of_type("chat")) == 2)
        assert console.of_type("chat")[1]["to"] == "host"
        await host_site.wait_for(lambda m: m["type"] == "chat" and m["text"] == "Xin phát biểu")
        await b.wait_for(lambda m: m["type"] == "chat" and m["text"] == "Xin phát biểu")

        # The host answers everyone from the console.
        reply = await console.command("chat", text="Mời Xã Linh Thông phát biểu")
        assert reply["type"] == "result", reply
        for client in sites.values():
            got = await client.wait_for(lambda m: m.get("text") == "Mời Xã Linh Thông phát biểu")
            assert got["host"] is True and got["site"] == "167"
        assert "Xin phát biểu" not in _chats(sites["05542"]) + _chats(a)

        # Bad input: empty, oversized, a flood. The sender alone is told; nothing is kept.
        await a.send({"type": "chat", "text": " \n\t "})
        await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "chat-empty")
        await a.send({"type": "chat", "text": "x" * 1001})
        too_long = await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "chat-too-long")
        assert "1000" in too_long["message"] and not too_long["fatal"]
        await a.send({"type": "chat", "text": "ok", "to": "everyone"})
        await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "invalid-message")
        flood = [f"tin {i}" for i in range(12)]
        for text in flood:
            await a.send({"type": "chat", "text": text})
        await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "chat-rate-limited")
        await a.send({"type": "ping", "id": 9})
        await a.wait_for(lambda m: m["type"] == "pong" and m["id"] == 9)  # every answer is in
        refused = len(_errors(a, "chat-rate-limited"))
        delivered = [t for t in _chats(b) if t.startswith("tin ")]
        assert refused >= 1 and len(delivered) + refused == len(flood)
        assert not _errors(b, "chat-rate-limited")  # nobody else is limited
        await b.send({"type": "chat", "text": "Xã Linh Thông vẫn gửi được"})
        await a.wait_for(lambda m: m.get("text") == "Xã Linh Thông vẫn gửi được")

        listed = await host.call("GET", f"/api/meetings/{meeting}/chat")
        assert listed.status == 200, listed.body
        texts = [m["text"] for m in listed.body["messages"]]
        assert texts == [
            "<b>Xin chào</b> các điểm cầu",
            "Xin phát biểu",
            "Mời Xã Linh Thông phát biểu",
            *delivered,
            "Xã Linh Thông vẫn gửi được",
        ]
        assert listed.body["messages"][1]["to"] == "host"
        assert listed.body["messages"][2]["host"] is True
        seqs = [m["seq"] for m in listed.body["messages"]]
        assert seqs == sorted(seqs)

        # Another district's host may not read it.
        server.add_user("host.tp", "host", "164", password=PASSWORD)
        other = ApiClient(server.base_url)
        await other.login("host.tp", PASSWORD)
        assert (await other.call("GET", f"/api/meetings/{meeting}/chat")).status == 403
        assert (await other.call("GET", f"/api/meetings/{meeting}/votes")).status == 403
        await other.close()
    finally:
        for client in sites.values():
            await client.close()
        await console.close()
        await host.close()


async def test_a_vote_goes_round_once_per_site_and_its_result_is_kept(server):
    host, meeting, tokens = await open_meeting(server, ["167", *SITES])
    console = await _console(server, host, meeting)
    a = await _join(server, meeting, tokens["05536"])
    b = await _join(server, meeting, tokens["05539"])
    # A meeting of another district, running at the same time, with a site of its own.
    server.add_user("host.tp", "host", "164", password=PASSWORD)
    other_host = ApiClient(server.base_url)
    await other_host.login("host.tp", PASSWORD)
    subtree = (await other_host.call("GET", "/api/units/164/subtree")).body["units"]
    codes = [u["code"] for u in subtree][:3]
    created = await other_host.call("POST", "/api/meetings", meeting_body("164", codes, start_in=0))
    assert created.status == 201, created.body
    other_meeting = created.body["meeting"]["id"]
    other_links = (await other_host.call("GET", f"/api/meetings/{other_meeting}/links")).body
    stranger_token = next(
        link["url"].split("token=")[1]
        for link in other_links["links"]
        if link["site"]["id"] != "164"
    )
    stranger = await _join(server, other_meeting, stranger_token)
    late: SignalingClient | None = None
    try:
        # Only the host opens a vote: a site cannot, and a bad vote is refused.
        await a.send({"type": "vote-open", "question": "?", "options": ["a", "b"]})
        await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "invalid-message")
        for bad in (
            {"question": "Thông qua?", "options": ["Đồng ý"]},
            {"question": "Thông qua?", "options": [str(i) for i in range(11)]},
            {"question": " ", "options": ["Đồng ý", "Không"]},
            {"question": "Thông qua?", "options": ["Đồng ý", "Đồng ý"]},
        ):
            refused = await console.command("vote-open", **bad)
            assert refused["type"] == "error" and refused["code"] == "vote-invalid", refused
        assert (await host.call("GET", f"/api/meetings/{meeting}/votes")).body["votes"] == []

        opened = await console.command(
            "vote-open",
            question="Thông qua nghị quyết?",
            options=["Đồng ý", "Không đồng ý", "Ý kiến khác"],
            secret=False,
        )
        assert opened["type"] == "result", opened
        vote = opened["vote"]
        again = await console.command("vote-open", question="Khác?", options=["Có", "Không"])
        assert again["code"] == "vote-already-open"
        for site in (a, b):
            shown = await site.wait_for(lambda m: m["type"] == "vote")
            assert shown["vote"]["id"] == vote and shown["vote"]["options"][1] == "Không đồng ý"
        assert not stranger.of_type("vote")

        # A site that joins while the vote is open is asked too.
        late = await _join(server, meeting, tokens["05542"])
        await late.wait_for(lambda m: m["type"] == "vote" and m["vote"]["id"] == vote)

        await a.send({"type": "vote", "vote": vote, "choice": 0})
        await a.wait_for(lambda m: m["type"] == "vote-answered" and m["choice"] == 0)
        await b.send({"type": "vote", "vote": vote, "choice": 1})
        await b.wait_for(lambda m: m["type"] == "vote-answered")
        # Second answer: refused, the first stands; a choice past the options; another
        # meeting's site cannot reach this vote.
        await a.send({"type": "vote", "vote": vote, "choice": 1})
        await a.wait_for(lambda m: m["type"] == "error" and m["code"] == "vote-already-answered")
        await late.send({"type": "vote", "vote": vote, "choice": 3})
        await late.wait_for(lambda m: m["type"] == "error" and m["code"] == "vote-bad-choice")
        await stranger.send({"type": "vote", "vote": vote, "choice": 0})
        await stranger.wait_for(lambda m: m["type"] == "error" and m["code"] == "vote-not-found")

        # The host sees who answered what, live.
        await wait_until(
            lambda: any(t["counts"] == [1, 1, 0] for t in console.of_type("vote-tally"))
        )
        tally = [t for t in console.of_type("vote-tally") if t["counts"] == [1, 1, 0]][-1]
        assert {(x["site"], x["choice"]) for x in tally["ballots"]} == {("05536", 0), ("05539", 1)}
        assert tally["invited"] == 4
        assert not a.of_type("vote-tally")  # sites see the result only at the end

        closed = await console.command("vote-close", vote=vote)
        assert closed["type"] == "result", closed
        for site in (a, b, late):
            result = await site.wait_for(lambda m: m["type"] == "vote-result")
            assert result["counts"] == [1, 1, 0] and result["vote"]["open"] is False
            assert {x["name"] for x in result["ballots"]} == {"Thị trấn Chợ Chu", "Xã Linh Thông"}
        await late.send({"type": "vote", "vote": vote, "choice": 2})
        await late.wait_for(lambda m: m["type"] == "error" and m["code"] == "vote-closed")
        assert (await console.command("vote-close", vote=vote))["code"] == "vote-closed"
        assert (await console.command("vote-close", vote="nothing"))["code"] == "vote-not-found"

        # A secret vote: counts only, for the host and at the end.
        opened = await console.command(
            "vote-open", question="Bầu tổ trưởng?", options=["Ông A", "Bà B"], secret=True
        )
        secret = opened["vote"]
        await a.wait_for(lambda m: m["type"] == "vote" and m["vote"]["id"] == secret)
        await a.send({"type": "vote", "vote": secret, "choice": 1})
        await b.send({"type": "vote", "vote": secret, "choice": 1})
        await wait_until(
            lambda: any(
                t["vote"]["id"] == secret and t["counts"] == [0, 2]
                for t in console.of_type("vote-tally")
            )
        )
        assert all(t["ballots"] == [] for t in console.of_type("vote-tally") if t["vote"]["secret"])
        await console.command("vote-close", vote=secret)
        result = await a.wait_for(
            lambda m: m["type"] == "vote-result" and m["vote"]["id"] == secret
        )
        assert result["counts"] == [0, 2] and result["ballots"] == []

        listed = await host.call("GET", f"/api/meetings/{meeting}/votes")
        assert listed.status == 200, listed.body
        first, second = listed.body["votes"]
        assert first["id"] == vote and first["counts"] == [1, 1, 0] and first["answered"] == 2
        assert {(x["site"], x["option"]) for x in first["ballots"]} == {
            ("05536", "Đồng ý"),
            ("05539", "Không đồng ý"),
        }
        assert first["closed_at"] is not None and not first["open"]
        assert second["secret"] and second["counts"] == [0, 2] and second["ballots"] == []
        # The other meeting has none of it.
        theirs = await other_host.call("GET", f"/api/meetings/{other_meeting}/votes")
        assert theirs.status == 200 and theirs.body["votes"] == []
    finally:
        for client in (a, b, stranger, late):
            if client is not None:
                await client.close()
        await console.close()
        await host.close()
        await other_host.close()


async def test_the_console_needs_the_meetings_host(server):
    host, meeting, _tokens = await open_meeting(server, ["167", *SITES])
    server.add_user("host.tp", "host", "164", password=PASSWORD)
    other = ApiClient(server.base_url)
    await other.login("host.tp", PASSWORD)
    url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await other.session.ws_connect(url)
    assert refused.value.status == 403
    await other.close()
    await host.close()


async def test_a_site_joining_again_gets_the_chat_so_far_and_its_answer(server):
    host, meeting, tokens = await open_meeting(server, ["167", *SITES])
    console = await _console(server, host, meeting)
    a = await _join(server, meeting, tokens["05536"])
    b = await _join(server, meeting, tokens["05539"])
    again: list[SignalingClient] = []
    try:
        await a.send({"type": "chat", "text": "Chào cả hội nghị"})
        await a.send({"type": "chat", "text": "Riêng chủ trì", "to": "host"})
        await wait_until(lambda: len(console.of_type("chat")) == 2)  # in this order
        await b.send({"type": "chat", "text": "Xã Linh Thông riêng chủ trì", "to": "host"})
        await wait_until(lambda: len(console.of_type("chat")) == 3)
        opened = await console.command(
            "vote-open", question="Kín?", options=["Có", "Không"], secret=True
        )
        secret = opened["vote"]
        await a.wait_for(lambda m: m["type"] == "vote")
        await a.send({"type": "vote", "vote": secret, "choice": 1})
        await a.wait_for(lambda m: m["type"] == "vote-answered")
        await a.close()

        # A joins again: the chat it may read (not B's word to the host), and it answered.
        a2 = await _join(server, meeting, tokens["05536"])
        again.append(a2)
        question = await a2.wait_for(lambda m: m["type"] == "vote")
        assert question["answered"] is True and question["choice"] is None  # secret: not kept
        assert _chats(a2) == ["Chào cả hội nghị", "Riêng chủ trì"]
        # The host site reads every message to the host; a newcomer only those to all.
        host_site = await _join(server, meeting, tokens["167"])
        again.append(host_site)
        await host_site.wait_for(lambda m: m["type"] == "vote")
        assert _chats(host_site) == [
            "Chào cả hội nghị",
            "Riêng chủ trì",
            "Xã Linh Thông riêng chủ trì",
        ]
        newcomer = await _join(server, meeting, tokens["05542"])
        again.append(newcomer)
        fresh = await newcomer.wait_for(lambda m: m["type"] == "vote")
        assert fresh["answered"] is False
        assert _chats(newcomer) == ["Chào cả hội nghị"]
    finally:
        for client in (b, *again):
            await client.close()
        await console.close()
        await host.close()
