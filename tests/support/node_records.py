"""A cluster key and fresh node records, for the tests of the node registry and homes."""

from __future__ import annotations

import time

from conference.cluster.records import NodeLoad, NodeRecord

KEY = b"k" * 32  # a cluster key (the real one comes from conference.cluster.secret)


IDLE = NodeLoad(cpu_percent=1.0, sites=0, packets_per_s=0.0, rooms=0)


def record(node_id: str, advertise: str, load: NodeLoad = IDLE) -> NodeRecord:
    """A live node's record: started and heard from now, with ``load`` (idle by default)."""
    now = time.time()
    return NodeRecord(
        id=node_id,
        advertise=advertise,
        started_at=now,
        heartbeat_at=now,
        load=load,
    )
