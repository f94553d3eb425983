"""What ``conference nodes`` prints: the live nodes, as text or JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator

from conference.cluster.records import NodeRecord
from conference.cluster.registry import NodeListing, NodeRegistry, open_redis


async def list_nodes(redis_url: str, prefix: str, key: bytes) -> NodeListing:
    """The registry's nodes: those whose records verify under ``key``, and the rejected ids."""
    redis = open_redis(redis_url)
    try:
        return await NodeRegistry(redis, prefix, key).listing()
    finally:
        await redis.aclose(close_connection_pool=True)


def node_fields(record: NodeRecord, now: float) -> dict[str, object]:
    """One node as the JSON fields ``conference nodes --json`` prints."""
    fields: dict[str, object] = {
        "id": record.id,
        "advertise": record.advertise,
        "heartbeat_age_s": round(max(now - record.heartbeat_at, 0.0), 1),
        "started_at": record.started_at,
        "cpu_percent": record.load.cpu_percent,
        "sites": record.load.sites,
        "packets_per_s": record.load.packets_per_s,
        "rooms": record.load.rooms,
    }
    if record.machine:  # a worker of `serve --workers N`: the machine it is one of
        fields["machine"] = record.machine
    return fields


def node_lines_json(listing: NodeListing, now: float) -> Iterator[str]:
    """Live nodes, then one ``{"id", "rejected": true}`` line per rejected record."""
    for record in listing.nodes:
        yield json.dumps(node_fields(record, now), ensure_ascii=False)
    for node_id in listing.rejected:
        yield json.dumps({"id": node_id, "rejected": True}, ensure_ascii=False)


def node_line(record: NodeRecord, now: float) -> str:
    """One live node as a tab-separated line."""
    fields = node_fields(record, now)
    machine = f"\tworker of {record.machine}" if record.machine else ""
    return (
        f"{fields['id']}\t{fields['advertise']}\t{fields['heartbeat_age_s']} s\t"
        f"cpu {fields['cpu_percent']} %\t{fields['sites']} sites\t"
        f"{fields['packets_per_s']} packets/s\t{fields['rooms']} rooms{machine}"
    )
