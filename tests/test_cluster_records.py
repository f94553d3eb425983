"""Node records: sealing and verification, advertise URLs and node ids, the cluster key."""

from __future__ import annotations

import json
import time

import pytest

from conference.cluster.advertise import (
    AdvertiseError,
    check_advertise,
    check_node_id,
    default_node_id,
)
from conference.cluster.records import (
    MAX_HEARTBEAT_AGE,
    NodeLoad,
    NodeRecord,
    RejectedRecord,
    seal,
    unseal,
)
from conference.cluster.secret import ENV_CLUSTER_SECRET, cluster_key
from conference.settings import Settings

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def record(node_id: str = "node-a", heartbeat_at: float | None = None) -> NodeRecord:
    now = time.time()
    return NodeRecord(
        id=node_id,
        advertise="http://10.1.2.3:8080",
        started_at=now - 60,
        heartbeat_at=now if heartbeat_at is None else heartbeat_at,
        load=NodeLoad(cpu_percent=12.5, sites=3, packets_per_s=1500.0, rooms=1),
    )


def test_a_sealed_record_unseals_to_itself():
    original = record()
    assert unseal(seal(original, KEY), KEY, "node-a") == original
    assert unseal(seal(original, KEY).encode(), KEY, "node-a") == original


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (seal(record(), OTHER_KEY), "bad MAC"),
        ("not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[]", "not a sealed record"),
        (json.dumps({"body": 1, "mac": "00"}), "not a sealed record"),
        (json.dumps({"body": "{}", "mac": "00", "extra": 1}), "not a sealed record"),
        ("x" * 5000, "too large"),
    ],
)
def test_foreign_and_broken_records_are_rejected(raw, reason):
    with pytest.raises(RejectedRecord) as caught:
        unseal(raw, KEY, "node-a")
    assert reason in caught.value.reason


def test_a_tampered_body_fails_its_mac():
    sealed = json.loads(seal(record(), KEY))
    sealed["body"] = sealed["body"].replace("10.1.2.3", "10.6.6.6")
    with pytest.raises(RejectedRecord, match="bad MAC"):
        unseal(json.dumps(sealed), KEY, "node-a")


def test_a_valid_record_under_another_nodes_key_is_rejected():
    with pytest.raises(RejectedRecord, match="another node"):
        unseal(seal(record("node-a"), KEY), KEY, "node-b")


def test_a_stale_heartbeat_is_rejected():
    old = record(heartbeat_at=time.time() - MAX_HEARTBEAT_AGE - 5)
    with pytest.raises(RejectedRecord, match="stale"):
        unseal(seal(old, KEY), KEY, "node-a")


def test_a_signed_but_invalid_body_is_rejected():
    # A cluster member with a bug (or a stolen key) still cannot make a reader use bad fields.
    import hashlib
    import hmac

    body = json.dumps({"id": "node-a", "advertise": "javascript:alert(1)"})
    mac = hmac.new(KEY, b"conference node record v1\n" + body.encode(), hashlib.sha256)
    raw = json.dumps({"body": body, "mac": mac.hexdigest()})
    with pytest.raises(RejectedRecord, match="invalid"):
        unseal(raw, KEY, "node-a")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
        ("https://hop.thainguyen.gov.vn", "https://hop.thainguyen.gov.vn"),
        ("https://hop.thainguyen.gov.vn/", "https://hop.thainguyen.gov.vn"),
        ("http://[fd00::5]:8443", "http://[fd00::5]:8443"),
    ],
)
def test_advertise_urls_that_are_base_urls(url, expected):
    assert check_advertise(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://10.0.0.5",
        "10.0.0.5:8080",
        "http://",
        "http://user:pw@10.0.0.5:8080",
        "http://10.0.0.5:8080/prefix",
        "http://10.0.0.5:8080?x=1",
        "http://10.0.0.5:8080#top",
        "http://10.0.0.5:99999",
        "http://10.0.0.5:0",
        "http://10.0.0.5 :8080",
        "http://10.0.0.5\r\n:8080",
        "http://hội-nghị.vn",
    ],
)
def test_advertise_urls_that_are_refused(url):
    with pytest.raises(AdvertiseError):
        check_advertise(url)


def test_node_ids():
    assert check_node_id("tinh-thai-nguyen.1") == "tinh-thai-nguyen.1"
    for bad in ("", "-x", "a b", "a:b", "x" * 65, "node*"):
        with pytest.raises(AdvertiseError):
            check_node_id(bad)
    assert check_node_id(default_node_id(8080)).endswith("-8080")


def test_settings_validate_the_cluster_flags():
    settings = Settings(redis_url="redis://127.0.0.1:6379/15", port=9000)
    assert settings.clustered
    assert settings.cluster_node_id().endswith("-9000")
    assert settings.advertise_url() == "http://127.0.0.1:9000"
    settings = Settings(advertise="https://node-2.example.vn:8443/", node_id="node-2")
    assert settings.advertise_url() == "https://node-2.example.vn:8443"
    assert settings.cluster_node_id() == "node-2"
    assert not settings.clustered
    with pytest.raises(ValueError, match="advertise"):
        Settings(advertise="http://node-2/path")
    with pytest.raises(ValueError, match="node id"):
        Settings(node_id="node 2")


def test_the_cluster_key_is_derived_from_the_signing_secret(monkeypatch):
    monkeypatch.delenv(ENV_CLUSTER_SECRET, raising=False)
    derived = cluster_key(b"s" * 40)
    assert derived == cluster_key(b"s" * 40)
    assert derived != cluster_key(b"t" * 40)
    assert derived != b"s" * 40  # never the signing key itself
    monkeypatch.setenv(ENV_CLUSTER_SECRET, "c" * 32)
    assert cluster_key(b"s" * 40) == b"c" * 32
    monkeypatch.setenv(ENV_CLUSTER_SECRET, "short")
    with pytest.raises(ValueError, match="at least 32"):
        cluster_key(b"s" * 40)
