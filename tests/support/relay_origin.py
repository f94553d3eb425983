"""An origin instance in its own process, for the two-process relay test.

Run as ``python -m tests.support.relay_origin KEY_HEX COUNT``: it opens a relay
endpoint on a free loopback port and prints ``port N``; it publishes one VP8
source, ``origin-site:video``, whose publisher counts keyframe requests.
When a peer's relay sink attaches, it pushes the first ``COUNT`` packets of
:func:`tests.support.relay.make_packet`'s stream (with a pause every ten, as a
camera paces them), prints ``sent N``, then waits for one keyframe request
beyond the one a new subscription asks for (printing ``keyframe requests
N``), ends the source, and exits once the peer acknowledged the end.
"""

from __future__ import annotations

import asyncio
import sys

from conference.relay.endpoint import RelayEndpoint
from conference.sfu import SfuMetrics, Source
from tests.support.relay import make_packet
from tests.support.waiting import wait_until


async def main(key: bytes, count: int) -> None:
    """Serve one source over a relay endpoint until a peer took it all."""
    metrics = SfuMetrics()
    requests = 0

    def requested() -> None:
        nonlocal requests
        requests += 1

    source = Source(
        source_id="origin-site:video",
        owner="origin-site",
        kind="video",
        metrics=metrics,
        keyframe_requester=requested,
    )
    source.codec = "VP8"
    endpoint = await RelayEndpoint.open(
        node_id="origin-node",
        cluster_key=key,
        lookup={source.id: source}.get,
        sfu_metrics=metrics,
    )
    print("port", endpoint.address[1], flush=True)
    await wait_until(lambda: bool(source.sinks), timeout=60, interval=0.01)
    for index in range(count):
        source.push(make_packet(index))
        if index % 10 == 9:
            await asyncio.sleep(0.002)
    print("sent", count, flush=True)
    await wait_until(lambda: requests >= 2, timeout=60, interval=0.05)
    print("keyframe requests", requests, flush=True)
    source.end()
    (link,) = endpoint.links.values()
    # Gone once the peer acknowledged the "ended" message.
    await wait_until(lambda: not link.control_pending, timeout=60, interval=0.05)
    endpoint.close()


if __name__ == "__main__":
    asyncio.run(main(bytes.fromhex(sys.argv[1]), int(sys.argv[2])))
