"""One meeting over several instances: carrier copies, proxies of remote sites, relayed media.

A meeting has a home (the node holding its lease, :mod:`conference.cluster`)
whose room copy decides (floor, spotlight, lock, host mutes, removals,
recording) and saves the one roll call. Another instance that serves sites of
the meeting (``cascade = spread``: a site is served at the node its socket
reached) holds a *carrier* copy of the room. Each instance announces its own
sites on the meeting's bus channel (:mod:`.envelope`, :mod:`.wire`); every
other copy holds each of them as a :class:`~conference.rooms.participant.Participant`
without slots whose sources are :class:`~conference.relay.remote_source.RemoteSource`
objects of the relay link to that instance (:mod:`.proxies`). Each copy plans
only its own subscribers' slots, so a stream crosses a link when a subscriber
behind it takes it, and once whatever the number of such subscribers. The
home's decisions reach the carriers as a state message they apply to their
copy (:mod:`.home_state`). :mod:`.cascade` runs it all.
"""
