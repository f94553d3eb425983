"""What a simulated site answers to the server's simulcast offer (bench/sites_parts/publishing.py)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from sites_parts.publishing import (  # noqa: E402
    answer_simulcast,
    offered_rids,
    offers_dtx,
)

OFFER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:0",
        "a=fmtp:96 minptime=10;useinbandfec=1;usedtx=1",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "a=mid:1",
        "a=rid:q recv",
        "a=rid:h recv",
        "a=rid:f recv",
        "a=simulcast:recv q;h;~f",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "a=mid:2",
        "",
    ]
)
ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:0",
        "a=ssrc:11 cname:x",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "a=mid:1",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=ssrc-group:FID 22 23",
        "a=ssrc:22 cname:x",
        "a=ssrc:23 cname:x",
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98",
        "a=mid:2",
        "",
    ]
)


def test_the_offered_rids_are_read_by_name_paused_ones_included() -> None:
    assert offered_rids(OFFER, "1") == ["q", "h", "f"]
    assert offered_rids(OFFER, "2") == []
    assert offered_rids(OFFER, "9") == []


def test_dtx_is_read_from_the_audio_sections_fmtp() -> None:
    assert offers_dtx(OFFER, "0")
    assert not offers_dtx(OFFER.replace(";usedtx=1", ""), "0")


def test_the_answer_simulcasts_like_chrome_and_signals_no_camera_ssrc() -> None:
    answer = answer_simulcast(ANSWER, "1", ["q", "h", "f"])
    camera = answer.split("m=video")[1]
    assert "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f" in camera
    assert "a=ssrc" not in camera
    assert "a=ssrc:11 cname:x" in answer  # other sections keep theirs
    assert answer.split("m=video")[2] == ANSWER.split("m=video")[2]
