"""State behind one protocol; engines live side by side in this package."""

from conference.store.base import Room, RoomNotFound, Store, StoreError
from conference.store.sqlite import SqliteStore

__all__ = ["Room", "RoomNotFound", "SqliteStore", "Store", "StoreError", "open_store"]


def open_store(data_dir: object) -> Store:
    """Open the embedded engine in ``data_dir`` (the only engine so far)."""
    from pathlib import Path

    return SqliteStore(Path(str(data_dir)) / "conference.sqlite3")
