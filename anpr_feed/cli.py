"""``conference feed add|list|remove``, ``conference anpr read`` and ``anpr declarations import``.

Feeds are registered in the store; a running server picks a change up within
:data:`~anpr_feed.manager.SYNC_SECONDS` and reports each feed's status back
into the store, which is what ``feed list`` shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from anpr_feed.manager import STATUS_META, feed_fields
from anpr_feed.masking import mask_url
from anpr_feed.sources import FeedSourceError, SourcePolicy, register
from conference.settings import Settings
from conference.store import Feed, open_store
from conference.store.base import FeedLimitReached, FeedLimits


class FeedCliError(Exception):
    """An error for the command line (printed without a traceback, exit status 2)."""


# `feed add` when the server's or the unit's feed limit is reached (2: a usage error).
LIMIT_EXIT = 3


def _store(settings: Settings) -> Any:
    return open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)


def feed_add(settings: Settings, args: argparse.Namespace) -> int:
    """Register a feed and print its id (or a JSON object with ``--json``).

    The machine's operator runs this, so it may register file feeds (from the
    feed files folder) as an administrator may; cameras must be in the camera
    networks all the same.
    """
    try:
        url = register(args.url, SourcePolicy.from_settings(settings))
    except FeedSourceError as exc:
        raise FeedCliError(str(exc)) from exc
    for name in ("name", "checkpoint"):
        if not getattr(args, name).strip():
            raise FeedCliError(f"--{name} must not be empty")
    feed = Feed(
        id=secrets.token_hex(4),
        name=args.name.strip(),
        checkpoint=args.checkpoint.strip(),
        location=(args.location or "").strip(),
        url=url,
        unit_code=args.unit,
        created_at=time.time(),
        created_by="cli",
        passthrough=bool(args.passthrough),
    )

    async def run() -> None:
        store = _store(settings)
        try:
            if feed.unit_code is not None:
                await store.get_unit(feed.unit_code)
            await store.create_feed(
                feed, FeedLimits(settings.max_feeds, settings.max_feeds_per_unit)
            )
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except FeedLimitReached as exc:
        print(f"conference: error: {exc} [{exc.code}]", file=sys.stderr)
        return LIMIT_EXIT
    if args.json:
        print(json.dumps(_feed_json(feed, None), ensure_ascii=False))
    else:
        print(feed.id)
    return 0


def feed_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every feed with its last reported status: tab-separated, or JSON lines."""

    async def run() -> list[tuple[Feed, dict[str, Any] | None]]:
        store = _store(settings)
        try:
            out = []
            for feed in await store.list_feeds():
                raw = await store.get_meta(STATUS_META + feed.id)
                out.append((feed, json.loads(raw) if raw else None))
            return out
        finally:
            await store.close()

    for feed, status in asyncio.run(run()):
        if args.json:
            print(json.dumps(_feed_json(feed, status), ensure_ascii=False))
            continue
        state = _state(status)
        fps = f"{status.get('fps', 0):.1f} fps" if status else "-"
        last = (status or {}).get("last_read") or {}
        read = (
            f"{last.get('display')} {time.strftime('%H:%M:%S', time.localtime(last['at']))}"
            if last.get("at")
            else "-"
        )
        url = mask_url(feed.url)  # the worker alone reads the password
        node = (status or {}).get("node") or "-"  # the cluster node reading it
        print(f"{feed.id}\t{state}\t{fps}\t{read}\t{feed.checkpoint}\t{feed.name}\t{url}\t{node}")
    return 0


def feed_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Delete a feed (its events stay until retention)."""

    async def run() -> None:
        store = _store(settings)
        try:
            await store.delete_feed(args.feed)
        finally:
            await store.close()

    asyncio.run(run())
    print(f"removed feed {args.feed}")
    return 0


def _state(status: dict[str, Any] | None) -> str:
    """The state, or ``unknown`` when no server has reported it lately."""
    if not status:
        return "unknown"
    if time.time() - float(status.get("updated_at") or 0) > 60:
        return f"unknown (last {status.get('state')})"
    return str(status.get("state"))


def _feed_json(feed: Feed, status: dict[str, Any] | None) -> dict[str, Any]:
    return {**feed_fields(feed), "state": _state(status), "status": status}


def add_parsers(
    sub: Any, common: argparse.ArgumentParser, wrap: Callable[[Callable[..., int]], Any]
) -> None:
    """Add ``feed`` and ``anpr`` to the ``conference`` command's subparsers.

    ``wrap`` turns ``f(settings, args)`` into the CLI's ``f(args)``.
    """
    feed = sub.add_parser("feed", help="checkpoint camera feeds")
    feed_sub = feed.add_subparsers(dest="feed_command", required=True)
    add = feed_sub.add_parser("add", parents=[common], help="register a camera feed")
    add.add_argument("--name", required=True, help="the camera, e.g. 'Làn vào 1'")
    add.add_argument("--checkpoint", required=True, help="the checkpoint it belongs to")
    add.add_argument(
        "--url",
        required=True,
        help="rtsp://, http(s):// (MJPEG or a file), or a file in the feed files folder",
    )
    add.add_argument("--location", help="where it is, e.g. 'Km 52 cao tốc Hà Nội - Thái Nguyên'")
    add.add_argument("--unit", help="the unit code the checkpoint belongs to (operators' scope)")
    add.add_argument(
        "--passthrough", action="store_true", help="forward an H.264 camera without annotation"
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=wrap(feed_add))
    listing = feed_sub.add_parser("list", parents=[common], help="list feeds with their status")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=wrap(feed_list))
    remove = feed_sub.add_parser("remove", parents=[common], help="delete a feed")
    remove.add_argument("feed", help="feed id (see `conference feed list`)")
    remove.set_defaults(func=wrap(feed_remove))

    anpr = sub.add_parser("anpr", help="licence-plate reading")
    anpr_sub = anpr.add_subparsers(dest="anpr_command", required=True)
    read = anpr_sub.add_parser(
        "read", help="read plates from images or videos, one line per plate found"
    )
    read.add_argument("files", nargs="+", metavar="IMAGE_OR_VIDEO")
    read.add_argument("--json", action="store_true", help="JSON lines")
    read.set_defaults(func=_read)
    declarations = anpr_sub.add_parser("declarations", help="travel declarations (khai báo)")
    declarations_sub = declarations.add_subparsers(dest="declarations_command", required=True)
    imports = declarations_sub.add_parser(
        "import",
        parents=[common],
        help="import a CSV or JSON file of declarations (all rows or none; see docs/architecture.md)",
    )
    imports.add_argument("file", metavar="FILE")
    imports.add_argument(
        "--unit", help="the unit code the declarations are kept for (who sees them)"
    )
    imports.set_defaults(func=wrap(_declarations_import))


def _read(args: argparse.Namespace) -> int:
    from anpr_feed.read_cli import read_command

    return read_command(args.files, args.json)


def _declarations_import(settings: Settings, args: argparse.Namespace) -> int:
    from anpr_feed.declarations.cli import declarations_import

    return declarations_import(settings, args)
