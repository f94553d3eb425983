"""Which layer each video slot of one subscriber gets: a pure function of what we measured.

Twice a second a subscription (:class:`conference.slot.Subscription`) hands
this module its downlink estimate (the subscriber's REMB), what it sent, the
loss its receiver reports show, and each video slot's current layer and the
cost of each layer of its source. Out comes a rid per slot, or None: no layer
fits, so the slot is paused for the link (the tile shows "đường truyền yếu").

The rules, in order:

* **A REMB is a limit only when it is below the video we send** (or with
  loss): above it, it only reflects what the subscriber received, so it is
  taken as at least :data:`START_BPS`. Otherwise a subscriber would stay at
  the few layers it got first: its REMB grows only with what it receives.
  While no video flows it is held against all we send, audio included: with
  every video slot paused a REMB stuck at Chromium's floor is still "above"
  the video we send (none), and behind 64 kbit/s a paused tile was resumed
  and lost again every few seconds, the probe's back-off undone; the probe
  (below) decides then.
* **A REMB is a video budget; the start budget is a whole link.** Chromium
  computes its REMB from the video it receives only: its receive-side
  estimator ignores audio packets (libwebrtc's
  ``ReceiveSideCongestionController``: "for audio, we only support send side
  BWE", and aiortc has no transport-cc). On overuse it falls to 0.85 times
  the video received, and it grows to at most about 1.5 times that plus 10
  kbit/s: on a shared link it settles near what the audio leaves. So a REMB
  is compared with the video we send (what we send less the audio bits we
  measured, ``LinkView.audio_bps``) and budgets the video as it is. Only
  :data:`START_BPS`, the guess at a whole link used before the first REMB
  (or while the REMB is no limit), reserves :data:`AUDIO_RESERVE_BPS` per
  audio slot with a source first. Reserving it from a REMB too counted the
  audio twice: at 124 kbit/s two audio slots left 24 kbit/s, and since
  that REMB cannot exceed the video plus audio we send while the video is
  at ``q`` (1.5 x 60 + 10 < 60 + 100), the layers never came back up.
* **Main first, then thumbnails in order**: each takes the highest layer not
  above its ceiling (its ``max_layer`` and, unless it may step up, its
  current layer) that fits in what is left.
* **Down at once**: the current layers are kept while the estimate is at
  least :data:`DOWN_FACTOR` of what we send; below that, or with more than
  :data:`LOSS_DOWN` loss, whatever no longer fits steps down or pauses now
  (with loss, the budget is cut below both what we send and what the chosen
  layers cost: retransmissions swell the first).
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

* **Then the frame rate, then the pause.** A slot whose lowest layer at
  full rate does not fit takes that layer at a reduced frame rate before it
  is paused: half (:data:`HALF`: temporal layers 0-1 of an L1T3 camera) and
  then the base rate (:data:`BASE`: temporal layer 0). Only a source whose
  VP8 packets carry temporal layer ids can be reduced (``SlotView.temporal``,
  the highest TID seen; 0: none); another goes from its lowest layer
  straight to the pause. Each step is an option like a layer: down at once,
  up one step at a time with the same trial and back-off; a paused slot
  resumes at its lowest layer at full rate, as before.
* **A pause needs evidence of a full link.** Once the subscriber has sent a
  REMB, a slot whose lowest option stops fitting is kept at that option
  until its receiver reports more than :data:`LOSS_DOWN` loss or its
  estimate falls below :data:`STARVED_BPS`; a thumbnail is then paused at
  once with that loss, the main tile once the shortage has lasted
  :data:`PAUSE_AFTER` seconds, and either once a starved estimate has. A
  shortage the estimate alone shows pauses nothing, however long: a
  delay-based estimate also falls when the subscriber's or the server's
  CPU is saturated, a queue it reads in the delays that is not on the
  link. Seen over loopback, no loss: both tiles of a loaded host paused
  for 15 s; then thumbnails alone, greyed for good at estimates of
  84-124 kbit/s (with two pages of three on a loaded machine, and once on
  a quiet one), while a thumbnail kept at its lowest option costs some
  40-60 kbit/s (``q`` at the base rate). A link that cannot carry the
  lowest options loses packets, and the thumbnails, last first, go at the
  first report that shows it (each costs a keyframe to resume; a dip costs
  nothing). Loss counts if a receiver report showed it within the last
  :data:`PAUSE_AFTER` seconds (one report says 80 %, the next 0 %: Chromium
  reports each interval). A paused slot still resumes only when the
  estimate shows room for it.
* **A subscriber that gets no video probes.** Chromium's REMB is computed
  from the video it receives (audio carries no abs-send-time), so with
  every video slot paused it stays where it fell (5 kbit/s, its floor) and
  would never show that the link came back. Then, :data:`PROBE_AFTER`
  seconds after the pause, the first paused slot resumes at its lowest
  option (its smallest layer at the base rate: a probe costs ~50 kbit/s);
  if the link still cannot carry it, it loses packets and is paused again,
  and the next probe waits twice as long (up to :data:`PROBE_MAX`).

Layers are rid names ("q" < "h" < "f"); costs are bits per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conference.sfu import rid_rank

START_BPS = 1_500_000  # the downlink assumed until the subscriber's first REMB
AUDIO_RESERVE_BPS = 50_000  # per audio slot with a source, from the start budget (not a REMB)
NOMINAL_BPS = {"q": 150_000, "h": 500_000, "f": 1_500_000}  # a layer not measured yet
DOWN_FACTOR = 0.85
LOSS_DOWN = 0.10
LOSS_OK = 0.02
UP_AFTER = 3.0
UP_OPTIMISM = 1.2
TRIAL_SECONDS = 2.0
BACKOFF_SECONDS = 10.0
PAUSE_AFTER = 4.0  # seconds a measured shortage lasts before a slot is paused
PROBE_AFTER = 8.0  # seconds from a pause that left no video to the first probe
PROBE_MAX = 64.0  # the longest wait between two probes
PROBE_GRACE = 30.0  # seconds a probe's REMB has to grow from Chromium's floor
# A video estimate under this fits no video option (the smallest, q at the base rate,
# costs 40-60 kbit/s): a link that carries none sinks to Chromium's 5-10 kbit/s floor.
STARVED_BPS = 30_000

# Frame rates a slot may forward its layer at: the highest temporal level kept.
FULL = 2  # every frame
HALF = 1  # TID <= 1 of an L1T3 source (half its frames)
BASE = 0  # TID 0 only (a quarter of an L1T3 source's frames, half of an L1T2's)
# The share of a layer's bits each reduced rate keeps, by the source's highest
# TID: libwebrtc splits a layer's rate 40/20/40 % over three temporal layers and
# 60/40 % over two (SimulcastRateAllocator).
RATE_SHARE = {2: {HALF: 0.6, BASE: 0.4}, 1: {BASE: 0.6}}
RATE_NAMES = {FULL: "full", HALF: "half", BASE: "base"}

Option = tuple[str, int]  # (rid, frame rate)


@dataclass(frozen=True)
class SlotView:
    """One video slot as the policy sees it."""

    name: str
    max_layer: str  # "q" for a thumbnail, "f" for the main tile
    current: str | None  # the layer chosen last; None: paused for the link
    costs: dict[str, float]  # rid -> bits/s of each layer of its source; {}: no source
    pausable: bool = True  # False: a one-stream source, forwarded whatever the link
    current_rate: int = FULL  # the frame rate chosen last with ``current``
    temporal: int = 0  # the highest temporal layer id its source sends; 0: cannot be reduced
    main: bool = False  # the main tile: paused for the link only with loss (module docstring)


@dataclass(frozen=True)
class Choice:
    """What one slot gets: a layer at a frame rate, or None (paused for the link)."""

    rid: str | None
    rate: int = FULL


@dataclass(frozen=True)
class LinkView:
    """What the subscriber's RTCP says about its downlink."""

    downlink_bps: float | None  # its REMB; None before the first one
    sent_bps: float  # what we sent it over the last interval, audio included
    loss: float  # the worst fraction lost its receiver reports show for video
    audio_slots: int  # audio slots with a source
    audio_bps: float | None = None  # the audio part of sent_bps; None: AUDIO_RESERVE_BPS a slot


@dataclass
class PolicyState:
    """What the policy remembers between two calls."""

    headroom_since: float | None = None
    trial_until: float = 0.0
    trial_bps: float = 0.0  # the video total the trial may use
    backoff_until: float = 0.0
    history: list[str] = field(default_factory=list)  # what it did, newest last (bounded)
    short_since: dict[str, float] = field(default_factory=dict)  # slot -> its shortage began
    lossy_at: float | None = None  # when a receiver report last showed heavy loss
    probe_at: float | None = None  # when the next probe may resume a paused slot
    probe_wait: float = PROBE_AFTER
    probe_grace_until: float = 0.0  # a probe's estimate starts at the floor: loss alone pauses it

    def note(self, event: str) -> None:
        self.history.append(event)
        del self.history[:-20]


def _layers(view: SlotView) -> list[str]:
    """The slot's layers not above its ceiling, high to low."""
    top = rid_rank(view.max_layer)
    fitting = [rid for rid in view.costs if rid_rank(rid) <= top]
    if not fitting and view.costs:
        fitting = [min(view.costs, key=rid_rank)]  # a source without small layers: its lowest
    return sorted(fitting, key=rid_rank, reverse=True)


def _options(view: SlotView) -> list[Option]:
    """The slot's (layer, frame rate) options, high to low: its layers at full rate,
    then its lowest layer at each reduced rate its source allows (a simulcast source)."""
    layers = _layers(view)
    options = [(rid, FULL) for rid in layers]
    # A one-stream source is forwarded as it comes (it is not paused either).
    if layers and view.pausable:
        shares = RATE_SHARE.get(min(view.temporal, 2), {})
        options += [(layers[-1], rate) for rate in sorted(shares, reverse=True)]
    return options


def _rank(option: Option) -> tuple[int, int]:
    return rid_rank(option[0]), option[1]


def _cost(view: SlotView, option: Option) -> float:
    rid, rate = option
    if rate == FULL:
        return view.costs[rid]
    return view.costs[rid] * RATE_SHARE[min(view.temporal, 2)][rate]


def choose_layers(
    slots: list[SlotView], link: LinkView, state: PolicyState, now: float
) -> dict[str, str | None]:
    """A layer (or None: paused) for each slot with a source, in ``slots``' order of priority."""
    return {name: choice.rid for name, choice in choose(slots, link, state, now).items()}


def choose(
    slots: list[SlotView], link: LinkView, state: PolicyState, now: float
) -> dict[str, Choice]:
    """A layer and frame rate (or a pause) for each slot with a source, in priority order."""
    reserve = float(AUDIO_RESERVE_BPS * link.audio_slots)
    audio_sent = link.audio_bps if link.audio_bps is not None else reserve
    # A REMB measures video only (module docstring): it is compared with the video we send.
    video_sent = max(link.sent_bps - audio_sent, 0.0)
    # With every video slot paused the REMB stays where it fell (Chromium's floor, after
    # a full link) and "covers" the video we send, none: it is then held against all we
    # send, as before, and the probe tells when the link is back.
    flowing = any(view.current is not None for view in slots if view.costs)
    basis = video_sent if flowing else link.sent_bps
    downlink = link.downlink_bps if link.downlink_bps is not None else float(START_BPS)
    if downlink >= basis and link.loss <= LOSS_DOWN:
        # A REMB at or above what we send only shows what it got (about 1.5x at most):
        # it is no sign of a thin link, so it never cuts below the start budget.
        downlink = max(downlink, float(START_BPS))
    # The start budget guesses a whole link, audio first; a REMB that limits is video's own.
    if link.downlink_bps is not None and downlink < START_BPS:
        reserve = 0.0
    estimate = downlink - reserve

    # Keep what we send while the estimate is not clearly below it.
    hold = downlink / DOWN_FACTOR - reserve
    trial = now < state.trial_until
    if trial and link.loss <= LOSS_DOWN:
        hold = max(hold, state.trial_bps)
    elif state.trial_until and not trial:
        state.trial_until = 0.0
        if downlink < DOWN_FACTOR * basis:
            state.backoff_until = now + BACKOFF_SECONDS
            state.note("trial failed")
    if link.loss > LOSS_DOWN:
        # Losing packets: send less, now. Less than the layers chosen cost, too:
        # under heavy loss the retransmissions swell what we send, and a cut
        # measured against that alone could keep every layer as it is.
        chosen_bps = sum(
            _cost(view, (view.current, view.current_rate))
            for view in slots
            if view.current is not None and view.current in view.costs
        )
        hold = min(hold, DOWN_FACTOR * min(video_sent, chosen_bps))
        state.lossy_at = now

    chosen: dict[str, Option | None] = {}
    remaining = hold
    for view in slots:
        if not view.costs:
            state.short_since.pop(view.name, None)
            continue
        ceiling = (
            (rid_rank(view.current), view.current_rate) if view.current is not None else (-1, -1)
        )
        pick: Option | None = None
        for option in _options(view):
            if _rank(option) <= ceiling and _cost(view, option) <= remaining:
                pick = option
                break
        if pick is None and not view.pausable:
            pick = (_layers(view)[-1], FULL)  # forwarded whatever the link, as it comes
        elif pick is None and view.current is not None:
            if _hold_before_pause(view, link, state, now):
                pick = _options(view)[-1]  # its lowest option, until the shortage lasts
            else:
                state.short_since.pop(view.name, None)
                state.note(f"{view.name} paused")
                if state.probe_at is None or state.probe_at < now:
                    state.probe_at = now + state.probe_wait
        else:
            state.short_since.pop(view.name, None)
        chosen[view.name] = pick
        if pick is not None:
            remaining -= _cost(view, pick)

    if link.downlink_bps is not None and not trial and _probe(slots, chosen, link, state, now):
        return _choices(chosen)
    headroom = link.loss < LOSS_OK and downlink >= basis and not trial
    if not headroom:
        state.headroom_since = None
        return _choices(chosen)
    if link.downlink_bps is not None and link.downlink_bps >= link.sent_bps:
        # The estimate is live and covers all we send: a probe's REMB (video alone,
        # from its floor) does not yet, and the next probe still waits twice as long.
        state.probe_wait = PROBE_AFTER
    if state.headroom_since is None:
        state.headroom_since = now
    if now - state.headroom_since < UP_AFTER or now < state.backoff_until:
        return _choices(chosen)

    # One slot one step up (a layer, or from a reduced frame rate to the next; a
    # paused one resumes at its lowest): the first, in priority order, whose step
    # fits optimistically.
    total = 0.0
    by_name = {view.name: view for view in slots}
    for name, pick in chosen.items():
        if pick is not None:
            total += _cost(by_name[name], pick)
    for view in slots:
        if view.name not in chosen:
            continue
        pick = chosen[view.name]
        if pick is None:
            # A paused slot resumes at its lowest layer at full rate, as it did before
            # frame rates were steps: no easier than that, so that a slot the start
            # budget leaves out (and its camera, then unwanted) stays out.
            higher = [(_layers(view)[-1], FULL)]
        else:
            higher = sorted((o for o in _options(view) if _rank(o) > _rank(pick)), key=_rank)
        if not higher:
            continue
        step = higher[0]
        new_total = total - (_cost(view, pick) if pick is not None else 0.0) + _cost(view, step)
        if new_total <= UP_OPTIMISM * estimate:
            chosen[view.name] = step
            state.trial_until = now + TRIAL_SECONDS
            state.trial_bps = new_total
            state.headroom_since = None
            rate = "" if step[1] == FULL else f" at {RATE_NAMES[step[1]]} rate"
            state.note(f"{view.name} up to {step[0]}{rate}")
            break
    return _choices(chosen)


def _probe(
    slots: list[SlotView],
    chosen: dict[str, Option | None],
    link: LinkView,
    state: PolicyState,
    now: float,
) -> bool:
    """Resume the first paused slot at its lowest option if no video goes out (module
    docstring: the REMB cannot grow then) and the probe is due; True if it did."""
    if any(pick is not None for pick in chosen.values()):
        return False  # video flows: the estimate is live
    if state.probe_at is None or now < state.probe_at or link.loss > LOSS_OK:
        return False
    for view in slots:
        if view.name in chosen and view.current is None and view.pausable:
            option = _options(view)[-1]
            chosen[view.name] = option
            state.probe_wait = min(state.probe_wait * 2, PROBE_MAX)
            state.probe_at = now + state.probe_wait
            state.probe_grace_until = now + PROBE_GRACE
            state.short_since.pop(view.name, None)
            rate = "" if option[1] == FULL else f" at {RATE_NAMES[option[1]]} rate"
            state.note(f"{view.name} probes at {option[0]}{rate}")
            return True
    return False


def _hold_before_pause(view: SlotView, link: LinkView, state: PolicyState, now: float) -> bool:
    """Whether a playing slot whose lowest option no longer fits keeps that option for now.

    Before the first REMB the start budget decides at once (a camera it leaves
    out is not asked to send). After it, only evidence of a full link pauses
    (module docstring): heavy loss (a thumbnail at once, the main tile once the
    shortage lasted :data:`PAUSE_AFTER` seconds) or a starved estimate (once it
    lasted that long).
    """
    if link.downlink_bps is None:
        return False
    lossy = state.lossy_at is not None and now - state.lossy_at <= PAUSE_AFTER
    since = state.short_since.setdefault(view.name, now)
    # A CPU-starved receiver's dips stay far above STARVED_BPS (84-124 kbit/s seen
    # over loopback; 54 at the base rate behind 150 kbit/s); a link that cannot carry
    # any video sinks to Chromium's floor (5-10 kbit/s) even while retransmissions
    # hide its loss from the receiver reports. Not for a probe's first PROBE_GRACE
    # seconds: its REMB starts at that floor.
    starved = link.downlink_bps < STARVED_BPS and now >= state.probe_grace_until
    if not (lossy or starved):
        return True  # the estimate alone: a dip costs nothing, a pause a greyed tile
    if lossy and not view.main:
        return False  # thumbnails go first
    return now - since < PAUSE_AFTER


def _choices(chosen: dict[str, Option | None]) -> dict[str, Choice]:
    return {
        name: Choice(pick[0], pick[1]) if pick is not None else Choice(None)
        for name, pick in chosen.items()
    }
