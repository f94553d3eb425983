"""``conference anpr declarations import FILE [--unit U]``: travel declarations from a file."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from anpr_feed.declarations.imports import (
    DeclarationImportError,
    declarations_of,
    parse_declarations,
    refuse_stored,
)
from anpr_feed.events_store import plate_store_for
from conference.settings import Settings
from conference.store import open_store

MAX_FILE_BYTES = 64 * 1024 * 1024  # the command runs on the server: larger than an upload


def declarations_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a CSV or JSON file; every bad row is printed with its line and nothing is stored."""
    path = Path(args.file)
    if path.stat().st_size > MAX_FILE_BYTES:
        print(f"conference: error: {path} is over {MAX_FILE_BYTES >> 20} MB", file=sys.stderr)
        return 2
    data = path.read_bytes()
    content_type = "application/json" if path.suffix.lower() == ".json" else "text/csv"

    async def run() -> int:
        rows = parse_declarations(data, content_type, ZoneInfo(settings.timezone))
        store = open_store(settings.data_dir, settings.redis_url, settings.redis_prefix)
        try:
            if args.unit is not None:
                await store.get_unit(args.unit)
            plates = plate_store_for(store)
            stored = await plates.declarations_of_plates([r.plate for r in rows])
            refuse_stored(rows, stored, args.unit)
            declarations = declarations_of(rows, args.unit, "cli", f"cli:{path.name}", time.time())
            await plates.add_declarations(declarations)
            return len(declarations)
        finally:
            await store.close()

    try:
        added = asyncio.run(run())
    except DeclarationImportError as exc:
        for error in exc.errors:
            print(f"{path}:{error.line}: {error.message} [{error.code}]", file=sys.stderr)
        if exc.more:
            print(f"{path}: và {exc.more} lỗi khác", file=sys.stderr)
        print("conference: error: nothing was imported", file=sys.stderr)
        return 2
    print(f"imported {added} declarations")
    return 0
