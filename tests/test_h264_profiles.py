"""H.264 profile matching (conference/media/h264.py) and the answer shaping around it."""

from __future__ import annotations

import pytest
from aiortc.sdp import SessionDescription

from conference.media import h264
from conference.media.h264 import Profile
from conference.offer_answer import (
    codec_refusal,
    default_setup,
    offer_refusal,
    shape_answer,
    transport_refusal,
)


@pytest.mark.parametrize(
    ("text", "profile", "level"),
    [
        ("42e01f", Profile.CONSTRAINED_BASELINE, "3.1"),
        ("42E01F", Profile.CONSTRAINED_BASELINE, "3.1"),
        ("42c01e", Profile.CONSTRAINED_BASELINE, "3.0"),
        ("42401f", Profile.CONSTRAINED_BASELINE, "3.1"),  # constraint_set1 alone
        ("4d801f", Profile.CONSTRAINED_BASELINE, "3.1"),  # Main with constraint_set0
        ("58c01f", Profile.CONSTRAINED_BASELINE, "3.1"),  # Extended with set0 and set1
        ("42001e", Profile.BASELINE, "3.0"),  # FFmpeg's WHIP muxer
        ("42000d", Profile.BASELINE, "1.3"),
        ("42801f", Profile.BASELINE, "3.1"),  # constraint_set0 alone
        ("58801f", Profile.BASELINE, "3.1"),
        ("4d001f", Profile.MAIN, "3.1"),
        ("4d401f", Profile.MAIN, "3.1"),
        ("640028", Profile.HIGH, "4.0"),
        ("640c1f", Profile.CONSTRAINED_HIGH, "3.1"),
        ("f4001f", Profile.PREDICTIVE_HIGH_444, "3.1"),
        ("42f00b", Profile.CONSTRAINED_BASELINE, "1b"),  # level_idc 11 with constraint_set3
        ("42100b", Profile.BASELINE, "1b"),
        ("42e00b", Profile.CONSTRAINED_BASELINE, "1.1"),
    ],
)
def test_profiles_as_libwebrtc_reads_them(text, profile, level):
    parsed = h264.parse_profile_level_id(text)
    assert parsed is not None
    assert parsed.profile is profile
    assert parsed.level_name == level


@pytest.mark.parametrize("text", ["", "42e0", "42e01f0", "zze01f", "42e0ff", "42e01a"])
def test_malformed_profile_level_ids(text):
    assert h264.parse_profile_level_id(text) is None


def test_absent_profile_level_id_is_constrained_baseline_3_1_as_in_browsers():
    parsed = h264.parse_profile_level_id(None)
    assert parsed is not None
    assert (parsed.profile, parsed.level_name) == (Profile.CONSTRAINED_BASELINE, "3.1")


def test_unknown_profile_is_named_by_its_idc():
    parsed = h264.parse_profile_level_id("6e001f")  # High 10
    assert parsed is not None and parsed.profile is None
    assert parsed.profile_name == "profile_idc 110"
    assert "H.264 profile profile_idc 110 (6e001f) is not accepted" in str(
        h264.refusal({"packetization-mode": "1", "profile-level-id": "6e001f"})
    )


@pytest.mark.parametrize(
    "parameters",
    [
        {"packetization-mode": "1", "profile-level-id": "42e01f"},
        {"packetization-mode": 1, "profile-level-id": "42001e"},
        {"packetization-mode": "1", "profile-level-id": "4d801f"},
        {"packetization-mode": "1"},  # no profile-level-id: Constrained Baseline 3.1
    ],
)
def test_accepted(parameters):
    assert h264.refusal(parameters) is None


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"packetization-mode": "1", "profile-level-id": "640028"},
            "H.264 profile High (640028) is not accepted in this room; "
            "use Constrained Baseline (42e01f) or Baseline (42001f)",
        ),
        (
            {"packetization-mode": "1", "profile-level-id": "4d001f"},
            "H.264 profile Main (4d001f) is not accepted in this room",
        ),
        (
            {"profile-level-id": "42e01f"},
            "H.264 packetization-mode=0 is not supported; use packetization-mode=1",
        ),
        (
            {"packetization-mode": "2", "profile-level-id": "42e01f"},
            "H.264 packetization-mode=2 is not supported",
        ),
        (
            {"packetization-mode": "1", "profile-level-id": "nope"},
            "H.264 profile-level-id=nope is not a valid profile and level",
        ),
    ],
)
def test_refusals_say_exactly_what(parameters, message):
    refusal = h264.refusal(parameters)
    assert refusal is not None and message in refusal


@pytest.mark.parametrize(
    ("offered", "answer"),
    [
        # Both allow level asymmetry: our level, the offer's profile.
        ({"level-asymmetry-allowed": "1", "profile-level-id": "42001e"}, "42001f"),
        ({"level-asymmetry-allowed": "1", "profile-level-id": "42e034"}, "42e01f"),
        ({"level-asymmetry-allowed": "1", "profile-level-id": "4d801f"}, "42e01f"),
        # No asymmetry: the lower of the two levels.
        ({"profile-level-id": "42001e"}, "42001e"),
        ({"profile-level-id": "42e00d"}, "42e00d"),
        ({"profile-level-id": "42e028"}, "42e01f"),
        ({"profile-level-id": "42f00b"}, "42f00b"),
        ({"level-asymmetry-allowed": "0", "profile-level-id": "42c01e"}, "42e01e"),
        ({}, "42e01f"),
    ],
)
def test_answer_level(offered, answer):
    assert h264.answer_profile_level_id(offered) == answer


OFFER = """v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=video 9 UDP/TLS/RTP/SAVPF 102 104 106\r
c=IN IP4 0.0.0.0\r
a=mid:0\r
a=sendonly\r
a=rtcp-mux\r
a=rtpmap:102 H264/90000\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640028\r
a=rtpmap:104 H264/90000\r
a=fmtp:104 packetization-mode=1;profile-level-id=42001e\r
a=rtpmap:106 H264/90000\r
a=fmtp:106 packetization-mode=0;profile-level-id=42e01f\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
a=fingerprint:sha-256 AA:BB\r
a=setup:actpass\r
m=audio 9 UDP/TLS/RTP/SAVPF 0 111\r
c=IN IP4 0.0.0.0\r
a=mid:1\r
a=sendonly\r
a=rtcp-mux\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:111 OPUS/48000/2\r
a=fmtp:111 minptime=10;useinbandfec=1;stereo=1\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
a=fingerprint:sha-256 AA:BB\r
a=setup:actpass\r
"""


def test_offer_checks_name_the_section_and_what_was_offered():
    offer = SessionDescription.parse(OFFER)
    assert offer_refusal(offer, "h264") is None  # 104 (Baseline 3.0) fits
    assert codec_refusal(offer.media[0], "vp8") == (
        "the video section (mid 0) offers no VP8, this room's video codec (offered: H264/90000)"
    )
    only_high = SessionDescription.parse(
        OFFER.replace("profile-level-id=42001e", "profile-level-id=64001f")
    )
    reason = offer_refusal(only_high, "h264")
    assert reason is not None
    assert "H.264 profile High (640028) is not accepted" in reason
    assert "H.264 profile High (64001f)" in reason
    assert "packetization-mode=0 is not supported" in reason
    no_opus = SessionDescription.parse(
        OFFER.replace(" 0 111\r", " 0\r")
        .replace("a=rtpmap:111 OPUS/48000/2\r\n", "")
        .replace("a=fmtp:111 minptime=10;useinbandfec=1;stereo=1\r\n", "")
    )
    assert codec_refusal(no_opus.media[1], "h264") == (
        "the audio section (mid 1) offers no Opus (offered: PCMU/8000); audio must be Opus"
    )


ANSWER = """v=0\r
o=- 3 3 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
a=msid-semantic:WMS *\r
m=video 9 UDP/TLS/RTP/SAVPF 104\r
c=IN IP4 0.0.0.0\r
a=recvonly\r
a=mid:0\r
a=rtcp-mux\r
a=rtpmap:104 H264/90000\r
a=rtcp-fb:104 nack\r
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r
a=ice-ufrag:efgh\r
a=ice-pwd:efghijklmnopqrstuvwxyzab\r
a=fingerprint:sha-256 CC:DD\r
a=setup:active\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
c=IN IP4 0.0.0.0\r
a=recvonly\r
a=mid:1\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=ice-ufrag:efgh\r
a=ice-pwd:efghijklmnopqrstuvwxyzab\r
a=fingerprint:sha-256 CC:DD\r
a=setup:active\r
"""


@pytest.mark.parametrize(
    ("offer_setup", "answer_setup"),
    [("actpass", "passive"), ("passive", "active"), ("active", "active"), (None, "passive")],
)
def test_answer_role(offer_setup, answer_setup):
    offer_text = (
        OFFER.replace("a=setup:actpass\r\n", "")
        if offer_setup is None
        else OFFER.replace("a=setup:actpass", f"a=setup:{offer_setup}")
    )
    # ANSWER is aiortc's: active everywhere. Only actpass or no a=setup turn it passive
    # (to an active offer aiortc itself answers passive; a passive offer stays active).
    shaped = shape_answer(ANSWER, SessionDescription.parse(offer_text))
    assert shaped.count(f"a=setup:{answer_setup}") == 2


def test_answer_level_follows_the_offer():
    shaped = SessionDescription.parse(shape_answer(ANSWER, SessionDescription.parse(OFFER)))
    (codec,) = shaped.media[0].rtp.codecs
    # The offer's 104 has no level-asymmetry-allowed: the lower level, 3.0.
    assert codec.parameters["profile-level-id"] == "42001e"
    assert codec.parameters["packetization-mode"] == "1"
    assert codec.payloadType == 104


def test_several_sections_need_mids_and_one_ice_session():
    offer = SessionDescription.parse(OFFER)
    assert transport_refusal(offer) is None
    no_mid = SessionDescription.parse(OFFER.replace("a=mid:1\r\n", ""))
    assert "the audio section has no a=mid" in str(transport_refusal(no_mid))
    same_mid = SessionDescription.parse(OFFER.replace("a=mid:1", "a=mid:0"))
    assert "uses an a=mid twice" in str(transport_refusal(same_mid))
    # Not bundled, one ICE session: it works on one transport.
    unbundled = OFFER.replace("a=group:BUNDLE 0 1\r\n", "")
    assert transport_refusal(SessionDescription.parse(unbundled)) is None
    # Not bundled, two ICE sessions: the second could never connect.
    video_part, audio_part = unbundled.split("m=audio")
    two_sessions = video_part + "m=audio" + audio_part.replace("ice-ufrag:abcd", "ice-ufrag:wxyz")
    assert "not bundled" in str(transport_refusal(SessionDescription.parse(two_sessions)))
    # One section needs neither a mid nor a group.
    single = OFFER.split("m=audio")[0].replace("a=mid:0\r\n", "").replace("0 1", "0")
    assert transport_refusal(SessionDescription.parse(single)) is None


def test_an_offer_without_setup_gets_the_offer_default_active():
    without = OFFER.replace("a=setup:actpass\r\n", "")
    fixed = default_setup(without)
    assert fixed.count("a=setup:active") == 1
    assert fixed.index("a=setup:active") < fixed.index("m=video")
    parsed = SessionDescription.parse(fixed)
    assert [m.dtls.role for m in parsed.media] == ["client", "client"]
    assert default_setup(OFFER) == OFFER
