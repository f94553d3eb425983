"""Which site feeds which receive slot of each subscriber.

Pure functions over plain data, so the policy is tested without a network:
the main slot shows the featured site (floor, spotlight or active speaker),
the thumbnails show other sites with recent speakers first, and the audio
slots carry the loudest sites. Assignments are sticky: a site stays in the
slot it is in while it still belongs on screen, because every move costs a
keyframe.

The room computes the rankings once (``video_order``, ``audio_ranking``);
planning one subscriber then looks only at the head of those rankings, so a
room of thousands of sites costs a few microseconds per subscriber.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

AUDIO_SWITCH_MARGIN = 2.0  # a challenger must be this much more active than the quietest holder


@dataclass(frozen=True)
class SiteView:
    """What the router knows of one site."""

    id: str
    has_video: bool
    has_audio: bool
    video_muted: bool = False
    audio_muted: bool = False
    activity: float = 0.0


def video_order(sites: list[SiteView], recent_speakers: list[str]) -> list[str]:
    """Sites with video: recent speakers first, then cameras on, then the rest, in join order."""
    with_video = [s for s in sites if s.has_video]
    present = {s.id for s in with_video}
    head = [sid for sid in recent_speakers if sid in present]
    seen = set(head)
    rest = [s for s in with_video if s.id not in seen]
    return head + [s.id for s in rest if not s.video_muted] + [s.id for s in rest if s.video_muted]


def audio_ranking(sites: list[SiteView]) -> tuple[list[str], dict[str, float]]:
    """Unmuted microphones, loudest first, and every one's activity."""
    activity = {s.id: s.activity for s in sites if s.has_audio and not s.audio_muted}
    return sorted(activity, key=lambda k: activity[k], reverse=True), activity


def plan_video(
    subscriber: str,
    main_slots: list[str],
    thumb_slots: list[str],
    current: dict[str, str | None],
    order: list[str],
    featured: str | None,
    present: Collection[str] | None = None,
) -> dict[str, str | None]:
    """Video slot -> site for one subscriber.

    ``order`` ranks the sites with video (see :func:`video_order`); ``present``
    is the set of them (computed from ``order`` when not given).
    """
    if present is None:
        present = set(order)
    wanted_count = len(main_slots) + len(thumb_slots)
    head = [sid for sid in order[: wanted_count + 1] if sid != subscriber][:wanted_count]
    plan: dict[str, str | None] = {}
    used: set[str] = set()
    for name in main_slots:
        if featured is not None and featured != subscriber and featured in present:
            choice: str | None = featured
        else:
            # Nobody featured (or it is the subscriber itself): keep what is
            # there if still valid, else the top-ranked other site.
            keep = current.get(name)
            choice = keep if keep is not None and keep != subscriber and keep in present else None
            if choice is None:
                choice = next((sid for sid in head if sid not in used), None)
        if choice is not None and choice in used:
            choice = next((sid for sid in head if sid not in used), None)
        plan[name] = choice
        if choice is not None:
            used.add(choice)
    wanted = [sid for sid in head if sid not in used][: len(thumb_slots)]
    wanted_set = set(wanted)
    free: list[str] = []
    for name in thumb_slots:
        keep = current.get(name)
        if keep in wanted_set and keep not in used:
            plan[name] = keep
            used.add(keep)
        else:
            free.append(name)
    queue = [sid for sid in wanted if sid not in used]
    for name in free:
        plan[name] = queue.pop(0) if queue else None
    return plan


def plan_audio(
    subscriber: str,
    audio_slots: list[str],
    current: dict[str, str | None],
    ranked: list[str],
    activity: dict[str, float],
    featured: str | None,
) -> dict[str, str | None]:
    """Audio slot -> site: the loudest others, sticky, the featured site always in.

    ``ranked`` and ``activity`` come from :func:`audio_ranking`.
    """
    plan: dict[str, str | None] = {}
    for name in audio_slots:
        holder = current.get(name)
        plan[name] = (
            holder if holder is not None and holder != subscriber and holder in activity else None
        )
    assigned = {sid for sid in plan.values() if sid is not None}
    head = [sid for sid in ranked[: len(audio_slots) + 2] if sid != subscriber]
    if featured is not None and featured != subscriber and featured in activity:
        head = [featured] + [sid for sid in head if sid != featured]
    for sid in head:
        if sid in assigned:
            continue
        empty = next((n for n in audio_slots if plan[n] is None), None)
        if empty is not None:
            plan[empty] = sid
            assigned.add(sid)
            continue
        # Replace the quietest holder only when clearly louder (or featured).
        quietest = min(
            (n for n in audio_slots if plan[n] != featured),
            key=lambda n: activity.get(plan[n] or "", 0.0),
            default=None,
        )
        if quietest is None:
            break
        held = plan[quietest]
        if sid == featured or activity[sid] > activity.get(held or "", 0.0) + AUDIO_SWITCH_MARGIN:
            assigned.discard(held or "")
            plan[quietest] = sid
            assigned.add(sid)
        else:
            break  # ranked: nobody after this one is louder either
    return plan
