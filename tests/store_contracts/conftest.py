"""The plate store beside each conference store engine (``any_store`` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from anpr_feed.events_store import PlateStore, plate_store_for
from conference.store import Store


@pytest.fixture
def any_plates(any_store: Store) -> PlateStore:
    """The plate store kept beside each Store engine in turn (its file, its database), empty."""
    return plate_store_for(any_store)
