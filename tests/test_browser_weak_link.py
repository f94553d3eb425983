"""A real Chromium site behind a real thin downlink: the weak-link marker, the console, /metrics.

The district publishes from a Chromium on this host; commune 05536 joins
from a second Chromium inside a network namespace whose downlink goes
through a token bucket filter (:class:`tests.support.thin_link.ThinLink`).
When the link is cut to a trickle, the server's layer policy hears it from
the commune's own REMB and loss reports, no layer of the district's camera
fits even at its base frame rate, the link loses packets, and after a few
seconds the main slot is paused for the link: the commune's tile says
"Đường truyền yếu" and its video is no longer fed (no picture frozen in the
middle of a frame). The host's console shows the commune's downlink row,
/metrics the room's link gauges. Then the shaping goes and it all recovers.
Last, paused again, the district leaves: an empty slot withholds nothing, so
the pause leaves the commune's row and /metrics with it.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import CONSOLE_ROW, MAIN_TILE, login, open_site
from tests.support.meetings import open_meeting
from tests.support.server import ServerProcess
from tests.support.thin_link import ThinLink
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "167"
COMMUNE = "05536"
# Audio (~45 kbit/s with its headers) fits, the camera's smallest layer at its base frame
# rate beside it does not: the link loses packets, which is what pauses a main tile.
THIN_KBIT = 64

# Count every change of the main tile's marker, so that two samples with the
# marker shown are known to belong to one pause (not a pause, a trial, a pause).
WATCH_MARKER = """
() => {
  window.__markerChanges = window.__markerChanges || 0;
  const tile = document.querySelector('.tile[data-slot="main"]');
  new MutationObserver(() => { window.__markerChanges += 1; }).observe(
    tile, {subtree: true, attributes: true, attributeFilter: ['hidden', 'class']});
}
"""


def number(text: str) -> float | None:
    """A number as the console writes it (Vietnamese: '.' groups thousands, ',' is the point)."""
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").rstrip("%")
    cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


async def join(browser: Browser, url: str) -> Page:
    """A site joined through ``url``; the namespaced Chromium may take up to a minute."""
    return await open_site(browser, url, timeout_ms=60_000)


async def metrics(server: ServerProcess) -> dict[str, float]:
    """``/metrics`` read from this machine (loopback may read it), series -> value."""
    async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_a_thin_downlink_marks_the_tile_weak_and_the_console_shows_the_link(
    open_server: ServerProcess, thin_link: ThinLink, thin_browser: Browser, browser: Browser
) -> None:
    server = open_server
    host, meeting, tokens = await open_meeting(server, [DISTRICT, COMMUNE])
    port = server.base_url.rsplit(":", 1)[1]
    inner_base = f"http://{thin_link.host_address}:{port}"
    console: Page | None = None
    try:
        district = await join(browser, f"{server.base_url}/join/{meeting}?token={tokens[DISTRICT]}")
        commune = await join(thin_browser, f"{inner_base}/join/{meeting}?token={tokens[COMMUNE]}")
        await commune.evaluate(WATCH_MARKER)

        async def main_decodes(at_least: int) -> dict[str, Any] | None:
            tile = await commune.evaluate(MAIN_TILE)
            ok = tile["site"] == DISTRICT and tile["decoded"] >= at_least and not tile["marker"]
            return tile if ok else None

        # Unshaped, the commune shows the district in its main tile, no marker.
        await eventually(lambda: main_decodes(30), timeout=60)

        # The host's console, on this host's normal link.
        console = await login(browser, server.base_url, "host.dinhhoa")
        await console.goto(f"{server.base_url}/meetings/{meeting}/console")

        # A trickle of a downlink: the main slot is paused for the link.
        thin_link.shape(THIN_KBIT)
        shaped_at = time.monotonic()

        async def paused_and_starved() -> dict[str, Any] | None:
            """Two samples of one pause, the marker shown at both and no packet in between."""
            before = await commune.evaluate(MAIN_TILE)
            if not (before["marker"] and "main" in before["paused"]):
                return None
            await commune.wait_for_timeout(2500)
            after = await commune.evaluate(MAIN_TILE)
            same_pause = after["marker"] and after["changes"] == before["changes"]
            starved = (
                after["packets"] == before["packets"] and after["decoded"] == before["decoded"]
            )
            return after if same_pause and starved else None

        paused = await eventually(paused_and_starved, timeout=120, interval=0.2)
        # For the report only (the deadline asserts nothing about speed): includes the 2.5 s sample.
        to_pause = time.monotonic() - shaped_at
        assert paused["markerText"] == "Đường truyền yếu"
        assert paused["dimmed"]  # the last picture is greyed under the marker, not left as live
        assert paused["downlink"] is not None and paused["downlink"] < 1000
        print(
            f"paused for the link: downlink estimate {paused['downlink']} kbit/s on a "
            f"{THIN_KBIT} kbit/s link, {to_pause:.1f} s after shaping (with the 2.5 s "
            f"sample); shaper {thin_link.counters()}"
        )

        # The console's row of the commune: its downlink estimate, the pause, loss and RTT.
        async def console_shows_pause() -> dict[str, Any] | None:
            row = await console.evaluate(CONSOLE_ROW, COMMUNE)
            if not row or not row["bad"] or "dừng" not in row["layers"]:
                return None
            kbps, rtt, loss = number(row["kbps"]), number(row["rtt"]), number(row["loss"])
            measured = rtt is not None and loss is not None and 0 <= loss <= 100
            # The estimate is the commune's own REMB: it cannot be far above what the link carries.
            plausible = kbps is not None and 0 < kbps < 4 * THIN_KBIT
            return row if measured and plausible else None

        row = await eventually(console_shows_pause, timeout=60)
        header = await console.text_content('.rc-header [data-i18n="console.col.link"]')
        assert header == "Đường xuống (kbps)"  # the cell's first figure has its unit
        assert "main" in row["title"] and "Tạm dừng vì đường truyền yếu: main" in row["title"]
        print(f"console row of the weak site: {row}")

        async def metrics_show_pause() -> dict[str, float] | None:
            values = await metrics(server)
            label = f'{{room="{meeting}"}}'
            paused_sites = values.get(f"conference_room_sites_link_paused{label}", 0)
            weakest = values.get(f"conference_room_downlink_kbps_min{label}")
            ok = paused_sites >= 1 and weakest is not None and weakest < 4 * THIN_KBIT
            return values if ok and values["conference_slots_link_paused"] >= 1 else None

        values = await eventually(metrics_show_pause, timeout=60)
        weakest = values[f'conference_room_downlink_kbps_min{{room="{meeting}"}}']
        print(f"metrics while paused: room downlink min {weakest} kbit/s")

        # The link recovers: the marker goes and the main tile decodes again.
        thin_link.unshape()
        unshaped_at = time.monotonic()
        decoded = paused["decoded"]
        back = await eventually(lambda: main_decodes(decoded + 30), timeout=120)
        print(f"main decoding again, marker gone: {time.monotonic() - unshaped_at:.1f} s after")
        assert not back["dimmed"] and "main" not in back["paused"]

        async def console_recovered() -> dict[str, Any] | None:
            row = await console.evaluate(CONSOLE_ROW, COMMUNE)
            return row if row and not row["bad"] and "dừng" not in row["layers"] else None

        row = await eventually(console_recovered, timeout=60)
        label = f'{{room="{meeting}"}}'

        async def metrics_recovered() -> bool:
            values = await metrics(server)
            return values.get(f"conference_room_sites_link_paused{label}") == 0

        await eventually(metrics_recovered, timeout=60)
        print(f"console row of the recovered site: {row}")

        # The district, on this host's unshaped link, has a row with real figures too.
        async def district_row() -> dict[str, Any] | None:
            row = await console.evaluate(CONSOLE_ROW, DISTRICT)
            if not row or row["bad"] or row["layers"].split(" · ")[0] not in ("q", "h", "f"):
                return None
            kbps, rtt, loss = number(row["kbps"]), number(row["rtt"]), number(row["loss"])
            measured = kbps is not None and kbps > 0 and rtt is not None and loss is not None
            return row if measured else None

        assert row["layers"].split(" · ")[0] in ("q", "h", "f")
        print(f"console row of the unshaped site: {await eventually(district_row, timeout=60)}")

        # Thin again, paused again; then the district leaves. The commune's main slot
        # is empty: nothing is withheld, so neither its row nor /metrics counts a pause.
        thin_link.shape(THIN_KBIT)
        await eventually(paused_and_starved, timeout=120, interval=0.2)
        await eventually(console_shows_pause, timeout=60)
        assert not district.errors  # type: ignore[attr-defined]
        await district.context.close()

        async def pause_gone_with_the_site() -> bool:
            tile = await commune.evaluate(MAIN_TILE)
            row = await console.evaluate(CONSOLE_ROW, COMMUNE)
            values = await metrics(server)
            return (
                tile["site"] is None
                and not tile["marker"]
                and bool(row)
                and not row["bad"]
                and "dừng" not in row["layers"]
                and values.get(f"conference_room_sites_link_paused{label}") == 0
                and values["conference_slots_link_paused"] == 0
            )

        await eventually(pause_gone_with_the_site, timeout=60)
        assert all(not p.errors for p in (commune, console))  # type: ignore[attr-defined]
    finally:
        await host.close()
