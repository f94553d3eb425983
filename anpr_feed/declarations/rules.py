"""When a pass contradicts its driver's travel declaration: the rules, with no I/O.

A declaration is *in force* for a pass from :data:`GRACE` before its window
starts to :data:`GRACE` after it ends (a trip takes time; a driver declares
a little late); the latest imported one wins. A pass raises a
"khai báo không trung thực" finding when:

(a) a declaration is in force and the reads say otherwise:

    1. the same plate was read at a checkpoint of another province than the
       declared origin, that province an outbreak zone that day, within the
       declared window or up to :data:`LOOKBACK` before it; or
    2. the plate is registered in a province that is an outbreak zone today,
       and the declared origin is neither that province nor an outbreak zone;

(b) no declaration is in force and the checkpoint asks for one
    (:class:`~anpr_feed.events_store.CheckpointRule`): of every vehicle
    (``all``), or of vehicles registered in an outbreak province (``outbreak``).

A checkpoint's province is the one set in its camera's rule: a pass at a
camera with no rule is no evidence of where the vehicle was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from anpr_feed.events_store import CheckpointRule, Declaration, Outbreak, PlateEvent
from anpr_feed.events_store.declaration_records import REQUIRE_ALL, REQUIRE_OUTBREAK
from anpr_feed.provinces import province_name, same_province

GRACE = 24 * 3600.0
LOOKBACK = 14 * 86400.0  # an incubation period: passes this long before the window count

MISMATCH = "mismatch"
UNDECLARED = "undeclared"


@dataclass(frozen=True)
class Finding:
    """Why a pass raises a declaration alert, and what shows it."""

    kind: str  # MISMATCH or UNDECLARED
    reason: str  # Vietnamese, for the officer
    declaration: Declaration | None
    evidence: tuple[PlateEvent, ...]  # the pass first, then the contradicting passes


def in_force(declarations: Sequence[Declaration], at: float) -> Declaration | None:
    """The declaration that speaks for a pass at ``at``: the latest imported in force."""
    current = [d for d in declarations if d.valid_from - GRACE <= at <= d.valid_to + GRACE]
    return max(current, key=lambda d: (d.imported_at, d.id), default=None)


class Outbreaks:
    """The outbreak markings, asked by province and moment."""

    def __init__(self, markings: Sequence[Outbreak], zone: tzinfo) -> None:
        self._markings = list(markings)
        self.zone = zone

    def on(self, province_code: str, at: float) -> bool:
        """Whether ``province_code``'s province is an outbreak zone on the day of ``at``."""
        day = datetime.fromtimestamp(at, self.zone).date().isoformat()
        return any(
            same_province(m.province_code, province_code) and m.start <= day <= m.end
            for m in self._markings
        )


def _when(at: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(at, zone).strftime("%H:%M %d/%m/%Y")


def check_pass(
    event: PlateEvent,
    declarations: Sequence[Declaration],
    earlier: Sequence[PlateEvent],
    rules: Mapping[str, CheckpointRule],
    outbreaks: Outbreaks,
) -> Finding | None:
    """The finding a pass raises (see the module docstring), or None.

    ``earlier`` are other passes of the plate (any checkpoint, any unit);
    ``rules`` the cameras' rules by feed id.
    """
    zone = outbreaks.zone
    declaration = in_force(declarations, event.at)
    if declaration is None:
        rule = rules.get(event.feed_id)
        required = rule.required if rule is not None else None
        if required == REQUIRE_ALL:
            return Finding(
                UNDECLARED,
                "Xe không có khai báo di chuyển (chốt này yêu cầu khai báo với mọi xe).",
                None,
                (event,),
            )
        if required == REQUIRE_OUTBREAK and outbreaks.on(event.province_code, event.at):
            return Finding(
                UNDECLARED,
                f"Xe đăng ký tại {province_name(event.province_code)} (vùng dịch) "
                "không có khai báo di chuyển.",
                None,
                (event,),
            )
        return None
    origin = province_name(declaration.origin_code)
    seen_elsewhere: list[tuple[PlateEvent, CheckpointRule]] = []
    for other in sorted(earlier, key=lambda e: e.at):
        rule = rules.get(other.feed_id)
        if (
            other.id != event.id
            and other.plate == event.plate
            and rule is not None
            and declaration.valid_from - LOOKBACK <= other.at <= declaration.valid_to
            and other.at <= event.at
            and not same_province(rule.province_code, declaration.origin_code)
            and outbreaks.on(rule.province_code, other.at)
        ):
            seen_elsewhere.append((other, rule))
    if seen_elsewhere:
        first, rule = seen_elsewhere[0]
        more = f" và {len(seen_elsewhere) - 1} lần khác" if len(seen_elsewhere) > 1 else ""
        return Finding(
            MISMATCH,
            f"Khai báo đi từ {origin}, nhưng xe được camera ghi nhận tại {first.checkpoint} "
            f"({province_name(rule.province_code)}, vùng dịch) lúc {_when(first.at, zone)}{more}.",
            declaration,
            (event, *(e for e, _ in seen_elsewhere)),
        )
    if (
        outbreaks.on(event.province_code, event.at)
        and not same_province(event.province_code, declaration.origin_code)
        and not outbreaks.on(declaration.origin_code, event.at)
    ):
        return Finding(
            MISMATCH,
            f"Xe đăng ký tại {province_name(event.province_code)} (vùng dịch), "
            f"nhưng khai báo đi từ {origin}.",
            declaration,
            (event,),
        )
    return None
