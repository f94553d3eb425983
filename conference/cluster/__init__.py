"""Several processes and machines as one service: nodes, their registry and a meeting's home.

A node with Redis registers a signed record (:mod:`.records`, :mod:`.registry`)
with a heartbeat and its load; a meeting lives on one node, its home, held by a
lease (:mod:`.leases`); a site that reaches another node is sent to the home
(:mod:`.placement`). :class:`.node.ClusterNode` runs it all as a conference
extension. Without Redis none of this exists and one process is the service.
"""
