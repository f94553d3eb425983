"""The web layer: aiohttp server, signaling, WHIP/WHEP, pages, metrics."""
