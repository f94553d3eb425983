"""The per-site link series of ``/metrics``: escaping, one set per present site, gone on leave.

The text is read back with a strict parser of the exposition format
(:mod:`tests.support.prometheus`, un-escaping label values as Prometheus does), so a hostile site id
must come back exactly as it went in, and cannot add or break a line.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conference.connections import Connections
from conference.extensions import Extensions
from conference.quality import QualitySampler, SiteLink
from conference.rooms.roll_call import Quality
from conference.rooms.room import Room
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import Room as RoomRecord
from conference.tokens import Role, TokenClaims
from tests.support.prometheus import parse
from tests.support.waiting import wait_until
from web.prometheus_text import label_value
from web.site_metrics import render_site_links

HOSTILE = [
    '05536"} 1\nconference_rooms 99\n# x',  # quote, brace and newline: a forged sample
    "back\\slash\\",
    "Xã Bình Yên",  # not ASCII, nothing to escape
    "lone\ud800surrogate",  # JSON can carry one; UTF-8 cannot
    "",
]


def link(site: str, room: str = "r", **changes: object) -> SiteLink:
    values: dict[str, object] = {
        "room": room,
        "site": site,
        "downlink_kbps": 850.0,
        "loss": 0.02,
        "rtt_ms": 45.0,
        "video_slots": 3,
        "layers": {"q": 2, "h": 1, "f": 0},
        "link_paused": 0,
    }
    values.update(changes)
    return SiteLink(**values)  # type: ignore[arg-type]


def test_label_values_are_escaped_as_the_text_format_asks() -> None:
    assert label_value('a"b') == 'a\\"b'
    assert label_value("a\\b") == "a\\\\b"
    assert label_value("a\nb") == "a\\nb"
    assert label_value("Định Hóa") == "Định Hóa"
    assert label_value("x\udcffy") == "x?y"


def test_hostile_site_ids_come_back_exactly_and_forge_nothing() -> None:
    out: list[str] = []
    render_site_links(out, [link(site, room=f"room-{site}") for site in HOSTILE])
    samples = parse(out)
    "\n".join(out).encode("utf-8")  # the response's charset: must not raise
    sites = {labels["site"] for _, labels, _ in samples}
    expected = {s.encode("utf-8", "replace").decode("utf-8") for s in HOSTILE}
    assert sites == expected
    assert {name for name, _, _ in samples} == {
        "conference_site_downlink_kbps",
        "conference_site_loss_ratio",
        "conference_site_rtt_seconds",
        "conference_site_video_slots",
        "conference_site_link_paused_slots",
        "conference_site_layer_received",
    }
    # 5 single series and 3 layers per site, nothing more (no forged sample).
    assert len(samples) == len(HOSTILE) * 8
    forged = HOSTILE[0]
    mine = {
        (name, labels.get("layer")): value
        for name, labels, value in samples
        if labels["site"] == forged
    }
    assert labels_room_of(samples, forged) == f"room-{forged}"
    assert mine[("conference_site_rtt_seconds", None)] == 0.045
    assert mine[("conference_site_loss_ratio", None)] == 0.02
    assert mine[("conference_site_layer_received", "q")] == 2
    assert mine[("conference_site_layer_received", "f")] == 0


def labels_room_of(samples: list[tuple[str, dict[str, str], float]], site: str) -> str:
    return next(labels["room"] for _, labels, _ in samples if labels["site"] == site)


def test_unknown_figures_and_publishers_only_have_no_samples() -> None:
    out: list[str] = []
    whip = link("whip-1", downlink_kbps=None, loss=None, rtt_ms=None, video_slots=0, layers={})
    render_site_links(out, [whip])
    assert parse(out) == []  # HELP and TYPE only: no made-up zeros


async def test_a_sites_series_go_when_it_leaves_and_when_the_room_closes(tmp_path) -> None:
    """Real connections (aiortc peer sessions with their offers) in a real room."""
    rooms: dict[str, Room] = {}

    async def open_room(record: RoomRecord) -> Room:
        return rooms.setdefault(record.id, Room(record.id, record.name, record.codec))

    connections = Connections(Settings(data_dir=tmp_path), SfuMetrics(), open_room, Extensions())
    sampler = QualitySampler(connections)
    record = RoomRecord(id="r-1", name="Họp", codec="vp8", created_at=time.time())
    now = int(time.time())
    joined = []
    for sub in (HOSTILE[0], "05536"):
        claims = TokenClaims(
            room="r-1", sub=sub, name="Tên tự đặt", role=Role.PARTICIPANT,
            iat=now, exp=now + 600, jti=f"jti-{len(joined)}-xxxxxxxx",
        )  # fmt: skip
        connection, _offer = await connections.connect_browser(
            claims,
            record,
            thumbnails=2,
            publish_audio=True,
            publish_video=True,
            notify=lambda _event: None,
        )
        joined.append(connection)
    room = rooms["r-1"]
    room.report_quality("05536", Quality(rtt_ms=120.0, loss=0.25, source="client", at=time.time()))
    try:

        def scraped() -> dict[tuple[str, str | None], float]:
            out: list[str] = []
            render_site_links(out, sampler.site_links())
            return {
                (labels["site"], labels.get("layer") or name): value
                for name, labels, value in parse(out)
            }

        both = scraped()
        assert {site for site, _ in both} == {HOSTILE[0], "05536"}
        # The roll call's figures; three video slots (main, two thumbnails), nothing to show yet.
        assert both[("05536", "conference_site_rtt_seconds")] == 0.12
        assert both[("05536", "conference_site_loss_ratio")] == 0.25
        assert both[("05536", "conference_site_video_slots")] == 3
        assert both[("05536", "q")] == both[("05536", "f")] == 0
        assert (HOSTILE[0], "conference_site_rtt_seconds") not in both  # not measured yet

        assert await connections.end(joined[0].id)
        assert {site for site, _ in scraped()} == {"05536"}
        await room.close()
        assert scraped() == {}
    finally:
        for connection in joined:
            await connections.end(connection.id)
        await room.close()


def test_rendering_two_thousand_sites() -> None:
    """Cost of the per-site part of one scrape for 2,000 sites (printed, not asserted)."""
    sites = [link(f"{10000 + i:05d}", room=f"room-{i // 200}") for i in range(2000)]
    runs = []
    for _ in range(5):
        out: list[str] = []
        started = time.perf_counter()
        render_site_links(out, sites)
        text = "\n".join(out)
        runs.append(time.perf_counter() - started)
    assert len(parse(out)) == 2000 * 8
    print(
        f"site metrics for 2,000 sites: {len(out)} lines, {len(text.encode()) / 1024:.0f} KiB, "
        f"render {min(runs) * 1000:.1f} ms best / {sorted(runs)[2] * 1000:.1f} ms median of 5"
    )


async def test_a_sampling_pass_yields_to_the_loop_between_slices(tmp_path, monkeypatch) -> None:
    """A pass over many sites must not hold the loop in one go (media waits behind it)."""
    from conference import quality

    rooms: dict[str, Room] = {}

    async def open_room(record: RoomRecord) -> Room:
        return rooms.setdefault(record.id, Room(record.id, record.name, record.codec))

    connections = Connections(Settings(data_dir=tmp_path), SfuMetrics(), open_room, Extensions())
    sampler = QualitySampler(connections)
    record = RoomRecord(id="r-2", name="Họp", codec="vp8", created_at=time.time())
    now = int(time.time())
    count = quality.SAMPLE_SLICE + 4
    joined = []
    for index in range(count):
        claims = TokenClaims(
            room="r-2", sub=f"site-{index}", name=f"Điểm cầu {index}", role=Role.PARTICIPANT,
            iat=now, exp=now + 600, jti=f"jti-{index}-yyyyyyyy",
        )  # fmt: skip
        connection, _offer = await connections.connect_browser(
            claims, record, thumbnails=0, publish_audio=True, publish_video=False,
            notify=lambda _event: None,
        )  # fmt: skip
        joined.append(connection)
    order: list[str] = []
    sample_one = sampler._sample_one

    def recorded(connection: Any, at: float) -> None:
        order.append("site")
        sample_one(connection, at)

    monkeypatch.setattr(sampler, "_sample_one", recorded)
    monkeypatch.setattr(quality, "QUALITY_SECONDS", 0.0)

    async def ticks() -> None:
        while True:
            order.append("tick")
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(ticks())
    runner = asyncio.ensure_future(sampler.run())
    try:
        await wait_until(lambda: order.count("site") >= 2 * count)  # two passes
    finally:
        runner.cancel()
        ticker.cancel()
        for connection in joined:
            await connections.end(connection.id)
        await rooms["r-2"].close()
    first_pass = order[: [i for i, e in enumerate(order) if e == "site"][count - 1] + 1]
    runs = "".join("s" if e == "site" else "t" for e in first_pass).strip("t").split("t")
    # The first pass's sites came in slices with the loop turning between them.
    assert [len(run) for run in runs if run] == [quality.SAMPLE_SLICE, 4]
