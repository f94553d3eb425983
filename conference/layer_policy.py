"""Which layer each video slot of one subscriber gets: a pure function of what we measured.

Twice a second a subscription (:class:`conference.slot.Subscription`) hands
this module its downlink estimate (the subscriber's REMB), what it sent, the
loss its receiver reports show, and each video slot's current layer and the
cost of each layer of its source. Out comes a rid per slot, or None: no layer
fits, so the slot is paused for the link (the tile shows "đường truyền yếu").

The rules, in order:

* **A REMB is a limit only when it is below what we send** (or with loss):
  above it, it only reflects what the subscriber received, so it is taken
  as at least :data:`START_BPS`. Otherwise a subscriber would stay at the
  few layers it got first: its REMB grows only with what it receives.
* **Audio first.** Each audio slot with a source is reserved
  :data:`AUDIO_RESERVE_BPS` before any video is counted.
* **Main first, then thumbnails in order**: each takes the highest layer not
  above its ceiling (its ``max_layer`` and, unless it may step up, its
  current layer) that fits in what is left.
* **Down at once**: the current layers are kept while the estimate is at
  least :data:`DOWN_FACTOR` of what we send; below that, or with more than
  :data:`LOSS_DOWN` loss, whatever no longer fits steps down or pauses now.
* **One-stream sources are not paused.** A source without layers (a WHIP
  publisher, a browser that answered without simulcast) is forwarded
  whatever the link: pausing it would take the only picture there is, and
  clients that send no REMB (the site simulator) would lose it at the start
  budget. It still counts against the budget of the slots after it.
* **Up slowly, one slot at a time**: after :data:`UP_AFTER` seconds of
  headroom (the estimate covers what we send, loss under :data:`LOSS_OK`),
  one slot may go one layer up if the new total fits in
  :data:`UP_OPTIMISM` times the estimate. A receiver's REMB cannot show much
  more than it gets, so the step is optimistic: for :data:`TRIAL_SECONDS`
  the new layer is kept while the estimate catches up; if it did not (the
  estimate is then below what we send), the layers step down again and the
  next try waits :data:`BACKOFF_SECONDS`.

Layers are rid names ("q" < "h" < "f"); costs are bits per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conference.sfu import rid_rank

START_BPS = 1_500_000  # the downlink assumed until the subscriber's first REMB
AUDIO_RESERVE_BPS = 50_000  # per audio slot with a source
NOMINAL_BPS = {"q": 150_000, "h": 500_000, "f": 1_500_000}  # a layer not measured yet
DOWN_FACTOR = 0.85
LOSS_DOWN = 0.10
LOSS_OK = 0.02
UP_AFTER = 3.0
UP_OPTIMISM = 1.2
TRIAL_SECONDS = 2.0
BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class SlotView:
    """One video slot as the policy sees it."""

    name: str
    max_layer: str  # "q" for a thumbnail, "f" for the main tile
    current: str | None  # the layer chosen last; None: paused for the link
    costs: dict[str, float]  # rid -> bits/s of each layer of its source; {}: no source
    pausable: bool = True  # False: a one-stream source, forwarded whatever the link


@dataclass(frozen=True)
class LinkView:
    """What the subscriber's RTCP says about its downlink."""

    downlink_bps: float | None  # its REMB; None before the first one
    sent_bps: float  # what we sent it over the last interval, audio included
    loss: float  # the worst fraction lost its receiver reports show for video
    audio_slots: int  # audio slots with a source


@dataclass
class PolicyState:
    """What the policy remembers between two calls."""

    headroom_since: float | None = None
    trial_until: float = 0.0
    trial_bps: float = 0.0  # the video total the trial may use
    backoff_until: float = 0.0
    history: list[str] = field(default_factory=list)  # what it did, newest last (bounded)

    def note(self, event: str) -> None:
        self.history.append(event)
        del self.history[:-20]


def _options(view: SlotView) -> list[str]:
    """The slot's layers not above its ceiling, high to low."""
    top = rid_rank(view.max_layer)
    fitting = [rid for rid in view.costs if rid_rank(rid) <= top]
    if not fitting and view.costs:
        fitting = [min(view.costs, key=rid_rank)]  # a source without small layers: its lowest
    return sorted(fitting, key=rid_rank, reverse=True)


def choose_layers(
    slots: list[SlotView], link: LinkView, state: PolicyState, now: float
) -> dict[str, str | None]:
    """A layer (or None: paused) for each slot with a source, in ``slots``' order of priority."""
    downlink = link.downlink_bps if link.downlink_bps is not None else float(START_BPS)
    if downlink >= link.sent_bps and link.loss <= LOSS_DOWN:
        # A REMB at or above what we send only shows what it got (about 1.5x at most):
        # it is no sign of a thin link, so it never cuts below the start budget.
        downlink = max(downlink, float(START_BPS))
    audio = AUDIO_RESERVE_BPS * link.audio_slots
    video_sent = max(link.sent_bps - audio, 0.0)
    estimate = downlink - audio

    # Keep what we send while the estimate is not clearly below it.
    hold = downlink / DOWN_FACTOR - audio
    trial = now < state.trial_until
    if trial and link.loss <= LOSS_DOWN:
        hold = max(hold, state.trial_bps)
    elif state.trial_until and not trial:
        state.trial_until = 0.0
        if downlink < DOWN_FACTOR * link.sent_bps:
            state.backoff_until = now + BACKOFF_SECONDS
            state.note("trial failed")
    if link.loss > LOSS_DOWN:
        hold = min(hold, DOWN_FACTOR * video_sent)  # losing packets: send less, now

    chosen: dict[str, str | None] = {}
    remaining = hold
    for view in slots:
        if not view.costs:
            continue
        ceiling = rid_rank(view.current) if view.current is not None else -1
        pick = None
        for rid in _options(view):
            if rid_rank(rid) <= ceiling and view.costs[rid] <= remaining:
                pick = rid
                break
        if pick is None and not view.pausable:
            pick = _options(view)[-1]
        chosen[view.name] = pick
        if pick is not None:
            remaining -= view.costs[pick]

    headroom = link.loss < LOSS_OK and downlink >= link.sent_bps and not trial
    if not headroom:
        state.headroom_since = None
        return chosen
    if state.headroom_since is None:
        state.headroom_since = now
    if now - state.headroom_since < UP_AFTER or now < state.backoff_until:
        return chosen

    # One slot one layer up (a paused one resumes at its lowest): the first, in
    # priority order, whose step fits optimistically.
    total = 0.0
    for view in slots:
        pick = chosen.get(view.name)
        if pick is not None:
            total += view.costs[pick]
    for view in slots:
        if view.name not in chosen:
            continue
        pick = chosen[view.name]
        floor = rid_rank(pick) if pick is not None else -2
        higher = sorted((r for r in _options(view) if rid_rank(r) > floor), key=rid_rank)
        if not higher:
            continue
        step = higher[0]
        new_total = total - (view.costs[pick] if pick is not None else 0.0) + view.costs[step]
        if new_total <= UP_OPTIMISM * estimate:
            chosen[view.name] = step
            state.trial_until = now + TRIAL_SECONDS
            state.trial_bps = new_total
            state.headroom_since = None
            state.note(f"{view.name} up to {step}")
            break
    return chosen
