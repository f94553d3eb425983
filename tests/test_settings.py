"""Configuration: environment, flags, validation, and ICE servers for both ends."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conference.peer import ice_configuration
from conference.settings import Settings
from server.cli import CliError, _settings, build_parser


def test_ice_servers_from_the_environment_reach_aiortc(monkeypatch):
    monkeypatch.setenv(
        "CONFERENCE_ICE_SERVERS",
        '[{"urls": "stun:stun.thainguyen.gov.vn:3478"},'
        ' {"urls": ["turn:turn.thainguyen.gov.vn:3478"], "username": "u", "credential": "p"}]',
    )
    settings = Settings()
    assert [s.urls for s in settings.ice_servers] == [
        ["stun:stun.thainguyen.gov.vn:3478"],
        ["turn:turn.thainguyen.gov.vn:3478"],
    ]
    config = ice_configuration(settings.ice_servers)
    assert [(s.urls, s.username, s.credential) for s in config.iceServers] == [
        (["stun:stun.thainguyen.gov.vn:3478"], None, None),
        (["turn:turn.thainguyen.gov.vn:3478"], "u", "p"),
    ]


def test_serve_flags_become_settings(tmp_path):
    args = build_parser().parse_args(
        [
            "serve",
            "--port",
            "9443",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
            "--stun",
            "stun:a.example:3478",
            "--turn",
            "turns:b.example:5349",
            "--turn-username",
            "site",
            "--turn-credential",
            "secret",
            "--self-signed",
        ]
    )
    settings = _settings(args)
    assert (settings.port, settings.host, settings.self_signed) == (9443, "0.0.0.0", True)
    assert settings.base_url() == "https://127.0.0.1:9443"
    assert [(s.urls, s.username) for s in settings.ice_servers] == [
        (["stun:a.example:3478"], None),
        (["turns:b.example:5349"], "site"),
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": 70000}, "less than or equal to 65535"),
        ({"ice_servers": [{"urls": "http://x"}]}, "must start with stun:"),
        ({"public_url": "hop.example.vn"}, "must start with http"),
        ({"self_signed": True, "cert": "c.pem", "key": "k.pem"}, "not both"),
        ({"cert": "missing.pem", "key": "missing.key"}, "TLS file not found"),
        ({"cert": "c.pem"}, "go together"),
        ({"thumbnail_slots": 9}, "less than or equal to 8"),
    ],
)
def test_bad_settings_fail_at_start_with_the_setting_named(values, message):
    with pytest.raises(ValidationError) as err:
        Settings(**values)
    assert message in str(err.value)


def test_cli_reports_bad_settings_without_a_traceback(tmp_path):
    args = build_parser().parse_args(["serve", "--port", "70000", "--data-dir", str(tmp_path)])
    with pytest.raises(CliError) as err:
        _settings(args)
    assert "port" in str(err.value)
