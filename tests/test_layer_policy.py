"""The layer policy: measured link and layer costs in, a layer (or a pause) per slot out."""

from __future__ import annotations

from conference.layer_policy import (
    BACKOFF_SECONDS,
    BASE,
    FULL,
    HALF,
    LOSS_DOWN,
    PAUSE_AFTER,
    PROBE_AFTER,
    START_BPS,
    UP_AFTER,
    Choice,
    LinkView,
    PolicyState,
    SlotView,
    choose,
    choose_layers,
)

LAYERS = {"q": 150_000.0, "h": 500_000.0, "f": 1_500_000.0}


def meeting(main: str | None = "h", thumbs: list[str | None] | None = None) -> list[SlotView]:
    thumbs = ["q"] * 8 if thumbs is None else thumbs
    views = [SlotView("main", "f", main, dict(LAYERS), main=True)]
    views += [SlotView(f"thumb-{i + 1}", "q", t, dict(LAYERS)) for i, t in enumerate(thumbs)]
    return views


def link(
    downlink: float | None,
    sent: float,
    loss: float = 0.0,
    audio: int = 3,
    audio_bps: float | None = None,
) -> LinkView:
    return LinkView(downlink, sent, loss, audio, audio_bps)


def lasting(views: list[SlotView], seen: LinkView, start: float = 0.0) -> dict[str, str | None]:
    """The layers once ``seen`` has lasted :data:`PAUSE_AFTER` seconds (a pause needs that)."""
    state = PolicyState()
    choose_layers(views, seen, state, now=start)
    return choose_layers(views, seen, state, now=start + PAUSE_AFTER)


def test_before_any_remb_the_start_budget_takes_main_then_thumbnails_in_order():
    chosen = choose_layers(meeting(), link(None, 0), PolicyState(), now=0)
    # 1.5 Mbit/s / 0.85 - 3 x 50k audio: main h, then as many q thumbnails as fit.
    budget = START_BPS / 0.85 - 150_000 - 500_000
    fitting = int(budget // 150_000)
    assert chosen["main"] == "h"
    assert [chosen[f"thumb-{i}"] for i in range(1, 9)] == ["q"] * fitting + [None] * (8 - fitting)


def test_a_one_megabit_commune_losing_packets_keeps_main_h_and_a_few_thumbnails():
    # 15 % loss: the budget is cut below the video we send (what we send less the audio).
    chosen = lasting(meeting(), link(1_000_000, 1_200_000, loss=0.15))
    assert chosen["main"] == "h"
    thumbs = [chosen[f"thumb-{i}"] for i in range(1, 9)]
    assert thumbs[:2] == ["q"] * 2 and set(thumbs[3:]) == {None}
    # Without audio the same bits sent are all video: one more thumbnail is kept.
    more = lasting(meeting(), link(1_000_000, 1_200_000, loss=0.15, audio=0))
    assert sum(v is not None for v in more.values()) == sum(v is not None for v in thumbs) + 2


def test_a_remb_is_a_video_budget_and_the_start_budget_reserves_the_audio():
    # Chromium's REMB counts the video it receives, not the audio: no reserve from it.
    views = meeting(main="h", thumbs=["q", "q"])
    remb = link(800_000, 900_000, audio=3, audio_bps=120_000)  # 780 kbit/s of video sent
    assert lasting(views, remb) == {"main": "h", "thumb-1": "q", "thumb-2": "q"}
    # Before any REMB the budget is a guess at the whole link: 50 kbit/s an audio slot first.
    quiet = choose_layers(meeting(thumbs=["q"] * 8), link(None, 0, audio=0), PolicyState(), now=0)
    loud = choose_layers(meeting(thumbs=["q"] * 8), link(None, 0, audio=3), PolicyState(), now=0)
    assert (
        sum(v is not None for v in quiet.values()) == sum(v is not None for v in loud.values()) + 1
    )


def test_steps_down_at_once_when_remb_falls_below_what_we_send():
    views = meeting(main="f", thumbs=["q", "q"])
    ok = choose_layers(views, link(2_200_000, 2_000_000), PolicyState(), now=0)
    assert ok == {"main": "f", "thumb-1": "q", "thumb-2": "q"}
    down = choose_layers(views, link(1_200_000, 2_000_000), PolicyState(), now=0.5)
    assert down["main"] == "h"


def test_heavy_loss_steps_down_even_with_a_high_estimate():
    views = meeting(main="f", thumbs=["q", "q"])
    chosen = choose_layers(views, link(5_000_000, 1_950_000, loss=0.2), PolicyState(), now=0)
    assert chosen != {"main": "f", "thumb-1": "q", "thumb-2": "q"}
    assert chosen["main"] == "f" and chosen["thumb-2"] is None  # the last one first


def test_nothing_fits_pauses_and_a_paused_slot_resumes_only_after_headroom():
    views = meeting(main="h", thumbs=[])
    state = PolicyState()
    assert choose_layers(views, link(150_000, 600_000, audio=0), state, now=0) == {"main": "q"}
    # Nothing fits and the link loses packets: kept at q for PAUSE_AFTER seconds, then paused.
    full = link(50_000, 200_000, loss=LOSS_DOWN * 2, audio=0)
    assert choose_layers(views, full, state, now=1) == {"main": "q"}
    assert choose_layers(views, full, state, now=1 + PAUSE_AFTER) == {"main": None}
    paused = meeting(main=None, thumbs=[])
    # Plenty of room again: still paused until UP_AFTER seconds of headroom...
    resume_at = 2 + PAUSE_AFTER
    assert choose_layers(paused, link(2_000_000, 0, audio=0), state, now=resume_at) == {
        "main": None
    }
    assert choose_layers(paused, link(2_000_000, 0, audio=0), state, now=resume_at + UP_AFTER) == {
        "main": "q"
    }


def test_steps_up_one_slot_one_layer_at_a_time_then_waits_again():
    state = PolicyState()
    views = meeting(main="q", thumbs=["q"])
    steady = link(1_000_000, 300_000, audio=0)
    assert choose_layers(views, steady, state, now=0) == {"main": "q", "thumb-1": "q"}
    up = choose_layers(views, steady, state, now=UP_AFTER)
    assert up == {"main": "h", "thumb-1": "q"}  # one layer, the main tile first
    views = meeting(main="h", thumbs=["q"])
    # During the trial the new layer is kept although REMB has not caught up yet.
    trial = link(600_000, 650_000, audio=0)
    assert choose_layers(views, trial, state, now=UP_AFTER + 0.5)["main"] == "h"
    # And no second step until headroom lasted UP_AFTER again.
    later = choose_layers(views, link(3_000_000, 650_000, audio=0), state, now=UP_AFTER + 2.5)
    assert later["main"] == "h"


def test_a_failed_trial_steps_back_down_and_backs_off():
    state = PolicyState()
    views = meeting(main="q", thumbs=[])
    choose_layers(views, link(500_000, 170_000, audio=0), state, now=0)
    assert choose_layers(views, link(500_000, 170_000, audio=0), state, now=UP_AFTER) == {
        "main": "h"
    }
    # The trial ends and REMB stayed low: down again, and no new try for a while.
    views = meeting(main="h", thumbs=[])
    failed = choose_layers(views, link(300_000, 520_000, audio=0), state, now=UP_AFTER + 2.5)
    assert failed == {"main": "q"}
    assert "trial failed" in state.history
    views = meeting(main="q", thumbs=[])
    for t in range(1, 9):
        quiet = choose_layers(views, link(600_000, 170_000, audio=0), state, now=UP_AFTER + 2.5 + t)
        assert quiet == {"main": "q"}
    resumed = choose_layers(
        views, link(600_000, 170_000, audio=0), state, now=UP_AFTER + 3 + BACKOFF_SECONDS
    )
    assert resumed == {"main": "h"}


def test_a_thumbnail_never_exceeds_q_and_a_single_layer_source_is_never_paused():
    views = [
        SlotView("thumb-1", "q", "q", dict(LAYERS)),
        SlotView("thumb-2", "q", "f", {"f": 900_000.0}, pausable=False),  # WHIP: one stream
        SlotView("thumb-3", "q", "q", {}),  # empty slot: not decided
        SlotView("thumb-4", "q", "q", dict(LAYERS)),
    ]
    chosen = choose_layers(views, link(10_000_000, 1_000_000, audio=0), PolicyState(), now=0)
    assert chosen == {"thumb-1": "q", "thumb-2": "f", "thumb-4": "q"}
    tight = lasting(views, link(500_000, 1_000_000, loss=0.2, audio=0))
    # The one stream goes on, and uses up the budget of the slots after it.
    assert tight == {"thumb-1": "q", "thumb-2": "f", "thumb-4": None}


def test_a_remb_above_what_we_send_does_not_starve_the_thumbnails():
    # Chrome's first REMB only reflects the little it got: not a thin link.
    views = meeting(main="h", thumbs=["q", "q"])
    chosen = choose_layers(views, link(300_000, 200_000, audio=2), PolicyState(), now=0)
    assert chosen == {"main": "h", "thumb-1": "q", "thumb-2": "q"}
    # The same REMB below what we send is a limit: the main tile steps down, a thumbnail
    # beyond it keeps its lowest layer until a loss shows the link is full.
    thin = lasting(views, link(300_000, 800_000, audio=2))
    assert thin == {"main": "q", "thumb-1": "q", "thumb-2": "q"}
    lossy = lasting(views, link(300_000, 800_000, loss=0.2, audio=2))
    assert lossy == {"main": "q", "thumb-1": "q", "thumb-2": None}


def main_at(current: str | None, rate: int = FULL, temporal: int = 2) -> list[SlotView]:
    """The main tile alone, its source sending ``temporal`` + 1 temporal layers."""
    return [
        SlotView(
            "main", "f", current, dict(LAYERS), current_rate=rate, temporal=temporal, main=True
        )
    ]


def test_a_thinning_link_takes_the_layer_then_the_frame_rate_then_pauses():
    state = PolicyState()
    steps = [
        # (REMB, sent): the lowest layer, then it at 60 % and 40 % of its bits, then nothing.
        ((400_000, 600_000), Choice("q", FULL)),
        ((110_000, 200_000), Choice("q", HALF)),
        ((60_000, 120_000), Choice("q", BASE)),
    ]
    current, rate = "h", FULL
    for now, ((remb, sent), expected) in enumerate(steps):
        chosen = choose(main_at(current, rate), link(remb, sent, audio=0), state, now=now)
        assert chosen == {"main": expected}
        current, rate = expected.rid, expected.rate
    # Then nothing fits and the link loses packets: the pause, once that has lasted.
    full = link(30_000, 70_000, loss=LOSS_DOWN * 2, audio=0)
    assert choose(main_at(current, rate), full, state, now=3) == {"main": Choice("q", BASE)}
    assert choose(main_at(current, rate), full, state, now=3 + PAUSE_AFTER) == {
        "main": Choice(None)
    }


def test_a_source_without_temporal_layers_goes_from_its_lowest_layer_to_the_pause():
    state = PolicyState()
    views = main_at("q", temporal=0)
    full = link(110_000, 200_000, loss=LOSS_DOWN * 2, audio=0)
    assert choose(views, full, state, now=0) == {"main": Choice("q")}  # held, as it is
    assert choose(views, full, state, now=PAUSE_AFTER) == {"main": Choice(None)}
    # Two temporal layers: no half step, the base layer is 60 % of the bits.
    two = main_at("q", temporal=1)
    assert choose(two, link(110_000, 200_000, audio=0), PolicyState(), now=0) == {
        "main": Choice("q", BASE)
    }


def test_a_reduced_slot_comes_back_by_frame_rate_then_layer_one_step_at_a_time():
    state = PolicyState()
    roomy = link(2_000_000, 0, audio=0)
    current: str | None = "q"
    rate = BASE
    seen = []
    now = 0.0
    for _ in range(3):
        assert choose(main_at(current, rate), roomy, state, now=now) == {
            "main": Choice(current, rate)
        }  # no step before UP_AFTER seconds of headroom
        now += UP_AFTER
        step = choose(main_at(current, rate), roomy, state, now=now)["main"]
        seen.append((step.rid, step.rate))
        current, rate = step.rid, step.rate
        now += 2.5  # past the trial, with the estimate covering it
    assert seen == [("q", HALF), ("q", FULL), ("h", FULL)]
    assert "main up to q at half rate" in state.history
    # A paused slot comes back as it did before frame rates were steps: q at full rate.
    paused = PolicyState()
    choose(main_at(None), roomy, paused, now=0)
    assert choose(main_at(None), roomy, paused, now=UP_AFTER) == {"main": Choice("q", FULL)}


def test_a_one_stream_source_keeps_every_frame_whatever_the_link():
    views = [SlotView("main", "f", "f", {"f": 800_000.0}, pausable=False, temporal=2)]
    assert choose(views, link(100_000, 900_000, audio=0), PolicyState(), now=0) == {
        "main": Choice("f", FULL)
    }


def thumb_at(name: str, current: str | None, rate: int = FULL) -> SlotView:
    """A thumbnail of an L1T3 camera."""
    return SlotView(name, "q", current, dict(LAYERS), current_rate=rate, temporal=2)


def test_a_dip_of_the_estimate_without_loss_pauses_no_tile():
    # A delay-based REMB also falls when a CPU is saturated: no loss, no pause.
    state = PolicyState()
    views = [*main_at("h"), thumb_at("thumb-1", "q"), thumb_at("thumb-2", "q")]
    dip = link(50_000, 900_000, audio=1)  # not even q at the base rate fits
    for now in range(0, 31, 2):
        chosen = choose(views, dip, state, now=now)
        # Each keeps its lowest option for as long as the dip lasts.
        assert set(chosen.values()) == {Choice("q", BASE)}
    assert not any("paused" in event for event in state.history)


def test_a_thumbnail_on_a_healthy_link_is_kept_through_a_dip_to_124_kbit_s():
    # The finding: three sites over loopback, a commune's REMB at 124 kbit/s with no
    # loss, the main tile and one thumbnail at q, two or three audio slots.
    for audio in (2, 3):
        state = PolicyState()
        views = [*main_at("q"), thumb_at("thumb-1", "q")]
        sent = 300_000 + audio * 40_000
        dip = link(124_000, sent, audio=audio, audio_bps=audio * 40_000)
        for now in range(0, 61, 2):
            chosen = choose(views, dip, state, now=now)
            assert chosen["thumb-1"].rid == "q" and chosen["main"].rid == "q", (audio, now)
        assert not any("paused" in event for event in state.history)


def test_after_a_dip_the_layers_come_back_although_audio_outweighs_the_rembs_margin():
    # Main and thumbnail at q at the base rate (60 + 60 kbit/s of video), two audio
    # streams of 40 kbit/s: the REMB can reach 1.5 x 120 + 10 = 190 kbit/s, less than
    # the 200 kbit/s we send, but more than the video. The video is what it measures.
    state = PolicyState()
    views = [*main_at("q", BASE), thumb_at("thumb-1", "q", BASE)]
    grown = link(190_000, 200_000, audio=2, audio_bps=80_000)
    ups = [choose(views, grown, state, now=now)["main"] for now in range(0, 10)]
    assert Choice("q", HALF) in ups
    assert "main up to q at half rate" in state.history


def test_a_starved_estimate_pauses_a_thumbnail_without_loss():
    # A link that carries no video: the REMB sinks to Chromium's floor, retransmissions
    # may hide the loss. After PAUSE_AFTER the thumbnail is paused, like the main tile.
    state = PolicyState()
    views = [*main_at("q", BASE), thumb_at("thumb-1", "q", BASE)]
    floor = link(8_000, 160_000, audio=1)
    assert choose(views, floor, state, now=0)["thumb-1"] == Choice("q", BASE)
    assert choose(views, floor, state, now=PAUSE_AFTER - 0.5)["thumb-1"] == Choice("q", BASE)
    assert choose(views, floor, state, now=PAUSE_AFTER) == {
        "main": Choice(None),
        "thumb-1": Choice(None),
    }


def test_heavy_loss_pauses_a_thumbnail_of_a_healthy_estimate_at_once():
    # The same 124 kbit/s with 20 % loss: the link is full, the thumbnail goes now.
    state = PolicyState()
    views = [*main_at("q"), thumb_at("thumb-1", "q")]
    lossy = link(124_000, 380_000, loss=0.2, audio=2, audio_bps=80_000)
    chosen = choose(views, lossy, state, now=0)
    assert chosen["main"].rid == "q" and chosen["thumb-1"] == Choice(None)
    assert "thumb-1 paused" in state.history and "main paused" not in state.history


def test_heavy_loss_pauses_a_thumbnail_at_once_and_a_dip_that_ends_pauses_nothing():
    views = meeting(main="h", thumbs=["q"])
    lossy = link(200_000, 900_000, loss=LOSS_DOWN * 2, audio=1)
    state = PolicyState()
    assert choose_layers(views, lossy, state, now=0) == {"main": "q", "thumb-1": None}
    # A dip shorter than PAUSE_AFTER, then room again: nobody was paused.
    state = PolicyState()
    assert choose_layers(views, link(120_000, 900_000, audio=1), state, now=0)["thumb-1"] == "q"
    back = choose_layers(views, link(2_000_000, 900_000, audio=1), state, now=PAUSE_AFTER - 1)
    assert back["thumb-1"] == "q" and not state.short_since
    # A new dip starts its own count.
    assert (
        choose_layers(views, link(120_000, 900_000, audio=1), state, now=PAUSE_AFTER)["thumb-1"]
        == "q"
    )


def test_with_no_video_going_out_a_paused_slot_probes_and_backs_off_while_the_link_is_thin():
    # Chromium's REMB stays at its 5 kbit/s floor while it gets no video: only a probe tells.
    state = PolicyState()
    stuck = link(5_000, 40_000, audio=1)
    lossy = link(5_000, 120_000, loss=LOSS_DOWN * 2, audio=1)
    choose(main_at("q", BASE), lossy, state, now=0)
    assert choose(main_at("q", BASE), lossy, state, now=PAUSE_AFTER) == {"main": Choice(None)}
    paused_at = PAUSE_AFTER
    assert choose(main_at(None), stuck, state, now=paused_at + PROBE_AFTER - 1) == {
        "main": Choice(None)
    }
    probe = choose(main_at(None), stuck, state, now=paused_at + PROBE_AFTER)
    assert probe == {"main": Choice("q", BASE)}  # the cheapest option it has
    assert "main probes at q at base rate" in state.history
    # Still thin: the probe loses packets, and the slot is paused again...
    again = paused_at + PROBE_AFTER
    choose(main_at("q", BASE), lossy, state, now=again + 1)
    assert choose(main_at("q", BASE), lossy, state, now=again + 1 + PAUSE_AFTER) == {
        "main": Choice(None)
    }
    # ...and the next probe waits twice as long.
    assert choose(main_at(None), stuck, state, now=again + 2 * PROBE_AFTER - 1) == {
        "main": Choice(None)
    }
    assert choose(main_at(None), stuck, state, now=again + 2 * PROBE_AFTER) == {
        "main": Choice("q", BASE)
    }
    # The link is back: the probe's video is not lost, and it is kept while REMB grows.
    grown = again + 2 * PROBE_AFTER
    for t in range(1, 30):
        chosen = choose(
            main_at("q", BASE), link(20_000 + 2_000 * t, 90_000, audio=1), state, now=grown + t
        )
        assert chosen["main"].rid == "q"


def test_no_probe_while_video_flows_or_before_any_pause():
    state = PolicyState()
    views = [*main_at("q", BASE), SlotView("thumb-1", "q", None, dict(LAYERS))]
    # The main tile plays (REMB live): the paused thumbnail waits for headroom, no probe.
    for now in range(0, 40, 2):
        assert choose(views, link(5_000, 90_000, audio=1), state, now=now)["thumb-1"] == Choice(
            None
        )
    assert not any("probes" in event for event in state.history)


def test_heavy_loss_steps_down_although_retransmissions_swell_what_we_send():
    # 30 % loss: NACKed packets resent make us send 2.5 Mbit/s for 1.8 Mbit/s of layers.
    views = meeting(main="f", thumbs=["q", "q"])
    chosen = choose_layers(views, link(5_000_000, 2_550_000, loss=0.3), PolicyState(), now=0)
    assert chosen != {"main": "f", "thumb-1": "q", "thumb-2": "q"}


def test_an_estimate_below_one_audio_stream_pauses_the_main_tile_without_loss():
    # A link that carries no video: Chromium's REMB sinks to its floor, retransmissions
    # may hide the loss. After PAUSE_AFTER at the lowest option, the main tile pauses.
    state = PolicyState()
    floor = link(8_000, 110_000, audio=1)
    assert choose(main_at("q", BASE), floor, state, now=0) == {"main": Choice("q", BASE)}
    assert choose(main_at("q", BASE), floor, state, now=PAUSE_AFTER) == {"main": Choice(None)}


def test_a_paused_slot_is_not_resumed_by_a_floor_remb_that_covers_no_video():
    # Seen in the weak-link test: every video slot paused, audio alone goes out, and the
    # REMB stuck at Chromium's floor is above the video we send (none). It shows nothing:
    # the slot waits for the probe, not resumed (and lost again) every few seconds.
    state = PolicyState()
    lossy = link(5_000, 120_000, loss=LOSS_DOWN * 2, audio=1, audio_bps=29_000)
    choose(main_at("q", BASE), lossy, state, now=0)
    assert choose(main_at("q", BASE), lossy, state, now=PAUSE_AFTER) == {"main": Choice(None)}
    floor = link(5_000, 30_000, audio=1, audio_bps=29_000)
    for t in range(1, int(PROBE_AFTER)):
        assert choose(main_at(None), floor, state, now=PAUSE_AFTER + t) == {"main": Choice(None)}
    probe = choose(main_at(None), floor, state, now=PAUSE_AFTER + PROBE_AFTER)
    assert probe == {"main": Choice("q", BASE)}
