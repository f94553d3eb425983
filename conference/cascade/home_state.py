"""The home's decisions, as a message, and a carrier copy taking them over.

The home's copy is the one the hosts' console commands run at; a carrier copy
applies what they changed through the same :class:`Room` methods, so its own
sites hear of it exactly as the home's do (floor, spotlight, host mute, lock,
recording indicator, the shown document), and a site removed at the home is
taken out here, where its connection is.
"""

from __future__ import annotations

from collections.abc import Callable

from conference.cascade.wire import HomeState, ShownDocument
from conference.rooms.events import DocumentShown
from conference.rooms.room import Room, RoomRefused


def state_of(room: Room, seen: dict[str, int]) -> HomeState:
    """``room``'s decisions (the home's copy)."""
    return HomeState(
        kind="state",
        floor=room.floor,
        spotlight=room.spotlight,
        locked=room.locked,
        recording=room.recording,
        removed=sorted(room.removed),
        host_muted=sorted(room.host_muted),
        hands=list(room.hands),
        seen=dict(seen),
        document=_shown(room.document),
        documents=room.documents_revision,
    )


def _shown(document: DocumentShown | None) -> ShownDocument | None:
    if document is None or document.id is None:
        return None
    return ShownDocument(id=document.id, name=document.name, kind=document.kind, page=document.page)


def apply_state(
    room: Room,
    state: HomeState,
    own_node: str,
    raised_in: Callable[[str], int | None],
    end_site: Callable[[str], None],
) -> None:
    """Make the carrier copy ``room`` follow the home's ``state``.

    ``raised_in(site)``: the seq of this node's first ``sites`` message that
    carried the site's raised hand (None: not raised here). ``end_site``:
    ends the connection of a site connected here (the home removed it).
    """
    present = room.participants
    # Mutes first: giving the floor lifts the floor holder's mute, as at the home.
    for site_id in set(state.host_muted) - room.host_muted:
        participant = present.get(site_id)
        if participant is not None and participant.remote is None:
            room.mute([site_id])
        else:
            room.host_muted.add(site_id)
    for site_id in room.host_muted - set(state.host_muted):
        room.lift_host_mute(site_id)
    for site_id in set(state.removed) - room.removed:
        participant = room.remove(site_id)
        if participant is not None and participant.remote is None:
            end_site(site_id)
    for site_id in room.removed - set(state.removed):
        room.readmit(site_id)
    room.set_locked(state.locked)
    room.set_recording(state.recording)
    if state.documents != room.documents_revision:
        room.documents_changed(state.documents)
    if _shown(room.document) != state.document:
        # Its sites (and those that join later: catch_up) open what the home's do.
        shown = state.document
        room.show_document(
            DocumentShown(id=None)
            if shown is None
            else DocumentShown(id=shown.id, name=shown.name, kind=shown.kind, page=shown.page)
        )
    floor = state.floor if state.floor in present else None
    if floor != room.floor:
        room.give_floor(floor)
    spotlight = state.spotlight if state.spotlight in present else None
    if spotlight != room.spotlight:
        try:
            room.set_spotlight(spotlight)
        except RoomRefused:
            pass
    # A hand up here that the home has seen raised and does not list any more
    # was lowered there (by its host, or with the floor given).
    seen = state.seen.get(own_node)
    hands = set(state.hands)
    for site_id in list(room.hands):
        participant = present.get(site_id)
        if participant is None or participant.remote is not None or site_id in hands:
            continue
        raised = raised_in(site_id)
        if raised is not None and seen is not None and seen >= raised:
            room.raise_hand(site_id, False)
