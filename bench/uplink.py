"""What a silent, unseen Chromium site sends: its uplink, packet by packet.

One server, ten WHIP publishers (pre-encoded VP8 + Opus, each a site of the
meeting) and one real Chromium site that joins with its microphone off. Nobody
shows that site (the WHIP publishers have no slots), so its camera is paused;
it receives the main slot, eight thumbnails and three audio slots like a
commune in a provincial meeting.

Over ``--seconds`` windows the script reads that page's uplink two ways:

* Chromium's own count (``getStats``: the nominated candidate pair's
  ``bytesSent``), which is what the issue's target is stated in;
* the datagrams themselves, captured on the loopback interface (an
  ``AF_PACKET`` socket: run as root) and told apart by their first bytes
  (RFC 7983): STUN, DTLS, RTP, SRTCP. An SRTCP packet's first header and
  sender SSRC are in clear (RFC 3711), so each compound is counted by its
  first packet's type and length and by its sender SSRC; the rest is
  encrypted and only its size is known.

Prints JSON (last line of stdout): kbit/s per category (UDP payload, and
with 28 bytes of IPv4 + UDP headers), RTCP compounds by first packet type
and size, and by sender SSRC.

    .venv/bin/python bench/uplink.py [--seconds 15] [--rounds 2] [--publishers 10]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Page, async_playwright  # noqa: E402

from tests.support.browser import CHROMIUM, FLAGS  # noqa: E402
from tests.support.media import PacketTrack, encode_opus, encode_vp8  # noqa: E402
from tests.support.meetings import open_meeting  # noqa: E402
from tests.support.peers import whip_publish  # noqa: E402
from tests.support.server import start_server  # noqa: E402

DISTRICT = "167"
COMMUNES = ["05536", "05539", "05542", "05545", "05548", "05551", "05554", "05560", "05563"]
UNSEEN = "05566"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
IP_UDP_HEADERS = 28
RTCP_NAMES = {200: "SR", 201: "RR", 202: "SDES", 203: "BYE", 204: "APP", 205: "RTPFB", 206: "PSFB"}

# The page's local candidate ports and the nominated pair's bytesSent.
PAGE_UPLINK = """
async () => {
  const stats = await window.conference.pc.getStats();
  const ports = [];
  let bytes = 0;
  stats.forEach((s) => {
    if (s.type === 'local-candidate' && s.port) ports.push(s.port);
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') bytes += s.bytesSent;
  });
  return {ports, bytes};
}
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def classify(payload: bytes) -> tuple[str, str]:
    """(category, detail) of one datagram's UDP payload (RFC 7983, RFC 3550, RFC 5389)."""
    first = payload[0]
    if first < 4:
        kind = int.from_bytes(payload[0:2], "big")
        return "stun", {0x0001: "binding request", 0x0101: "binding response"}.get(kind, hex(kind))
    if 19 < first < 64:
        return "dtls", str(first)
    if 127 < first < 192 and len(payload) >= 8:
        pt = payload[1]
        if 191 < pt < 224:
            length = (int.from_bytes(payload[2:4], "big") + 1) * 4
            name = RTCP_NAMES.get(pt, str(pt))
            if pt in (205, 206):
                name += f" fmt {first & 31}"
            elif pt in (200, 201):
                name += f" {first & 31} blocks"
            ssrc = payload[4:8].hex()
            return "rtcp", f"{name} first ({length} B) of {len(payload)} B | ssrc {ssrc}"
        return "rtp", f"pt {pt & 0x7F} ssrc {payload[8:12].hex()}"
    return "other", str(first)


def _capture(ports: list[int], seconds: float, out: Any) -> None:
    """Child process: count datagrams sent from ``ports`` on ``lo`` for ``seconds``.

    A process of its own: the loopback carries every publisher's video too,
    and a thread beside ten aiortc peers lost most datagrams to the GIL.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 25)
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    wanted = set(ports)
    rows: list[tuple[str, str, int]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame, address = sock.recvfrom(65535)
        except TimeoutError:
            continue
        # Loopback shows each packet twice (outgoing and incoming): count it once.
        if address[2] == PACKET_OUTGOING:
            continue
        ip = frame[14:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            continue
        udp = ip[(ip[0] & 15) * 4 :]
        if int.from_bytes(udp[0:2], "big") not in wanted or len(udp) <= 8:
            continue
        category, detail = classify(udp[8:])
        rows.append((category, detail, len(udp) - 8))
    sock.close()
    out.put(rows)


def summarize(rows: list[tuple[str, str, int]], seconds: float) -> dict[str, Any]:
    """kbit/s per category and the RTCP compounds by shape and by sender SSRC."""

    def kbps(total: int) -> float:
        return round(total * 8 / seconds / 1000, 2)

    by_category: dict[str, list[int]] = collections.defaultdict(list)
    shapes: collections.Counter[str] = collections.Counter()
    senders: collections.Counter[str] = collections.Counter()
    stun: collections.Counter[str] = collections.Counter()
    for category, detail, size in rows:
        by_category[category].append(size)
        if category == "rtcp":
            shape, ssrc = detail.split(" | ")
            shapes[shape] += 1
            senders[ssrc] += 1
        elif category == "stun":
            stun[detail] += 1
    payload = sum(size for _, _, size in rows)
    return {
        "kbps_payload": kbps(payload),
        "kbps_with_ip_udp": kbps(payload + IP_UDP_HEADERS * len(rows)),
        "datagrams_per_s": round(len(rows) / seconds, 2),
        "categories": {
            name: {
                "datagrams_per_s": round(len(sizes) / seconds, 2),
                "kbps_payload": kbps(sum(sizes)),
                "kbps_with_ip_udp": kbps(sum(sizes) + IP_UDP_HEADERS * len(sizes)),
            }
            for name, sizes in sorted(by_category.items())
        },
        "stun": dict(stun),
        "rtcp_shapes_per_window": dict(shapes.most_common()),
        "rtcp_senders_per_window": dict(senders.most_common()),
    }


async def join_muted(browser: Any, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_selector("#join-button:not([disabled])")
    await page.click("#prejoin-mic")
    await page.wait_for_function("() => window.conference.micMuted")
    await page.click("#join-button")
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=60_000
    )
    return page


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-uplink-") as scratch:
        server = start_server(Path(scratch) / "data", *args.serve_args.split())
        whips = []
        try:
            publishers = [DISTRICT, *COMMUNES][: args.publishers]
            host, meeting, tokens = await open_meeting(server, [*publishers, UNSEEN])
            video, audio = encode_vp8(frames=60), encode_opus(2.0)
            for code in publishers:
                pc, response, _ = await whip_publish(
                    server.base_url, meeting, tokens[code], [PacketTrack(video), PacketTrack(audio)]
                )
                assert response.status == 201, response.status
                whips.append(pc)
            log(f"{len(whips)} WHIP publishers up")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=FLAGS, headless=True
                )
                page = await join_muted(
                    browser, f"{server.base_url}/join/{meeting}?token={tokens[UNSEEN]}"
                )
                await page.wait_for_function(
                    "() => Array.isArray(window.conference.publishVideo)"
                    " && window.conference.publishVideo.length === 0",
                    timeout=30_000,
                )
                answer = await page.evaluate("() => window.conference.pc.localDescription.sdp")
                await page.wait_for_timeout(3000)
                windows = []
                for round_ in range(args.rounds):
                    before = await page.evaluate(PAGE_UPLINK)
                    out: Any = multiprocessing.Queue()
                    child = multiprocessing.Process(
                        target=_capture, args=(before["ports"], args.seconds, out)
                    )
                    began = time.monotonic()
                    child.start()
                    await asyncio.sleep(args.seconds)
                    elapsed = time.monotonic() - began
                    sent = (await page.evaluate(PAGE_UPLINK))["bytes"] - before["bytes"]
                    rows = await asyncio.get_running_loop().run_in_executor(None, out.get)
                    child.join()
                    summary = summarize(rows, args.seconds)
                    summary["getstats_kbps"] = round(sent * 8 / elapsed / 1000, 2)
                    log(f"round {round_ + 1}: {json.dumps(summary)}")
                    windows.append(summary)
                await browser.close()
            await host.close()
        finally:
            for pc in whips:
                await pc.close()
            server.stop()
    return {
        "publishers": args.publishers,
        "seconds": args.seconds,
        "rtcp_rsize_in_answer": "a=rtcp-rsize" in answer,
        "received_sections": answer.count("a=recvonly"),
        "getstats_kbps": [w["getstats_kbps"] for w in windows],
        "loopback_kbps_with_ip_udp": [w["kbps_with_ip_udp"] for w in windows],
        "windows": windows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--publishers", type=int, default=10)
    parser.add_argument("--serve-args", default="")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
