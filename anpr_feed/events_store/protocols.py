"""The stores of what the cameras read: :class:`PlateEventStore`, :class:`WatchListStore`,
:class:`OutbreakStore`, :class:`DeclarationStore`, and :class:`PlateStore`, all four in one.

Each has an embedded engine (:mod:`.sqlite`, in the conference store's SQLite
file) and a several-node one (:mod:`.redis`, in its Redis database), chosen by
:func:`~anpr_feed.events_store.plate_store_for`; one contract suite runs on both
(``tests/store_contracts/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from anpr_feed.events_store.declaration_records import (
    AlertNote,
    CheckpointRule,
    Declaration,
    DeclarationAlert,
)
from anpr_feed.events_store.records import Outbreak, PlateEvent, PlateQuery, WatchEntry


class PlateEventStore(Protocol):
    """Vehicle passes, searched by any part of the plate.

    Each engine subclasses this protocol and implements :meth:`search_plates`;
    the keyword form callers use, :meth:`search_plate_events`, is written once,
    here, and hands its criteria on as one :class:`PlateQuery`.
    """

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        """Store vehicle passes (ids unique), all or none."""
        ...

    async def search_plate_events(
        self,
        plate: str | None = None,
        start: float | None = None,
        end: float | None = None,
        checkpoint: str | None = None,
        limit: int = 100,
        feed_ids: Sequence[str] | None = None,
        unit_codes: Sequence[str] | None = None,
    ) -> list[PlateEvent]:
        """Passes whose plate contains ``plate`` (any part of it), newest first.

        ``feed_ids`` limits the search to those cameras; ``unit_codes`` to the
        events kept for those units (a caller's scope: an event of no unit is
        in none).
        """
        return await self.search_plates(
            PlateQuery(plate, start, end, checkpoint, limit, feed_ids, unit_codes)
        )

    async def search_plates(self, criteria: PlateQuery) -> list[PlateEvent]:
        """:meth:`search_plate_events` with its criteria in one record (each engine's)."""
        ...

    async def get_plate_event(self, event_id: str) -> PlateEvent:
        """One pass or :class:`~conference.store.NotFound`."""
        ...

    async def delete_plate_events_before(self, before: float) -> list[PlateEvent]:
        """Remove passes older than ``before`` (retention); returns them (for their files)."""
        ...

    async def count_plate_events(self) -> int:
        """How many passes are stored."""
        ...


class WatchListStore(Protocol):
    """Plates to raise an alert for."""

    async def add_watch(self, entry: WatchEntry) -> None:
        """Add a watch-list entry; :class:`~conference.store.Conflict` if the pattern is listed."""
        ...

    async def list_watch(self) -> list[WatchEntry]:
        """The watch list, by pattern."""
        ...

    async def delete_watch(self, entry_id: str) -> None:
        """Remove an entry; :class:`~conference.store.NotFound` if unknown."""
        ...


class OutbreakStore(Protocol):
    """Provinces marked as outbreak zones."""

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        """Mark a province as an outbreak zone for a date range."""
        ...

    async def list_outbreaks(self) -> list[Outbreak]:
        """Every outbreak marking, by start date."""
        ...

    async def delete_outbreak(self, outbreak_id: str) -> None:
        """Remove a marking; :class:`~conference.store.NotFound` if unknown."""
        ...


class DeclarationStore(Protocol):
    """Travel declarations, the checkpoints' rules for them, and the alerts they raise.

    ``unit_codes`` limits a listing to the records kept for those units (a
    caller's scope; None: every record, for admins).
    """

    async def add_declarations(self, declarations: Sequence[Declaration]) -> None:
        """Store declarations, all or none; :class:`~conference.store.Conflict` on a taken id."""
        ...

    async def declarations_of_plate(self, plate: str) -> list[Declaration]:
        """Every declaration of one (normalised) plate, by window start."""
        ...

    async def declarations_of_plates(self, plates: Sequence[str]) -> list[Declaration]:
        """Every declaration of these (normalised) plates, in no set order (an import's check)."""
        ...

    async def list_declarations(
        self, unit_codes: Sequence[str] | None = None, limit: int = 200
    ) -> list[Declaration]:
        """Declarations, newest import first."""
        ...

    async def get_declaration(self, declaration_id: str) -> Declaration:
        """One declaration; :class:`~conference.store.NotFound` if unknown."""
        ...

    async def delete_declaration(self, declaration_id: str) -> None:
        """Remove one; :class:`~conference.store.NotFound` if unknown."""
        ...

    async def set_checkpoint_rule(self, rule: CheckpointRule) -> None:
        """Set (or replace) a camera's rule."""
        ...

    async def checkpoint_rules(self) -> list[CheckpointRule]:
        """Every camera's rule, by feed id."""
        ...

    async def add_declaration_alert(self, alert: DeclarationAlert) -> None:
        """Store an alert; :class:`~conference.store.Conflict` on a taken id."""
        ...

    async def get_declaration_alert(self, alert_id: str) -> DeclarationAlert:
        """One alert or :class:`~conference.store.NotFound`."""
        ...

    async def list_declaration_alerts(
        self, unit_codes: Sequence[str] | None = None, limit: int = 100
    ) -> list[DeclarationAlert]:
        """Alerts, newest pass first."""
        ...

    async def add_alert_note(self, note: AlertNote) -> None:
        """Add to an alert's history and make its outcome the alert's; NotFound if unknown."""
        ...

    async def alert_notes(self, alert_id: str) -> list[AlertNote]:
        """An alert's history, oldest first."""
        ...


class PlateStore(PlateEventStore, WatchListStore, OutbreakStore, DeclarationStore, Protocol):
    """Everything the cameras keep: passes, the watch list, outbreak provinces, declarations."""
