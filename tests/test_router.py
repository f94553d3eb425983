"""Slot routing policy and active speaker detection."""

from __future__ import annotations

from conference.rooms.router import SiteView, audio_ranking, plan_audio, plan_video, video_order
from conference.rooms.speaker import HOLD_SECONDS, MIN_TENURE_SECONDS, ActiveSpeakerDetector

THUMBS = [f"thumb-{i}" for i in range(1, 9)]
AUDIO = ["audio-1", "audio-2", "audio-3"]


def sites(*ids: str, **activity: float) -> list[SiteView]:
    return [
        SiteView(id=i, has_video=True, has_audio=True, activity=activity.get(i, 0.0)) for i in ids
    ]


def test_main_shows_the_speaker_and_thumbnails_the_others():
    order = video_order(sites("a", "b", "c", "d"), recent_speakers=["c"])
    plan = plan_video("a", ["main"], THUMBS, {}, order, featured="c")
    assert plan["main"] == "c"
    assert {plan[t] for t in THUMBS} - {None} == {"b", "d"}
    assert "a" not in plan.values()


def test_the_speaker_sees_the_previous_speaker_in_main():
    order = video_order(sites("a", "b", "c"), recent_speakers=["a", "b"])
    plan = plan_video("a", ["main"], THUMBS, {}, order, featured="a")
    assert plan["main"] == "b"


def test_assignments_are_sticky():
    order = video_order(sites("a", "b", "c", "d"), recent_speakers=[])
    first = plan_video("a", ["main"], THUMBS, {}, order, featured=None)
    # d starts speaking: b and c keep their thumbnails where they were, d takes main.
    order = video_order(sites("a", "b", "c", "d"), recent_speakers=["d"])
    second = plan_video("a", ["main"], THUMBS, first, order, featured="d")
    assert second["main"] == "d"
    for name in THUMBS:
        if first[name] in ("b", "c") and first[name] != "d":
            assert second[name] == first[name]


def test_more_sites_than_slots_shows_recent_speakers():
    ids = [f"s{i}" for i in range(20)]
    order = video_order(sites(*ids), recent_speakers=["s19", "s18"])
    plan = plan_video("s0", ["main"], THUMBS, {}, order, featured="s19")
    assert plan["main"] == "s19"
    assert "s18" in plan.values()
    assert len([v for v in plan.values() if v]) == 9


def test_audio_slots_take_the_loudest_with_hysteresis():
    views = sites("me", "a", "b", "c", "d", a=10, b=8, c=6, d=0.5)
    plan = plan_audio("me", AUDIO, {}, *audio_ranking(views), featured=None)
    assert set(plan.values()) == {"a", "b", "c"}
    # d gets a bit louder than c: not enough to take a slot.
    views = sites("me", "a", "b", "c", "d", a=10, b=8, c=6, d=7)
    assert plan_audio("me", AUDIO, plan, *audio_ranking(views), featured=None) == plan
    # d is clearly louder: it replaces the quietest holder, others stay put.
    views = sites("me", "a", "b", "c", "d", a=10, b=8, c=2, d=20)
    new = plan_audio("me", AUDIO, plan, *audio_ranking(views), featured=None)
    assert set(new.values()) == {"a", "b", "d"}
    assert [k for k, v in new.items() if v == "a"] == [k for k, v in plan.items() if v == "a"]


def test_floor_holder_is_always_heard():
    views = sites("me", "a", "b", "c", "quiet", a=10, b=10, c=10, quiet=0)
    plan = plan_audio("me", AUDIO, {}, *audio_ranking(views), featured="quiet")
    assert "quiet" in plan.values()


def test_muted_sites_take_no_audio_slot():
    views = [SiteView("me", True, True), SiteView("m", True, True, audio_muted=True, activity=30)]
    assert plan_audio("me", AUDIO, {}, *audio_ranking(views), featured=None) == dict.fromkeys(AUDIO)


def test_speaker_needs_margin_and_time_to_switch():
    detector = ActiveSpeakerDetector()
    t = 100.0
    assert detector.update({"a": 10, "b": 0}, t)
    assert detector.speaker == "a"
    # b slightly louder: no switch.
    assert not detector.update({"a": 10, "b": 12}, t + 5)
    # b much louder, but only briefly: no switch yet.
    assert not detector.update({"a": 2, "b": 20}, t + 6)
    assert not detector.update({"a": 2, "b": 20}, t + 6 + HOLD_SECONDS / 2)
    assert detector.update({"a": 2, "b": 20}, t + 6 + HOLD_SECONDS + 0.01)
    assert detector.speaker == "b"
    assert detector.recent[:2] == ["b", "a"]
    # Silence never moves the speaker; a fresh speaker cannot be unseated at once.
    assert not detector.update({"a": 0, "b": 0}, t + 20)
    assert detector.update({"a": 30, "b": 0}, t + 21) is False
    assert not detector.update({"a": 30, "b": 0}, t + 21 + MIN_TENURE_SECONDS / 10)


def test_speaker_who_leaves_is_forgotten():
    detector = ActiveSpeakerDetector()
    detector.update({"a": 10}, 0)
    detector.update({}, 1)
    assert detector.speaker is None
