"""A real Chromium behind a real thin downlink gets its main tile at a reduced frame rate.

The district publishes from a Chromium on this host (fake camera, VP8
simulcast, each layer in three temporal layers: getStats ``scalabilityMode``
"L1T3"); commune 05536 watches it in its main tile from a second Chromium
inside a network namespace whose downlink goes through a token bucket filter
(:class:`tests.support.thin_link.ThinLink`). The filter's rate is the
ceiling of the district's ``q`` layer (150 kbit/s, ``web/static/meeting/layers.js``):
the smallest layer at full rate plus the audio cannot pass, the same layer at
half rate (60 % of its bits) or at the base rate (40 %) can. The layer policy
hears it from the commune's REMB and forwards ``q`` with its upper temporal
layers dropped (``conference/layer_policy.py``, "Then the frame rate").

What is checked is what a site and the host see: the roll call says the
main slot is at "half" or "base"; the commune's Chromium keeps decoding the
district (no "Đường truyền yếu") at a frame rate clearly below what the
district's ``q`` encoder sends, measured between two samples at which the
roll call says the same reduced rate; the console's link cell says so.
Unshaped, the roll call drops the reduced rate and the commune decodes every
frame again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import CONSOLE_ROW, MAIN_TILE, login, open_site
from tests.support.console import Console
from tests.support.meetings import open_meeting
from tests.support.server import ServerProcess
from tests.support.thin_link import ThinLink
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "167"
COMMUNE = "05536"
# The q layer's bitrate ceiling (layers.js): q at full rate plus the audio does not
# fit, q at half or base rate plus the audio does. If the commune's estimate
# settles where even that does not show, the next rates are tried.
THIN_KBIT = (150, 130, 110)
SAMPLE_MS = 5000  # between the two samples of a rate: about 100 frames of a 20 fps camera
# The receiver's frames over the publisher's: every frame is 1, L1T3 at half
# rate 0.5, at the base rate 0.25.
MOST = {"half": 0.75, "base": 0.5}
LABELS = {"half": "½ hình/s", "base": "hình/s thấp nhất"}

# The publisher's video encodings: frames sent, bytes, and temporal structure per rid.
OUTBOUND_VIDEO = """
async () => {
  const c = window.conference;
  const out = {};
  (c.pc ? await c.pc.getStats() : new Map()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) {
      out[s.rid] = {sent: s.framesSent || 0, bytes: s.bytesSent || 0, mode: s.scalabilityMode || null};
    }
  });
  return out;
}
"""


@dataclass
class Sample:
    """One look at the roll call, the receiver and the publisher."""

    quality: dict[str, Any]  # the commune's roll-call quality
    messages: int  # console messages received so far
    tile: dict[str, Any]  # the commune's main tile (MAIN_TILE)
    outbound: dict[str, dict[str, Any]]  # the district's encodings (OUTBOUND_VIDEO)

    @property
    def main_rate(self) -> str:
        """The main slot's frame rate in the roll call: "half", "base" or "full"."""
        return (self.quality.get("frame_rates") or {}).get("main", "full")

    @property
    def main_layer(self) -> str | None:
        return (self.quality.get("layers") or {}).get("main")


async def sample(console: Console, commune: Page, district: Page) -> Sample:
    quality = dict(console.sites.get(COMMUNE, {}).get("quality") or {})
    messages = len(console.messages)
    tile = await commune.evaluate(MAIN_TILE)
    outbound = await district.evaluate(OUTBOUND_VIDEO)
    return Sample(quality, messages, tile, outbound)


def main_rates_between(console: Console, first: Sample, second: Sample) -> set[str]:
    """Every frame rate of the commune's main slot the roll call sent between two samples."""
    seen = {first.main_rate, second.main_rate}
    for message in console.messages[first.messages : second.messages]:
        if message["type"] == "roll-call":
            for site in message["sites"]:
                if site["site_id"] == COMMUNE:
                    rates = (site.get("quality") or {}).get("frame_rates") or {}
                    seen.add(rates.get("main", "full"))
    return seen


def ratio(first: Sample, second: Sample, rid: str) -> float:
    """Frames the commune decoded over frames the district sent of layer ``rid``, between
    the two samples."""
    decoded = second.tile["decoded"] - first.tile["decoded"]
    sent = second.outbound[rid]["sent"] - first.outbound[rid]["sent"]
    assert sent > 0, (first.outbound, second.outbound)
    return decoded / sent


async def test_a_thin_downlink_takes_the_main_tile_to_a_reduced_frame_rate_and_back(
    open_server: ServerProcess, thin_link: ThinLink, thin_browser: Browser, browser: Browser
) -> None:
    server = open_server
    host, meeting, tokens = await open_meeting(server, [DISTRICT, COMMUNE])
    port = server.base_url.rsplit(":", 1)[1]
    inner_base = f"http://{thin_link.host_address}:{port}"
    socket_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(socket_url))
    try:
        # 60 s as in the weak-link test: time for the page's own retry (its connect
        # timeout is 30 s) if a first attempt stalls while the veth is new.
        district = await open_site(
            browser, f"{server.base_url}/join/{meeting}?token={tokens[DISTRICT]}", timeout_ms=60_000
        )
        commune = await open_site(
            thin_browser, f"{inner_base}/join/{meeting}?token={tokens[COMMUNE]}", timeout_ms=60_000
        )

        async def main_decodes() -> dict[str, Any] | None:
            tile = await commune.evaluate(MAIN_TILE)
            ok = tile["site"] == DISTRICT and tile["decoded"] >= 30 and not tile["marker"]
            return tile if ok else None

        # Unshaped, the commune shows the district in its main tile.
        await eventually(main_decodes, timeout=60)

        # The district's smallest layer carries temporal layers: it can be reduced.
        async def q_layer() -> dict[str, Any] | None:
            out: dict[str, dict[str, Any]] = await district.evaluate(OUTBOUND_VIDEO)
            return out["q"] if out.get("q", {}).get("mode") else None

        q = await eventually(q_layer)
        assert q["mode"] in ("L1T3", "L1T2"), q

        page = await login(browser, server.base_url, "host.dinhhoa")
        await page.goto(f"{server.base_url}/meetings/{meeting}/console")

        async def steady(reduced: bool) -> tuple[Sample, Sample] | None:
            """Two samples SAMPLE_MS apart at which the roll call says the same frame
            rate of the main slot (reduced or full, as asked), with no other rate
            sent between them, the same layer, and the tile decoding, unmarked."""
            first = await sample(console, commune, district)
            if (first.main_rate != "full") != reduced or first.main_layer is None:
                return None
            await commune.wait_for_timeout(SAMPLE_MS)
            second = await sample(console, commune, district)
            rates = main_rates_between(console, first, second)
            tiles = (first.tile, second.tile)
            ok = (
                rates == {first.main_rate}
                and second.main_layer == first.main_layer
                and all(t["site"] == DISTRICT and not t["marker"] for t in tiles)
                and second.tile["decoded"] > first.tile["decoded"]
            )
            return (first, second) if ok else None

        # A thin downlink: the main slot gets q at a reduced frame rate.
        found = None
        for rate_kbit in THIN_KBIT:
            thin_link.shape(rate_kbit)
            try:
                found = await eventually(lambda: steady(reduced=True), timeout=60, interval=0.2)
                break
            except AssertionError:
                continue  # the estimate settled above the band: a thinner link
        assert found is not None, f"no reduced frame rate at {THIN_KBIT} kbit/s"
        first, second = found
        reduced_rate, reduced_ratio = first.main_rate, ratio(first, second, "q")
        assert first.main_layer == "q"
        assert "main" not in (second.quality.get("link_paused") or [])
        # Clearly fewer frames than the district's q encoder sends, but frames.
        assert 0.1 <= reduced_ratio <= MOST[reduced_rate], (reduced_rate, reduced_ratio)
        print(
            f"main at {reduced_rate} rate on a {rate_kbit} kbit/s link: received/sent "
            f"{reduced_ratio:.2f} over {SAMPLE_MS / 1000:.0f} s; commune downlink estimate "
            f"{second.quality.get('downlink_kbps')} kbit/s; q at "
            f"{(second.outbound['q']['bytes'] - first.outbound['q']['bytes']) * 8 / SAMPLE_MS:.0f}"
            f" kbit/s; shaper {thin_link.counters()}"
        )

        # The console's link cell says it, and its title names the slot.
        async def console_shows_rate() -> dict[str, Any] | None:
            row = await page.evaluate(CONSOLE_ROW, COMMUNE)
            if not row or not row["layers"].startswith("q · "):
                return None
            label = row["layers"].split(" · ")[1]
            shown = [rate for rate, text in LABELS.items() if text == label]
            expected = f"Giảm số hình/s: main {label}"
            return row if shown and expected in row["title"] and not row["bad"] else None

        row = await eventually(console_shows_rate, timeout=60)
        print(f"console link cell: {row['layers']!r}")

        # Unshaped: every frame again, and the roll call says so.
        thin_link.unshape()
        first, second = await eventually(lambda: steady(reduced=False), timeout=90, interval=0.2)
        full_ratio = ratio(first, second, first.main_layer or "q")
        assert 0.85 <= full_ratio <= 1.15, full_ratio
        print(f"unshaped: main at {first.main_layer}, every frame: received/sent {full_ratio:.2f}")

        async def console_shows_full() -> dict[str, Any] | None:
            row = await page.evaluate(CONSOLE_ROW, COMMUNE)
            if not row or row["layers"].split(" · ")[0] not in ("q", "h", "f"):
                return None
            full = "hình/s" not in row["layers"] and "Giảm số hình/s: –" in row["title"]
            return row if full else None

        await eventually(console_shows_full, timeout=60)
        assert all(not p.errors for p in (district, commune, page))  # type: ignore[attr-defined]
    finally:
        await console.close()
        await host.close()
