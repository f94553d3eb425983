"""Media relayed between SFU instances (workers of one machine, nodes of several).

One :class:`.endpoint.RelayEndpoint` per instance owns a UDP socket; over it, one
:class:`.link.RelayLink` per peer instance carries the encoded RTP packets of
many sources and a little control, encrypted and authenticated under keys
derived from the cluster key (:mod:`.handshake`, :mod:`.cipher`). On the
origin, a :class:`.sink.RelaySink` is a sink of a local source (or of one layer
of a simulcast camera) that sends each packet once over the link, however many
subscribers are behind it; on the other side a :class:`.remote_source.RemoteSource`
is a :class:`conference.sfu.Source` that local slots take exactly as a local
one. Nothing here decodes media, and nothing knows of rooms: which sources a
link carries is the cascade's decision (subscribe and unsubscribe).
"""
