"""What the checkpoint-camera tests share: accounts on a server, logins, registering a feed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.api_client import ApiClient
from tests.conftest import ServerProcess, start_server

PASSWORD = "mat-khau-kiem-thu"
CHECKPOINT = "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên"

Login = Callable[[str], Awaitable[ApiClient]]


def start_with_accounts(
    data_dir: Path, accounts: dict[str, tuple[str, str | None]]
) -> ServerProcess:
    """A server with ``accounts`` (username: (role, unit code)), all with ``PASSWORD``."""
    server = start_server(data_dir)
    for username, (role, unit) in accounts.items():
        server.add_user(username, role, unit, password=PASSWORD)
    return server


@asynccontextmanager
async def logins(server: ServerProcess) -> AsyncIterator[Login]:
    """``login(username)``: a client logged in as that user; all are closed on exit."""
    clients: list[ApiClient] = []

    async def login(username: str) -> ApiClient:
        client = ApiClient(server.base_url)
        reply = await client.login(username, PASSWORD)
        assert reply.status == 200, reply.body
        clients.append(client)
        return client

    try:
        yield login
    finally:
        for client in clients:
            await client.close()


def feed_body(
    url: str, name: str = "Làn vào 1", checkpoint: str = CHECKPOINT, **extra: object
) -> dict[str, object]:
    """A ``POST /api/feeds`` body at the Km 52 checkpoint."""
    return {"name": name, "checkpoint": checkpoint, "location": "Km 52", "url": url, **extra}


async def register_feed(client: ApiClient, url: str, **extra: object) -> dict:
    """Register a feed (``feed_body`` with ``extra``); the new feed."""
    created = await client.call("POST", "/api/feeds", feed_body(url, **extra))
    assert created.status == 201, created.body
    return dict(created.body)
