"""/metrics says what the relay sent and dropped, so a cascade's losses can be placed.

``conference_relay_media_sent_total`` (the origin's side, to compare with the
far end's ``conference_relay_media_received_total``) and
``conference_relay_dropped_total{reason}``, summed over the links open now and
the endpoint (datagrams no link claimed).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from conference.relay.link import RelayMetrics
from web.health import _cascade_metrics


def _link(sent: int, received: int, **dropped: int) -> SimpleNamespace:
    metrics = RelayMetrics(media_sent=sent, media_received=received)
    metrics.dropped.update(dropped)
    return SimpleNamespace(metrics=metrics, exports={})


def test_relay_media_sent_and_drops_by_reason_are_in_the_text():
    endpoint = RelayMetrics()
    endpoint.dropped.update(unknown_peer=2)
    cascade = SimpleNamespace(
        links={
            "node-b": _link(100, 7, unknown_stream=3),
            "node-c": _link(20, 0, unknown_stream=1, bad_message=4),
        },
        endpoint=SimpleNamespace(metrics=endpoint),
        rooms={},
        proxies=lambda room_id: 0,
        rejected_total=0,
        opener=SimpleNamespace(rejected={}),
    )
    out: list[str] = []
    _cascade_metrics(out, cast(Any, cascade))
    lines = set(out)
    assert "conference_relay_media_sent_total 120" in lines
    assert "conference_relay_media_received_total 7" in lines
    assert 'conference_relay_dropped_total{reason="unknown_stream"} 4' in lines
    assert 'conference_relay_dropped_total{reason="bad_message"} 4' in lines
    assert 'conference_relay_dropped_total{reason="unknown_peer"} 2' in lines


def test_no_endpoint_yet_no_drops():
    cascade = SimpleNamespace(
        links={},
        endpoint=None,
        rooms={},
        proxies=lambda room_id: 0,
        rejected_total=0,
        opener=SimpleNamespace(rejected={}),
    )
    out: list[str] = []
    _cascade_metrics(out, cast(Any, cascade))
    assert "conference_relay_media_sent_total 0" in out
    assert not [line for line in out if line.startswith("conference_relay_dropped_total{")]
