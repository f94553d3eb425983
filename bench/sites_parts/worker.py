"""A worker process holding many simulated sites, and the orchestrator's handle on it.

The orchestrator starts workers with multiprocessing's ``spawn``: the child
imports :func:`worker_main` from this module by name. Commands go over a
pipe; every answer is ``("ok", value)`` or ``("error", traceback)``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from worker_commands import WorkerHandle, detach_from_orchestrator, serve_commands

JOIN_TIMEOUT = 60.0
JOINS_AT_ONCE = 4  # per worker: ICE and DTLS handshakes in flight at a time


def worker_main(
    conn: Any,
    clip_file: str,
    layers_file: str | None,
    bench_dir: str,
    root: str,
    cprofile: str | None = None,
) -> None:
    """Entry point of a worker process: answer the orchestrator's commands."""
    for path in (bench_dir, root):
        if path not in sys.path:
            sys.path.insert(0, path)
    detach_from_orchestrator()
    from forwarding_parts.clip import read_clip

    # The project's glue first: its fast demux (ours wraps it) and its large SRTP buffers.
    import conference.media.fast_receive
    import conference.media.srtp_output  # noqa: F401
    from sites_parts.layers import read_layers
    from sites_parts.media import SiteClip
    from sites_parts.publishing import install_rid_extensions
    from sites_parts.site import install_lean_peers, install_site_demux

    install_lean_peers()
    install_site_demux()
    install_rid_extensions()
    layers = read_layers(Path(layers_file)) if layers_file else None
    clip = SiteClip.from_clip(read_clip(Path(clip_file)), layers)
    if cprofile is None:
        asyncio.run(serve_commands(_Sites(clip), conn))
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, serve_commands(_Sites(clip), conn))
    profiler.dump_stats(str(Path(cprofile) / f"worker-{os.getpid()}.prof"))


class _Sites:
    """The sites of one worker process and the commands on them."""

    def __init__(self, clip: Any) -> None:
        self.clip = clip
        self.sites: list[Any] = []
        self.session: Any = None
        self.poller: Any = None

    async def cmd_join(self, base_url: str, room: str, specs: list[Any], t0: float) -> list:
        import aiohttp

        from sites_parts.receive import Poller
        from sites_parts.site import SimSite

        if self.session is None:
            self.session = aiohttp.ClientSession()
        if self.poller is None:
            self.poller = Poller()
        gate = asyncio.Semaphore(JOINS_AT_ONCE)

        async def join(site: SimSite) -> None:
            async with gate:
                try:
                    await asyncio.wait_for(site.join(self.session), JOIN_TIMEOUT)
                except Exception as exc:
                    site.error = site.error or f"join: {type(exc).__name__}: {exc}"

        new = [
            SimSite(spec, self.clip, spec.url or base_url, room, t0, self.poller) for spec in specs
        ]
        self.sites += new
        await asyncio.gather(*(join(site) for site in new))
        return [
            {"name": s.spec.name, "id": s.participant_id, "error": s.error, "ms": s.connect_ms}
            for s in new
        ]

    async def cmd_status(self) -> dict[str, Any]:
        return {
            s.spec.name: {
                "video_frames": sum(x.frames for x in s.streams.values()),
                "main": s.slots.get("main"),
                "error": s.error,
            }
            for s in self.sites
        }

    async def cmd_mark(self) -> None:
        for site in self.sites:
            site.mark()

    async def cmd_report(self) -> list[dict[str, Any]]:
        return [site.report() for site in self.sites]

    async def cmd_speak(self, speaking: dict[str, bool]) -> float:
        for site in self.sites:
            if site.spec.name in speaking:
                site.set_speaking(speaking[site.spec.name])
        return time.time()

    async def cmd_main_arrivals(self, source: str) -> dict[str, Any]:
        """When each site learned ``source`` is in its main slot, and got its first frame."""
        result: dict[str, Any] = {}
        for site in self.sites:
            told, frame = site.main_arrival(source)
            result[site.spec.name] = {"id": site.participant_id, "told": told, "frame": frame}
        return result

    async def cmd_stop(self) -> None:
        await asyncio.gather(*(site.leave() for site in self.sites), return_exceptions=True)
        if self.poller is not None:
            self.poller.close()
        if self.session is not None:
            await self.session.close()


class SiteWorker(WorkerHandle):
    """The orchestrator's handle on one worker process."""

    def __init__(
        self,
        name: str,
        clip_file: Path,
        layers_file: Path | None,
        context: Any,
        cprofile: Path | None = None,
    ) -> None:
        from forwarding_parts.paths import BENCH, ROOT

        super().__init__(
            name,
            context,
            worker_main,
            str(clip_file),
            layers_file and str(layers_file),
            str(BENCH),
            str(ROOT),
            cprofile and str(cprofile),
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        super().wait_ready(timeout)
