"""The ``conference`` command: ``serve`` and the admin verbs that need no browser."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from anpr_feed.cli import FeedCliError
from conference.accounts import AccountError, check_username, hash_password
from conference.cluster.secret import cluster_key
from conference.keys import load_or_create_secret
from conference.private_files import private_dir, use_private_umask
from conference.settings import IceServer, Settings
from conference.store import AccountRole, RoomNotFound, StoreError, User, open_store
from conference.tokens import Role, issue_token, parse_duration
from conference.units import UnitFileError, read_catalogue, seed_units
from server.workers import (
    WORKER_ENV,
    bind_public,
    bind_worker_ports,
    supervise,
    with_port,
    worker_command,
    worker_node_id,
    worker_ports,
)

DEMO_ROOM_KEY = "demo_room_id"
SERVED_URL_KEY = "served_url"  # where `serve` last listened: the default base of join links
DEMO_ROOM_NAME = "Phòng họp thử nghiệm"
DEMO_SITES = ("UBND tỉnh Thái Nguyên", "UBND huyện Định Hóa", "UBND xã Yên Bình")
# The banner goes to the terminal and often to a log: its links are
# participants' only, and short-lived. A host link is made on purpose.
DEMO_TTL = timedelta(hours=2)


class CliError(Exception):
    """An error to print without a traceback, exit status 2."""


AUTO = "auto"
WORKERS_ENV = "CONFERENCE_WORKERS"  # the default of --workers: a number or "auto"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError("give 1 to 256 workers")
    return value


def _workers(text: str) -> int | str:
    """``--workers``: 1-256, or ``auto`` (one per core where the workers can share state)."""
    return AUTO if text.strip().lower() == AUTO else _positive_int(text)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_workers(args: argparse.Namespace, settings: Settings) -> tuple[int, str | None]:
    """How many workers ``serve`` runs, and why fewer than the cores (for the log).

    An explicit ``--workers N`` is obeyed (and checked by :func:`_serve_workers`).
    ``auto`` (the default) is one worker per usable core when the workers can be
    one service: they share the meetings through Redis, so with the embedded store
    (no ``--redis``) it is one process, as it is with ``--port 0`` (each worker
    needs the one port) and inside a worker.
    """
    if args.workers != AUTO:
        return int(args.workers), None
    cores = usable_cores()
    if os.environ.get(WORKER_ENV):
        return 1, None
    if cores <= 1:
        return 1, None
    if settings.redis_url is None:
        return 1, (
            f"one process on {cores} cores: the embedded store is this process's own; "
            "with --redis URL the server runs one worker per core (--workers auto)"
        )
    if settings.port == 0:
        return 1, f"one process on {cores} cores: workers need a fixed --port"
    return cores, None


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    values: dict[str, Any] = {}
    names = ("data_dir", "host", "port", "public_url", "cert", "key", "node_id", "advertise")
    for name in (*names, "placement", "placement_fallback", "cascade", "relay_host", "relay_port"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if getattr(args, "redis", None) is not None:
        values["redis_url"] = args.redis
    if getattr(args, "self_signed", False):
        values["self_signed"] = True
    servers = [IceServer(urls=[u]) for u in getattr(args, "stun", None) or []]
    for url in getattr(args, "turn", None) or []:
        servers.append(
            IceServer(urls=[url], username=args.turn_username, credential=args.turn_credential)
        )
    if servers:
        values["ice_servers"] = servers
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from exc


def join_url(base_url: str, room_id: str, token: str) -> str:
    """The link a site opens to join ``room_id``."""
    return f"{base_url}/join/{room_id}?token={token}"


async def _ensure_demo(settings: Settings) -> list[str]:
    """Seed the units and the demo room on first start; return banner lines with fresh links."""
    store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
    lines: list[str] = []
    try:
        await store.set_meta(SERVED_URL_KEY, settings.base_url())
        if await store.count_units() == 0:
            count = await store.upsert_units(seed_units())
            lines.append(f"Seeded {count} administrative units of Thai Nguyen (GSO, 2021-11-01).")
        if not await store.list_users():
            lines.append(
                "No accounts yet: create the first administrator with "
                "`conference user add admin --role admin`."
            )
        room_id = await store.get_meta(DEMO_ROOM_KEY)
        first = room_id is None
        if room_id is not None:
            try:
                room = await store.get_room(room_id)
            except RoomNotFound:
                return lines  # the operator deleted it: do not bring it back
        else:
            room = await store.create_room(DEMO_ROOM_NAME, settings.default_codec)
            await store.set_meta(DEMO_ROOM_KEY, room.id)
    finally:
        await store.close()
    secret = load_or_create_secret(settings.data_dir)
    hours = int(DEMO_TTL.total_seconds() // 3600)
    lines.append(
        ("Created" if first else "Demo room")
        + f" {room.name!r} (id {room.id}). Site join links, valid {hours} h:"
    )
    for index, name in enumerate(DEMO_SITES):
        token = issue_token(
            secret,
            room=room.id,
            name=name,
            role=Role.PARTICIPANT,
            ttl=DEMO_TTL,
            site_id=f"demo-{index + 1}",
        )
        lines.append(f"  {name}: {join_url(settings.base_url(), room.id, token)}")
    lines.append(
        "A host link (mute, spotlight, lock) is not printed: make one when you need it with "
        f'`conference token {room.id} --name "{DEMO_SITES[0]}" --role host --ttl 2h`.'
    )
    return lines


def cmd_serve(args: argparse.Namespace) -> int:
    from server.compose import StartupError, build_app
    from web.app import serve

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Everything the server and its workers write is the service account's own
    # (see conference/private_files.py), the data directory first.
    use_private_umask()
    private_dir(settings.data_dir)
    workers, why_one = resolve_workers(args, settings)
    if why_one:
        logging.getLogger("conference.serve").info(why_one)
    if workers > 1:
        return _serve_workers(args, settings, workers, chosen=args.workers == AUTO)
    # A worker of `--workers N`: its supervisor seeded the store and printed the links.
    banner = [] if os.environ.get(WORKER_ENV) else asyncio.run(_ensure_demo(settings))
    try:
        asyncio.run(serve(settings, lambda: build_app(settings), banner))
    except StartupError as exc:
        raise CliError(str(exc)) from None
    return 0


def _serve_workers(
    args: argparse.Namespace, settings: Settings, count: int, chosen: bool = False
) -> int:
    """``serve --workers N``: bind the public port, prepare what the workers share, and
    supervise them (server/workers.py). ``chosen``: N is the number of cores (``auto``),
    not the operator's: each worker's own port is then one the system picks unless
    ``--worker-ports`` names them (PORT+1.. may be another program's, or the next
    node's public port on the same machine)."""
    if settings.redis_url is None:
        raise CliError(
            "--workers needs --redis URL (or CONFERENCE_REDIS_URL): the workers share the "
            "meetings, their home leases and their events through Redis"
        )
    if settings.port == 0:
        raise CliError("--workers needs a fixed --port: each worker listens on a port of its own")
    try:
        ports = worker_ports(settings.port, count, args.worker_ports, any_free=chosen)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    # Every port first, the workers' own too: one that cannot be had stops the start
    # here, before any link is printed or any worker started (a worker that could not
    # bind its port would fail and be started again forever).
    try:
        sockets = bind_public(settings.host, settings.port)
    except OSError as exc:
        raise CliError(str(exc)) from None
    try:
        own = bind_worker_ports(settings.host, ports)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise CliError(exc.strerror or str(exc)) from None
    ports = [own_sockets[0].getsockname()[1] for own_sockets in own]  # the system's picks
    # Made once here, so that the workers read the same key and certificate.
    load_or_create_secret(settings.data_dir)
    if settings.self_signed:
        from conference.tls import ensure_self_signed

        ensure_self_signed(settings.data_dir, [settings.host])
    for line in asyncio.run(_ensure_demo(settings)):
        print(line, flush=True)
    base = settings.advertise or settings.public_url or settings.base_url()
    overrides = [
        [
            "--workers",
            "1",
            "--port",
            str(port),
            "--node-id",
            worker_node_id(settings.node_id, settings.port, i + 1),
            "--advertise",
            with_port(base, port),
            # A fixed relay port is the first worker's; the others take the next ones.
            *(["--relay-port", str(settings.relay_port + i)] if settings.relay_port else []),
        ]
        for i, port in enumerate(ports)
    ]
    print(f"Public port {settings.base_url()}; workers on ports {ports}", flush=True)
    machine = settings.cluster_node_id()
    return supervise(
        count, [*worker_command(), *sys.argv[1:]], overrides, sockets, own, machine=machine
    )


def cmd_nodes(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.redis_url is None:
        raise CliError("nodes live in Redis: give --redis URL or set CONFERENCE_REDIS_URL")
    from conference.cluster.listing import list_nodes, node_line, node_lines_json

    key = cluster_key(load_or_create_secret(settings.data_dir))
    from redis.exceptions import RedisError

    try:
        listing = asyncio.run(list_nodes(settings.redis_url, settings.redis_prefix, key))
    except RedisError as exc:
        # The error's text may quote the URL, password and all: name its kind only.
        raise CliError(f"cannot read the nodes from Redis ({type(exc).__name__})") from None
    now = time.time()
    if args.json:
        for line in node_lines_json(listing, now):
            print(line)
    else:
        for record in listing.nodes:
            print(node_line(record, now))
        if listing.rejected:
            print(
                f"{len(listing.rejected)} record(s) rejected (not signed with this cluster's "
                f"key): {', '.join(json.dumps(i[:80]) for i in listing.rejected)}",
                file=sys.stderr,
            )
    return 0


def cmd_room_create(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run() -> str:
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            room = await store.create_room(args.name, args.codec or settings.default_codec, args.id)
        finally:
            await store.close()
        return room.id

    print(asyncio.run(run()))
    return 0


def cmd_room_list(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run() -> list[Any]:
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            return await store.list_rooms()
        finally:
            await store.close()

    rooms = asyncio.run(run())
    if args.json:
        for room in rooms:
            print(
                json.dumps(
                    {
                        "id": room.id,
                        "name": room.name,
                        "codec": room.codec,
                        "created_at": room.created_at,
                    },
                    ensure_ascii=False,
                )
            )
    else:
        for room in rooms:
            print(f"{room.id}\t{room.codec}\t{room.name}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        ttl = parse_duration(args.ttl)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not args.name.strip():
        raise CliError("--name must not be empty")

    async def room_and_base_url() -> str:
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            await store.get_room(args.room)
            served = await store.get_meta(SERVED_URL_KEY)
        finally:
            await store.close()
        # An explicit public URL wins; else where the server last listened.
        return settings.public_url or served or settings.base_url()

    base_url = asyncio.run(room_and_base_url())
    secret = load_or_create_secret(settings.data_dir)
    token = issue_token(
        secret, room=args.room, name=args.name, role=Role(args.role), ttl=ttl, site_id=args.site_id
    )
    url = join_url(base_url, args.room, token)
    if args.json:
        print(
            json.dumps(
                {
                    "token": token,
                    "url": url,
                    "room": args.room,
                    "name": args.name,
                    "role": args.role,
                    "expires_in": int(ttl.total_seconds()),
                },
                ensure_ascii=False,
            )
        )
    else:
        print(token)
        print(url)
    return 0


def cmd_units_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        units = read_catalogue(Path(args.file))
    except UnitFileError as exc:
        raise CliError(str(exc)) from exc

    async def run() -> tuple[int, int]:
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            written = await store.upsert_units(units)
            return written, await store.count_units()
        finally:
            await store.close()

    started = time.monotonic()
    written, total = asyncio.run(run())
    print(f"imported {written} units in {time.monotonic() - started:.1f} s; {total} units stored")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        username = check_username(args.username)
    except AccountError as exc:
        raise CliError(str(exc)) from exc
    role = AccountRole(args.role)
    if role is not AccountRole.ADMIN and not args.unit:
        raise CliError(
            f"a {role.value} account needs --unit (the unit code, or the site id of a site account)"
        )
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the two passwords differ")
    try:
        password_hash = hash_password(password)
    except AccountError as exc:
        raise CliError(str(exc)) from exc

    async def run() -> None:
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            if role is AccountRole.SITE:
                await store.get_site(args.unit)
            elif args.unit:
                await store.get_unit(args.unit)
            await store.create_user(
                User(
                    username,
                    args.name or username,
                    role,
                    args.unit if role is not AccountRole.ADMIN else None,
                    password_hash,
                    time.time(),
                )
            )
        finally:
            await store.close()

    asyncio.run(run())
    print(f"created {role.value} account {username!r}")
    return 0


def cmd_recording_render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from recorder.library import Library
    from recorder.render_cli import render_command

    try:
        directory = Library(settings.recordings_dir).directory(args.recording)
    except KeyError as exc:
        raise CliError(f"no recording {args.recording!r} in {settings.recordings_dir}") from exc
    return render_command(directory, args.layout, args.json_progress)


def cmd_recording_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from recorder.library import Library

    for info in Library(settings.recordings_dir).all():
        manifest = info.manifest
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(manifest.started_at))
        duration = manifest.duration or 0
        title = manifest.meeting_title or manifest.room_name
        if args.json:
            print(
                json.dumps(
                    {
                        "id": manifest.id,
                        "title": title,
                        "started_at": manifest.started_at,
                        "duration": duration,
                        "status": manifest.status.value,
                        "tracks": len(manifest.tracks),
                        "size": info.size,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            print(
                f"{manifest.id}\t{started}\t{duration / 60:.1f} min\t{manifest.status.value}\t{title}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``conference`` command."""
    parser = argparse.ArgumentParser(prog="conference", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, help="data directory (env CONFERENCE_DATA_DIR, default ./data)"
    )
    common.add_argument("--public-url", help="base URL for join links (env CONFERENCE_PUBLIC_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--cert", type=Path, help="TLS certificate (PEM)")
    serve.add_argument("--key", type=Path, help="TLS private key (PEM)")
    serve.add_argument(
        "--self-signed",
        action="store_true",
        help="serve HTTPS with a self-signed certificate kept in the data directory",
    )
    serve.add_argument(
        "--stun",
        action="append",
        metavar="URL",
        help="STUN server, e.g. stun:stun.example.org:3478",
    )
    serve.add_argument(
        "--turn",
        action="append",
        metavar="URL",
        help="TURN server, e.g. turn:turn.example.org:3478",
    )
    serve.add_argument("--turn-username")
    serve.add_argument("--turn-credential")
    serve.add_argument(
        "--redis",
        metavar="URL",
        help="keep state in Redis and join its cluster of nodes (env CONFERENCE_REDIS_URL)",
    )
    serve.add_argument(
        "--node-id",
        help="this node's id in the cluster (env CONFERENCE_NODE_ID; default HOSTNAME-PORT)",
    )
    serve.add_argument(
        "--advertise",
        metavar="ADDR",
        help="base URL sites reach this node at, http(s)://host:port (env CONFERENCE_ADVERTISE; "
        "default the public URL)",
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=os.environ.get(WORKERS_ENV) or AUTO,
        metavar="N",
        help="run N server processes behind the one port (needs --redis; each worker also "
        "listens on PORT+i, where sites of its meetings are sent). Default auto (env "
        "CONFERENCE_WORKERS): one per core with --redis (each worker's own port then "
        "one the system picks), else one process",
    )
    serve.add_argument(
        "--worker-ports",
        metavar="P1,P2,...",
        help="each worker's own port instead of PORT+1 .. PORT+N",
    )
    serve.add_argument(
        "--placement",
        metavar="UNIT=NODE,...",
        help="a meeting convened by UNIT or a unit below it lives on NODE, e.g. "
        "19=tinh-tn,06=tinh-bk (env CONFERENCE_PLACEMENT)",
    )
    serve.add_argument(
        "--placement-fallback",
        choices=("here", "load"),
        help="a meeting no rule covers lives on the node its first site reached (here, the "
        "default) or on the live node with the fewest sites (load) "
        "(env CONFERENCE_PLACEMENT_FALLBACK)",
    )
    serve.add_argument(
        "--cascade",
        choices=("off", "spread"),
        help="off: every site of a meeting goes to its home node; spread: a site is served "
        "by its unit's node or the node it reached, the meeting's media relayed between the "
        "nodes (the default of --workers) (env CONFERENCE_CASCADE)",
    )
    serve.add_argument(
        "--relay-host",
        metavar="IP",
        help="numeric address of this node's relay socket, reachable from the other nodes "
        "(default 127.0.0.1) (env CONFERENCE_RELAY_HOST)",
    )
    serve.add_argument(
        "--relay-port",
        type=int,
        metavar="PORT",
        help="UDP port of the relay socket (default: one the system picks; with --workers, "
        "worker i takes PORT+i-1) (env CONFERENCE_RELAY_PORT)",
    )
    serve.set_defaults(func=cmd_serve)

    nodes = sub.add_parser(
        "nodes", parents=[common], help="list the live nodes of the cluster (in Redis)"
    )
    nodes.add_argument("--redis", metavar="URL", help="env CONFERENCE_REDIS_URL")
    nodes.add_argument("--json", action="store_true", help="one JSON object per line")
    nodes.set_defaults(func=cmd_nodes)

    room = sub.add_parser("room", help="manage rooms")
    room_sub = room.add_subparsers(dest="room_command", required=True)
    create = room_sub.add_parser("create", parents=[common], help="create a room and print its id")
    create.add_argument("name")
    create.add_argument(
        "--codec", choices=["vp8", "h264"], help="video codec of the room (default vp8)"
    )
    create.add_argument("--id", help="choose the room id instead of a random one")
    create.set_defaults(func=cmd_room_create)
    listing = room_sub.add_parser("list", parents=[common], help="list rooms")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_room_list)

    token = sub.add_parser(
        "token", parents=[common], help="print a signed join token and the join URL"
    )
    token.add_argument("room", help="room id")
    token.add_argument(
        "--name", required=True, help='site name shown to others, e.g. "Xã Yên Bình"'
    )
    token.add_argument("--role", choices=[r.value for r in Role], default=Role.PARTICIPANT.value)
    token.add_argument("--ttl", default="8h", help="validity, e.g. 30m, 8h, 2d (default 8h)")
    token.add_argument("--site-id", help="stable site id (a reconnecting site replaces itself)")
    token.add_argument("--json", action="store_true", help="print one JSON object")
    token.set_defaults(func=cmd_token)

    units = sub.add_parser("units", help="administrative units")
    units_sub = units.add_subparsers(dest="units_command", required=True)
    importer = units_sub.add_parser(
        "import", parents=[common], help="load a GSO unit catalogue (JSON)"
    )
    importer.add_argument("file", help="e.g. ../shared/data/vn-admin-units-2021-11-01.json")
    importer.set_defaults(func=cmd_units_import)

    user = sub.add_parser("user", help="accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser(
        "add", parents=[common], help="create an account (asks for the password)"
    )
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in AccountRole], required=True)
    add.add_argument("--unit", help="unit code (host, viewer, operator) or site id (site account)")
    add.add_argument("--name", help="display name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=cmd_user_add)

    recording = sub.add_parser("recording", help="recordings")
    recording_sub = recording.add_subparsers(dest="recording_command", required=True)
    render = recording_sub.add_parser(
        "render", parents=[common], help="render a composite MP4 of a recording"
    )
    render.add_argument("recording", help="recording id (see `conference recording list`)")
    render.add_argument("--layout", choices=["grid", "speaker"], default="grid")
    render.add_argument(
        "--json-progress", action="store_true", help="progress as JSON lines on stdout"
    )
    render.set_defaults(func=cmd_recording_render)
    listing_recordings = recording_sub.add_parser("list", parents=[common], help="list recordings")
    listing_recordings.add_argument("--json", action="store_true")
    listing_recordings.set_defaults(func=cmd_recording_list)

    from anpr_feed.cli import add_parsers

    def with_settings(command: Any) -> Any:
        return lambda args: command(_settings(args), args)

    add_parsers(sub, common, with_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``conference`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (CliError, FeedCliError, StoreError, ValueError) as exc:
        print(f"conference: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
