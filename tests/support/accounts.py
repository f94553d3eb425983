"""Accounts on a test server and clients logged in as them (the API and ANPR tests share these)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.api_client import ApiClient
from tests.support.server import ServerProcess, start_server

PASSWORD = "mat-khau-kiem-thu"
Login = Callable[[str], Awaitable[ApiClient]]


def start_with_accounts(
    data_dir: Path,
    accounts: dict[str, tuple[str, str | None]],
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """A server with ``accounts`` (username: (role, unit code)), all with ``PASSWORD``."""
    server = start_server(data_dir, env=env)
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
