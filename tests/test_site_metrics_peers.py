"""End to end: real aiortc sites in the real server, their link series in ``/metrics``.

Two sites publish VP8 and watch each other; ``/metrics`` (read from this
machine, as Prometheus on the server would) gets one set of per-site series
for each, labelled by the site id of its join token (one of them hostile
text), with plausible figures once the quality sampler has measured twice.
When one leaves, its series are gone at the next scrape and the other's stay.
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.prometheus import Sample, parse
from tests.support.server import ServerProcess
from tests.support.waiting import eventually

COMMUNE = "05536"
HOSTILE = 'xa"} 1\nconference_rooms 7 \\'  # a token subject with quotes, a newline, a backslash


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=90, gop=30), encode_opus(2.0)


async def scrape(server: ServerProcess, **headers: str) -> tuple[int, list[Sample]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.base_url}/metrics", headers=headers) as response,
    ):
        text = await response.text()
        if response.status != 200:
            return response.status, []
    return 200, parse(text.split("\n"))


def of_site(samples: list[Sample], site: str) -> dict[str, float]:
    """A site's series: name (or ``layer:<rid>``) -> value."""
    out = {}
    for name, labels, value in samples:
        if name.startswith("conference_site_") and labels.get("site") == site:
            key = f"layer:{labels['layer']}" if "layer" in labels else name
            out[key] = value
    return out


def plausible(series: dict[str, float]) -> bool:
    """Measured, and within what two sites on one machine can show."""
    needed = (
        "conference_site_downlink_kbps",
        "conference_site_loss_ratio",
        "conference_site_rtt_seconds",
    )
    if not all(name in series for name in needed):
        return False
    assert 0 < series["conference_site_downlink_kbps"] < 1_000_000
    assert 0 <= series["conference_site_loss_ratio"] <= 1
    assert 0 <= series["conference_site_rtt_seconds"] < 5
    # aiortc publishes one layer, which the SFU counts as "f": its main slot shows the other.
    return series.get("layer:f", 0) >= 1


async def test_metrics_show_each_connected_sites_link_and_drop_it_when_it_leaves(
    server: ServerProcess, room: str, clips
) -> None:
    video, audio = clips
    sites = {
        site_id: SignalingClient(
            server.base_url,
            room,
            server.token(room, "Tên hiển thị tự đặt", site_id=site_id),
            publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
            thumbnails=2,
        )
        for site_id in (COMMUNE, HOSTILE)
    }
    try:
        for client in sites.values():
            await client.connect()
            await client.wait_for(lambda m: m["type"] == "welcome")

        async def both_measured() -> dict[str, dict[str, float]] | None:
            _, samples = await scrape(server)
            found = {site: of_site(samples, site) for site in sites}
            return found if all(plausible(series) for series in found.values()) else None

        found = await eventually(both_measured, timeout=90, interval=1.0)
        for site, series in found.items():
            print(f"{site!r}: {series}")
            assert series["conference_site_video_slots"] == 3  # main and two thumbnails
            assert series["conference_site_link_paused_slots"] == 0
            assert {k for k in series if k.startswith("layer:")} == {
                "layer:q",
                "layer:h",
                "layer:f",
            }
        _, samples = await scrape(server)
        # The hostile subject forged no sample: one room, as the server says.
        assert [v for n, labels, v in samples if n == "conference_rooms"] == [1]
        # Behind a proxy and without the token: nothing, per-site series included.
        status, _ = await scrape(server, **{"X-Forwarded-For": "203.0.113.9"})
        assert status == 401

        await sites[HOSTILE].send({"type": "leave"})
        await sites[HOSTILE].wait_for(lambda m: m["type"] == "bye")

        async def only_the_commune() -> dict[str, float] | None:
            _, samples = await scrape(server)
            sites_seen = {
                labels.get("site")
                for name, labels, _ in samples
                if name.startswith("conference_site_")
            }
            return of_site(samples, COMMUNE) if sites_seen == {COMMUNE} else None

        remaining = await eventually(only_the_commune, timeout=30)
        assert remaining["conference_site_video_slots"] == 3
    finally:
        for client in sites.values():
            await client.close()
