"""Which site feeds which receive slot of each subscriber.

Pure functions over plain data, so the policy is tested without a network:
the main slot shows the active speaker (or whoever the host put there), the
thumbnails show other sites with recent speakers first, and the audio slots
carry the loudest sites. Assignments are sticky: a site stays in the slot it
is in while it still belongs on screen, because every move costs a keyframe.
"""

from __future__ import annotations

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
    """Sites with video, recent speakers first, then in join order."""
    with_video = [s.id for s in sites if s.has_video]
    present = set(with_video)
    head = [sid for sid in recent_speakers if sid in present]
    seen = set(head)
    return head + [sid for sid in with_video if sid not in seen]


def plan_video(
    subscriber: str,
    main_slots: list[str],
    thumb_slots: list[str],
    current: dict[str, str | None],
    order: list[str],
    featured: str | None,
) -> dict[str, str | None]:
    """Video slot -> site for one subscriber.

    ``featured`` is the site that belongs in the main slot (spotlight, floor
    or active speaker); ``order`` ranks the rest.
    """
    others = [sid for sid in order if sid != subscriber]
    plan: dict[str, str | None] = {}
    used: set[str] = set()
    for name in main_slots:
        if featured is not None and featured != subscriber and featured in others:
            choice: str | None = featured
        else:
            # Nobody featured (or it is the subscriber itself): keep what is
            # there if still valid, else the top-ranked other site.
            keep = current.get(name)
            choice = keep if keep in others else next(iter(others), None)
        if choice is not None and choice in used:
            choice = next((sid for sid in others if sid not in used), None)
        plan[name] = choice
        if choice is not None:
            used.add(choice)
    wanted = [sid for sid in others if sid not in used][: len(thumb_slots)]
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
    sites: list[SiteView],
    featured: str | None,
) -> dict[str, str | None]:
    """Audio slot -> site: the loudest others, sticky, the floor holder always in."""
    candidates = {
        s.id: s.activity for s in sites if s.has_audio and not s.audio_muted and s.id != subscriber
    }
    plan: dict[str, str | None] = {}
    holders = {name: current.get(name) for name in audio_slots}
    for name, sid in holders.items():
        plan[name] = sid if sid in candidates else None
    assigned = {sid for sid in plan.values() if sid is not None}
    ranked = sorted(candidates, key=lambda k: candidates[k], reverse=True)
    if featured is not None and featured in candidates:
        ranked.remove(featured)
        ranked.insert(0, featured)
    for sid in ranked:
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
            key=lambda n: candidates.get(plan[n] or "", 0.0),
            default=None,
        )
        if quietest is None:
            break
        held = plan[quietest]
        if (
            sid == featured
            or candidates[sid] > candidates.get(held or "", 0.0) + AUDIO_SWITCH_MARGIN
        ):
            assigned.discard(held or "")
            plan[quietest] = sid
            assigned.add(sid)
        else:
            break  # ranked: nobody after this one is louder either
    return plan
