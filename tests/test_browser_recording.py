"""Browser test: two Chromium sites meet for 20 s while recording.

The files exist and decode to the expected duration (within 1 s), the
manifest lists both sites, and the composite renders (as the library's
background job) and plays in the browser.
"""

from __future__ import annotations

import asyncio
import json

import av
import pytest
from playwright.async_api import Browser, Page

from recorder.manifest import read_manifest
from tests.support.browser import login
from tests.support.meetings import open_meeting
from tests.support.recordings import recording_dirs
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser
MEETING_SECONDS = 20


async def join(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_selector("#join-button:not([disabled])")
    await page.click("#join-button")
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=30_000
    )
    return page


def media_seconds(path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        times = [float(f.time) for f in container.decode(stream) if f.time is not None]
    return times[-1] - times[0]


async def test_two_browser_sites_recorded_rendered_and_played(server, browser):
    host, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    sites = [
        await join(browser, f"{server.base_url}/join/{meeting}?token={tokens[code]}")
        for code in ("05536", "05539")
    ]
    try:

        async def both_publishing() -> bool:
            for page in sites:
                if not await page.evaluate("() => window.conference.slots.main !== null"):
                    return False
            return True

        await eventually(both_publishing)
        started = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        assert started.status == 200
        for page in sites:
            await page.wait_for_function("() => window.conference.recording === true")
            assert await page.is_visible("#recording-indicator")
        await asyncio.sleep(MEETING_SECONDS)
        stopped = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
        assert stopped.status == 200
        for page in sites:
            await page.wait_for_function("() => window.conference.recording === false")
    finally:
        for page in sites:
            await page.context.close()

    [directory] = recording_dirs(server)
    manifest = read_manifest(directory)
    assert manifest.status.value == "complete"
    assert {t.site_id for t in manifest.tracks} == {"05536", "05539"}
    assert {(t.site_id, t.kind) for t in manifest.tracks} == {
        (s, k) for s in ("05536", "05539") for k in ("audio", "video")
    }
    # Each file holds the whole recording: as long as the server recorded
    # (the manifest's span, not this test's sleep, which a loaded machine can
    # stretch before the stop request lands), less at most the wait for the
    # first keyframe and a frame's duration.
    recorded = (manifest.ended_at or 0) - manifest.started_at
    assert recorded >= MEETING_SECONDS
    for track in manifest.tracks:
        seconds = media_seconds(directory / track.file, track.kind)
        assert recorded - 1.5 <= seconds <= recorded + 0.5, (track.file, seconds, recorded)

    # The host renders the composite from the library page's API and watches it play.
    host_page = await login(browser, server.base_url, "host.dinhhoa")
    job = await host.call("POST", f"/api/recordings/{manifest.id}/render", {"layout": "grid"})
    assert job.status == 202
    events = []
    async with host.session.get(
        f"{host.base_url}/api/recordings/{manifest.id}/render/events?layout=grid"
    ) as stream:
        async for line in stream.content:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["status"] in ("done", "failed"):
                    break
    assert events[-1]["status"] == "done", events[-1]
    assert any(0 < e["progress"] < 1 for e in events)  # progress was reported on the way
    output = events[-1]["output"]
    with av.open(str(directory / output)) as composite:
        assert abs(float(composite.duration / 1e6) - MEETING_SECONDS) <= 1.5
        assert {s.type for s in composite.streams} == {"video", "audio"}
    await host_page.goto(f"{server.base_url}/recordings/{manifest.id}")
    await host_page.wait_for_selector("#player")
    await host_page.evaluate(
        f"""() => {{ const p = document.querySelector('#player');
             p.src = '/api/recordings/{manifest.id}/files/{output}'; p.muted = true; return p.play(); }}"""
    )
    await host_page.wait_for_function(
        "() => { const p = document.querySelector('#player'); return p.readyState >= 2 && p.currentTime > 1; }",
        timeout=30_000,
    )
    await host.close()
