"""The ``conference`` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

from conference.tokens import Role, verify_token
from tests.support.server import TEST_SECRET


def run(
    *args: str, data_dir, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CONFERENCE_SECRET=TEST_SECRET, CONFERENCE_DATA_DIR=str(data_dir))
    env.pop("CONFERENCE_PUBLIC_URL", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "conference", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_room_create_then_token_prints_token_and_join_url(tmp_path):
    created = run("room", "create", "Họp giao ban", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    room = created.stdout.strip()
    assert room and "\n" not in room
    issued = run(
        "token", room, "--name", "Xã Yên Bình", "--role", "host", "--ttl", "2h", data_dir=tmp_path
    )
    assert issued.returncode == 0, issued.stderr
    token, url = issued.stdout.strip().splitlines()
    claims = verify_token(TEST_SECRET.encode(), token)
    assert (claims.room, claims.name, claims.role) == (room, "Xã Yên Bình", Role.HOST)
    assert claims.exp - claims.iat == 7200
    parsed = urlparse(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == (
        "http",
        "127.0.0.1:8080",
        f"/join/{room}",
    )
    assert parse_qs(parsed.query)["token"] == [token]


def test_token_json_and_public_url(tmp_path):
    room = run("room", "create", "Phòng", "--id", "phong-1", data_dir=tmp_path).stdout.strip()
    assert room == "phong-1"
    issued = run(
        "token",
        room,
        "--name",
        "Huyện",
        "--json",
        data_dir=tmp_path,
        env_extra={"CONFERENCE_PUBLIC_URL": "https://hop.example.vn/"},
    )
    data = json.loads(issued.stdout)
    assert data["url"] == f"https://hop.example.vn/join/phong-1?token={data['token']}"
    assert data["role"] == "participant" and data["expires_in"] == 8 * 3600
    listing = run("room", "list", "--json", data_dir=tmp_path)
    assert json.loads(listing.stdout.splitlines()[0])["id"] == "phong-1"


def test_errors_are_clear_and_exit_2(tmp_path):
    unknown = run("token", "khong-co", "--name", "X", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no room with id 'khong-co'" in unknown.stderr
    room = run("room", "create", "Phòng", data_dir=tmp_path).stdout.strip()
    bad_ttl = run("token", room, "--name", "X", "--ttl", "soon", data_dir=tmp_path)
    assert bad_ttl.returncode == 2 and "not a duration" in bad_ttl.stderr
    bad_role = run("token", room, "--name", "X", "--role", "king", data_dir=tmp_path)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    empty = run("room", "create", "  ", data_dir=tmp_path)
    assert empty.returncode == 2 and "room name" in empty.stderr
    bad_tls = run(
        "serve", "--cert", str(tmp_path / "missing.pem"), "--key", "k.pem", data_dir=tmp_path
    )
    assert bad_tls.returncode == 2 and "TLS file not found" in bad_tls.stderr
    assert "Traceback" not in bad_tls.stderr + empty.stderr + unknown.stderr
