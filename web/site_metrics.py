"""The per-site link series of ``/metrics``: downlink, loss, round trip, layers, paused slots.

Every series is labelled ``room`` and ``site``: the site id the room knows
it by (the join token's subject: the unit code for an invited site, e.g.
``05536``), never its display name, which is free text a host typed. Both
are escaped all the same (:func:`web.prometheus_text.label_value`): a token
subject is up to 64 characters of anything the issuer chose.

The series exist while the site is in an open room: they are built from the
live connections at each scrape, so a site that leaves is gone from the next
one and nothing accumulates. The layer a site receives is
``conference_site_layer_received{layer="q"|"h"|"f"}``, how many of its video
slots forward that layer now (always the three, 0 included, so
``conference_site_layer_received{layer="f"} == 0`` is a query that works); a
slot forwarding nothing counts in none of them
(``conference_site_video_slots`` minus their sum).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conference.quality import SiteLink
from conference.sfu import RIDS
from web.prometheus_text import label_value

# name, help, value (None: not known yet, no sample), sites with video slots only
_SERIES: tuple[tuple[str, str, Callable[[SiteLink], float | None], bool], ...] = (
    (
        "conference_site_downlink_kbps",
        "A site's downlink estimate (REMB), kbit/s.",
        lambda s: s.downlink_kbps,
        False,
    ),
    (
        "conference_site_loss_ratio",
        "A site's packet loss (0..1), the worse of up- and downlink, as in the roll call.",
        lambda s: s.loss,
        False,
    ),
    (
        "conference_site_rtt_seconds",
        "A site's round trip, as in the roll call.",
        lambda s: round(s.rtt_ms / 1000, 4) if s.rtt_ms is not None else None,
        False,
    ),
    (
        "conference_site_video_slots",
        "Video slots a site receives.",
        lambda s: s.video_slots,
        True,
    ),
    (
        "conference_site_link_paused_slots",
        "A site's video slots paused because its downlink cannot carry them.",
        lambda s: s.link_paused,
        True,
    ),
)


def site_links_text(sites: Sequence[SiteLink]) -> str:
    """The per-site series as one block of text (no final line feed).

    Pure: it reads only the frozen rows, so ``/metrics`` runs it in a worker
    thread (about 10 ms for 2,000 sites here, most of a scrape at that size).
    """
    out: list[str] = []
    render_site_links(out, sites)
    return "\n".join(out)


def render_site_links(out: list[str], sites: Sequence[SiteLink]) -> None:
    """Append the per-site series for ``sites`` to ``out`` (lines of the text format)."""
    labels = [f'room="{label_value(s.room)}",site="{label_value(s.site)}"' for s in sites]
    receiving = [s.video_slots > 0 for s in sites]
    for name, help_text, value, video_only in _SERIES:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        for site, label, has_video in zip(sites, labels, receiving, strict=True):
            if video_only and not has_video:
                continue
            number = value(site)
            if number is not None:
                out.append(f"{name}{{{label}}} {number}")
    name = "conference_site_layer_received"
    out.append(f"# HELP {name} A site's video slots forwarding each layer (rid) now.")
    out.append(f"# TYPE {name} gauge")
    for site, label, has_video in zip(sites, labels, receiving, strict=True):
        if has_video:
            for rid in RIDS:
                out.append(f'{name}{{{label},layer="{rid}"}} {site.layers.get(rid, 0)}')
