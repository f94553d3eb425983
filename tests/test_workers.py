"""``conference serve --workers N``: N nodes behind one port, supervised.

A real supervisor with two workers on one Redis: both register as nodes with
their own ports; WHIP and WHEP clients that only know the public port reach a
meeting's home worker (307 to its own port) and the viewer decodes the
publisher; with ``--placement-fallback load`` a second meeting goes to the
other worker; a worker killed with -9 is started again; SIGTERM to the
supervisor stops every worker. The supervisor holds every port, the workers'
own too, and a worker port another program holds stops the start at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from conference.tokens import Role
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import capture_frames, client_pc, whip_publish
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.redis_keys import lease_holder as home_holder
from tests.support.server import ServerProcess, free_port, server_env, start_server
from tests.support.waiting import eventually, wait_until


@pytest.fixture
def redis_env(redis_url: str) -> Iterator[dict[str, str]]:
    prefix = unique_prefix()
    yield {"CONFERENCE_REDIS_URL": redis_url, "CONFERENCE_REDIS_PREFIX": prefix}
    asyncio.run(delete_prefixed(redis_url, prefix))


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` holds a listening socket of (from /proc)."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                held.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in held:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def nodes(server: ServerProcess) -> dict[str, dict[str, Any]]:
    result = await asyncio.to_thread(server.cli, "nodes", "--json")
    assert result.returncode == 0, result.stderr
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    return {n["id"]: n for n in listed if not n.get("rejected")}


def lease_holder(env: dict[str, str], room: str) -> str | None:
    return home_holder(env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "home", room)


async def frames_at_a_viewer(server: ServerProcess, room: str, wanted: int = 10) -> int:
    """Video frames a WHEP viewer that knows only the public port decodes (up to ``wanted``)."""
    viewer = client_pc()
    video = viewer.addTransceiver("video", direction="recvonly")
    frames = capture_frames(video.receiver)
    await viewer.setLocalDescription(await viewer.createOffer())
    token = server.token(room, "Màn hình", role=Role.VIEWER)
    url = f"{server.base_url}/whep/{room}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(3):  # a 307 to the home worker is followed by hand (RFC 9725 4.5)
                async with http.post(
                    url,
                    data=viewer.localDescription.sdp,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
                    allow_redirects=False,
                ) as response:
                    body = await response.text()
                if response.status != 307:
                    break
                url = response.headers["Location"]
        assert response.status == 201, body
        await viewer.setRemoteDescription(RTCSessionDescription(body, "answer"))
        await wait_until(lambda: len(frames.frames) >= wanted)
        return len(frames.frames)
    finally:
        await viewer.close()


def test_workers_need_redis_and_sane_ports(tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in server_env().items() if k != "CONFERENCE_REDIS_URL"}
        return subprocess.run(
            [sys.executable, "-m", "conference", "serve", "--data-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    result = serve("--workers", "2")
    assert result.returncode == 2 and "--workers needs --redis" in result.stderr
    result = serve("--workers", "0")
    assert result.returncode == 2 and "1 to 256" in result.stderr
    result = serve("--workers", "2", "--redis", "redis://127.0.0.1:6379/15", "--worker-ports", "9")
    assert result.returncode == 2 and "names 1 ports for 2 workers" in result.stderr


def test_a_taken_worker_port_stops_the_start(tmp_path: Path, redis_env: dict[str, str]) -> None:
    public, first, taken = free_port(), free_port(), free_port()
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", taken))
        other_program.listen()
        result = subprocess.run(
            [
                *(sys.executable, "-m", "conference", "serve", "--data-dir", str(tmp_path)),
                *("--host", "127.0.0.1", "--port", str(public), "--workers", "2"),
                *("--worker-ports", f"{first},{taken}", "--node-id", "tinh"),
            ],
            capture_output=True,
            text=True,
            env={**server_env(), **redis_env},
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert f"worker 2's own port {taken}" in result.stderr
    assert "Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Serving with" not in result.stdout  # no worker was started
    # Nothing holds the public port or the other worker's any more.
    for port in (public, first):
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))


async def test_two_workers_behind_one_port_serve_a_meeting_and_are_supervised(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    ports = [free_port(), free_port()]
    server = start_server(
        tmp_path / "data",
        "--workers",
        "2",
        "--worker-ports",
        ",".join(map(str, ports)),
        "--node-id",
        "tinh",
        "--placement-fallback",
        "load",
        env=redis_env,
    )
    supervisor = server.process.pid
    try:

        async def both_listed() -> dict[str, dict[str, Any]] | None:
            listed = await nodes(server)
            return listed if set(listed) == {"tinh-w1", "tinh-w2"} else None

        listed = await eventually(both_listed)
        assert {n["advertise"] for n in listed.values()} == {
            f"http://127.0.0.1:{port}" for port in ports
        }
        workers = children(supervisor)
        assert len(workers) == 2
        # The supervisor bound every port, so a restarted worker gets its own port back.
        assert listening_ports(supervisor) >= {int(server.base_url.rsplit(":", 1)[1]), *ports}

        # A publisher and a viewer who know only the public port meet at the home worker.
        room = server.cli("room", "create", "Họp tỉnh").stdout.strip()
        video, audio = encode_vp8(frames=60, gop=30), encode_opus(1.0)
        publisher, response, body = await whip_publish(
            server.base_url,
            room,
            server.token(room, "Camera", site_id="cam"),
            [PacketTrack(video), PacketTrack(audio)],
            follow_307=True,
        )
        try:
            assert response.status == 201, body
            holder = lease_holder(redis_env, room)
            home = listed[holder or ""]["advertise"]
            assert str(response.url).startswith((home, server.base_url))
            for _ in range(3):  # each may be accepted by either worker
                assert await frames_at_a_viewer(server, room) >= 10

            # By load: a second meeting goes to the worker without the first one's site
            # (which may not be the home: with the cascade a site stays at the worker
            # that accepted it).
            async def worker_with_the_site() -> str | None:
                # Exactly one busy worker: a WHEP viewer of the checks above may still be
                # counted at the other one for a moment, and with both busy "by load" is a tie.
                listed = await nodes(server)
                busy = [i for i, n in listed.items() if n["sites"] >= 1]
                return busy[0] if len(busy) == 1 else None

            busy = await eventually(worker_with_the_site)

            async def a_new_meeting_goes_elsewhere() -> bool:
                # Each worker places by the records it read at its own last heartbeat (every
                # 2 s, later on a busy machine): a meeting created before the placing worker
                # saw the site may still land on the busy one, so ask again with a new one.
                other = server.cli("room", "create", "Họp huyện").stdout.strip()
                second, reply, _ = await whip_publish(
                    server.base_url,
                    other,
                    server.token(other, "Camera 2", site_id="cam2"),
                    [PacketTrack(video), PacketTrack(audio)],
                    follow_307=True,
                )
                await second.close()
                assert reply.status == 201
                return lease_holder(redis_env, other) not in (None, busy)

            await eventually(a_new_meeting_goes_elsewhere, timeout=60, interval=2)
        finally:
            await publisher.close()

        # A worker killed with -9 is started again, as the same node.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)

        async def replaced() -> set[int] | None:
            now = children(supervisor)
            return now if len(now) == 2 and victim not in now else None

        await eventually(replaced, timeout=30)
        await eventually(both_listed, timeout=30)
        assert "exited with status -9; starting it again" in server.log()
    finally:
        running = children(supervisor)
        assert server.stop() == 0
    # SIGTERM to the supervisor stopped every worker.
    assert not [pid for pid in running if alive(pid)]
    assert "Traceback" not in server.log()


async def test_with_redis_the_default_is_one_worker_per_core_each_saying_its_machine(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    """`serve --redis URL` without --workers: `auto`, one worker per usable core, each
    on a port the system picked (not PORT+i, which may be another node's), each
    registered with the machine's node id; without Redis, one process."""
    cores = len(os.sched_getaffinity(0))
    server = start_server(
        tmp_path / "data", "--node-id", "tinh", env={**redis_env, "CONFERENCE_WORKERS": "auto"}
    )
    try:
        public = int(server.base_url.rsplit(":", 1)[1])
        expected = {f"tinh-w{i}" for i in range(1, cores + 1)} if cores > 1 else {"tinh"}

        async def all_listed() -> dict[str, dict[str, Any]] | None:
            listed = await nodes(server)
            return listed if set(listed) == expected else None

        listed = await eventually(all_listed, timeout=60)
        if cores > 1:
            assert len(children(server.process.pid)) == cores
            assert {n["machine"] for n in listed.values()} == {"tinh"}
            ports = {int(n["advertise"].rsplit(":", 1)[1]) for n in listed.values()}
            assert len(ports) == cores and public not in ports
            assert listening_ports(server.process.pid) >= {public, *ports}
    finally:
        assert server.stop() == 0

    alone = start_server(tmp_path / "alone", env={"CONFERENCE_WORKERS": "auto"})
    try:
        assert not children(alone.process.pid)
        if cores > 1:
            assert "one process on" in alone.log() and "--redis" in alone.log()
    finally:
        assert alone.stop() == 0
