"""The declaration check of each stored pass: read what it needs, run the rules, keep the alert."""

from __future__ import annotations

import secrets
import time
from datetime import tzinfo

from anpr_feed.declarations.rules import LOOKBACK, Finding, Outbreaks, check_pass, in_force
from anpr_feed.events_store import CheckpointRule, DeclarationAlert, PlateEvent, PlateStore

RULES_SECONDS = 30.0  # a changed camera rule applies within this long on every node
REPEAT_SECONDS = 6 * 3600.0  # one alert per vehicle, reason and checkpoint in this long
EARLIER_MAX = 200  # passes of the plate read as evidence


class DeclarationChecker:
    """Checks passes against travel declarations (:mod:`.rules`) and stores the alerts.

    Every store call is awaited (the engines do their work off the event
    loop); a pass whose plate has no declaration at a camera that asks for
    none costs two reads.
    """

    def __init__(self, plates: PlateStore, zone: tzinfo) -> None:
        self.plates = plates
        self.zone = zone
        self._rules: dict[str, CheckpointRule] = {}
        self._rules_at = -RULES_SECONDS
        # (plate, kind, declaration, checkpoint) -> when it last raised an alert: the
        # several cameras of one checkpoint see the same car within seconds.
        self._raised: dict[tuple[str, str, str | None, str], float] = {}

    def rules_changed(self) -> None:
        """Read the cameras' rules again at the next pass."""
        self._rules_at = -RULES_SECONDS

    async def _current_rules(self) -> dict[str, CheckpointRule]:
        now = time.monotonic()
        if now - self._rules_at >= RULES_SECONDS:
            self._rules = {r.feed_id: r for r in await self.plates.checkpoint_rules()}
            self._rules_at = now
        return self._rules

    async def check(self, event: PlateEvent) -> DeclarationAlert | None:
        """The alert ``event`` raises (stored), or None."""
        declarations = await self.plates.declarations_of_plate(event.plate)
        rules = await self._current_rules()
        rule = rules.get(event.feed_id)
        if not declarations and (rule is None or rule.required == "none"):
            return None
        outbreaks = Outbreaks(await self.plates.list_outbreaks(), self.zone)
        earlier: list[PlateEvent] = []
        declaration = in_force(declarations, event.at)
        if declaration is not None:
            found = await self.plates.search_plate_events(
                plate=event.plate,
                start=declaration.valid_from - LOOKBACK,
                end=event.at + 1,
                limit=EARLIER_MAX,
            )
            earlier = [e for e in found if e.plate == event.plate and e.id != event.id]
        finding = check_pass(event, declarations, earlier, rules, outbreaks)
        if finding is None or self._repeated(event, finding):
            return None
        alert = DeclarationAlert(
            id=secrets.token_hex(8),
            event_id=event.id,
            plate=event.plate,
            at=event.at,
            feed_id=event.feed_id,
            checkpoint=event.checkpoint,
            unit_code=event.unit_code,
            kind=finding.kind,
            reason=finding.reason,
            declaration_id=finding.declaration.id if finding.declaration else None,
            evidence=tuple(e.id for e in finding.evidence),
        )
        await self.plates.add_declaration_alert(alert)
        return alert

    def _repeated(self, event: PlateEvent, finding: Finding) -> bool:
        """Whether the same alert was raised at this checkpoint lately (then it is not again)."""
        key = (
            event.plate,
            finding.kind,
            finding.declaration.id if finding.declaration else None,
            event.checkpoint,
        )
        last = self._raised.get(key)
        if last is not None and abs(event.at - last) < REPEAT_SECONDS:
            return True
        if len(self._raised) > 10_000:  # forget the old ones
            self._raised = {k: v for k, v in self._raised.items() if event.at - v < REPEAT_SECONDS}
        self._raised[key] = event.at
        return False
