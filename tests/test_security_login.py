"""Logins cannot freeze meetings, be raced past their limits, or bounce a user elsewhere.

Issue 8, items 4 and 10: scrypt ran on the event loop (forty logins stopped
other rooms' media for seconds); the lockout counted failures after checking
them (thirty concurrent tries all got checked), lived in one process, and
let anyone lock anyone out for five minutes; and ``next=/\\t/evil.example``
redirected to ``//evil.example`` after login.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from conference.login_throttle import LoginThrottle, TooManyAttempts, client_network
from conference.passwords import PasswordHasher, PasswordsBusy
from conference.store import SqliteStore
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ServerProcess, start_server
from web.pages import safe_next

PASSWORD = "mat-khau-kiem-thu"
WRONG = "sai-mat-khau-roi"
# Waits long enough that a refused attempt stays refused for the whole test,
# whatever the machine's load: nothing here depends on how fast it runs.
SLOW = {"CONFERENCE_LOGIN_DELAY": "600", "CONFERENCE_LOGIN_MAX_DELAY": "3600"}


# The attempt counters themselves (both engines): tests/store_contracts/test_attempts.py.


# -- the throttle's rules, on the store ------------------------------------------------------


async def test_an_attacked_account_gives_each_address_one_free_attempt(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "t.sqlite3")
    try:
        throttle = LoginThrottle(store, free=5, delay=600.0, max_delay=3600.0)
        now = time.time()
        # Before the account is attacked, an address has five attempts back to back.
        for _ in range(5):
            await throttle.reserve("victim", "10.0.0.1", now)
        with pytest.raises(TooManyAttempts):
            await throttle.reserve("victim", "10.0.0.1", now)
        # Fifty addresses one guess each: the account is now attacked.
        for i in range(50):
            await throttle.reserve("victim", f"10.1.{i // 250}.{i % 250}", now)
        await throttle.reserve("victim", "10.9.9.9", now)  # a fresh address still gets in at once
        with pytest.raises(TooManyAttempts):
            await throttle.reserve("victim", "10.9.9.9", now)  # then it waits, not after five
        # Another account from the same addresses is not affected.
        for _ in range(5):
            await throttle.reserve("host.other", "10.9.9.9", now)
        # A success forgets that address's failures.
        reservation = await throttle.reserve("victim", "10.8.8.8", now)
        await throttle.succeeded(reservation)
        await throttle.reserve("victim", "10.8.8.8", now)
    finally:
        await store.close()


def test_clients_are_counted_by_address_or_ipv6_block() -> None:
    assert client_network("192.0.2.7") == "192.0.2.7"
    assert client_network("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_network(None) == client_network("") == "unknown"


async def test_password_pool_refuses_beyond_its_queue_at_once() -> None:
    hasher = PasswordHasher(workers=1, queue=2)
    try:
        encoded = await hasher.hash(PASSWORD)
        results = await asyncio.gather(
            *(hasher.verify(PASSWORD, encoded) for _ in range(10)), return_exceptions=True
        )
        busy = [r for r in results if isinstance(r, PasswordsBusy)]
        assert results.count(True) == 3 and len(busy) == 7
        assert all(b.retry_after >= 1 for b in busy)
        assert hasher.in_flight == 0
        assert await hasher.verify(PASSWORD, encoded)  # and it serves again
        assert not await hasher.verify(WRONG, encoded)
    finally:
        hasher.close()


# -- against a real server -----------------------------------------------------------------


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose login waits are long (see SLOW), with one host account."""
    server = start_server(tmp_path / "data", env=SLOW)
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    yield server
    server.stop()


def _session(local_address: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A client whose connections come from ``local_address`` (any 127.x.y.z is loopback)."""
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0), force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _api_login(
    http: aiohttp.ClientSession, base_url: str, username: str, password: str
) -> tuple[int, str | None, str | None]:
    """Status, error code and Retry-After of ``POST /api/login``."""
    async with http.post(
        base_url + "/api/login", json={"username": username, "password": password}
    ) as response:
        body = await response.json(content_type=None)
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        return response.status, code, response.headers.get("Retry-After")


async def test_concurrent_guesses_are_counted_before_they_are_checked(slow_server) -> None:
    base = slow_server.base_url
    async with _session() as http:
        answers = await asyncio.gather(
            *(_api_login(http, base, "host.dinhhoa", WRONG) for _ in range(30))
        )
    statuses = sorted(status for status, _, _ in answers)
    # Five were checked (and were wrong); the other 25 were refused unchecked.
    assert statuses == [401] * 5 + [429] * 25, answers
    assert all(
        code == "too-many-attempts" and retry and int(retry) >= 1
        for status, code, retry in answers
        if status == 429
    )


async def test_a_locked_pair_refuses_30_concurrent_right_passwords_but_not_the_user_elsewhere(
    slow_server,
) -> None:
    base = slow_server.base_url
    async with _session() as http:
        for _ in range(5):
            assert (await _api_login(http, base, "host.dinhhoa", WRONG))[0] == 401
        answers = await asyncio.gather(
            *(_api_login(http, base, "host.dinhhoa", PASSWORD) for _ in range(30))
        )
    assert [status for status, _, _ in answers] == [429] * 30, answers
    # The same user from another address is not locked out by the guesses.
    async with _session("127.0.0.2") as http:
        status, _, _ = await _api_login(http, base, "host.dinhhoa", PASSWORD)
        assert status == 200
        async with http.get(base + "/api/me") as me:
            assert (await me.json())["user"]["username"] == "host.dinhhoa"


@pytest.mark.parametrize("engine", ["sqlite", "redis"])
async def test_the_lock_holds_across_server_processes(engine, tmp_path, request) -> None:
    """Guesses at one node count at the other (a shared SQLite file, or one Redis)."""
    env = dict(SLOW)
    prefix = ""
    if engine == "redis":
        prefix = unique_prefix()
        env |= {
            "CONFERENCE_REDIS_URL": request.getfixturevalue("redis_url"),
            "CONFERENCE_REDIS_PREFIX": prefix,
        }
        first = start_server(tmp_path / "a", env=env)
        second = start_server(tmp_path / "b", env=env)
    else:
        first = start_server(tmp_path / "data", env=env)
        second = start_server(tmp_path / "data", env=env)
    try:
        first.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        async with _session() as http:
            for _ in range(5):
                assert (await _api_login(http, first.base_url, "host.dinhhoa", WRONG))[0] == 401
            answers = await asyncio.gather(
                *(_api_login(http, second.base_url, "host.dinhhoa", PASSWORD) for _ in range(30))
            )
        assert [status for status, _, _ in answers] == [429] * 30, answers
    finally:
        first.stop()
        second.stop()
        if engine == "redis":
            await delete_prefixed(request.getfixturevalue("redis_url"), prefix)


async def test_a_login_storm_does_not_stop_the_event_loop(server) -> None:
    """40 concurrent logins with made-up names: /healthz keeps answering meanwhile."""
    base = server.base_url
    latencies: list[float] = []
    storm_done = asyncio.Event()

    async def probe(http: aiohttp.ClientSession) -> None:
        while not storm_done.is_set():
            started = time.monotonic()
            async with http.get(base + "/healthz") as response:
                assert response.status == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.02)

    async def storm(http: aiohttp.ClientSession) -> list[tuple[int, str | None, str | None]]:
        try:
            names = [f"khong.co.{secrets.token_hex(4)}" for _ in range(40)]
            return await asyncio.gather(*(_api_login(http, base, n, WRONG) for n in names))
        finally:
            storm_done.set()

    async with _session() as prober, _session() as attacker:
        async with prober.get(base + "/healthz") as warm:
            assert warm.status == 200
        answers, _ = await asyncio.gather(storm(attacker), probe(prober))
    assert {status for status, _, _ in answers} <= {401, 429, 503}, answers
    assert all(retry for status, _, retry in answers if status in (429, 503))
    # Forty scrypt checks are four seconds of a core. On the event loop, the
    # probes waited behind them: three answers in the whole storm, the
    # slowest after two seconds. Off it, the loop answers between the
    # hashes (the pool alone takes over a second on one thread). Both bounds
    # are generous, so that a loaded machine still passes.
    assert len(latencies) >= 10, sorted(latencies)
    assert max(latencies) < 1.5, sorted(latencies)[-5:]


async def test_a_full_password_queue_answers_503_with_retry_after(tmp_path) -> None:
    server = start_server(
        tmp_path / "data", env={"CONFERENCE_LOGIN_WORKERS": "1", "CONFERENCE_LOGIN_QUEUE": "0"}
    )
    try:
        base = server.base_url
        async with _session() as http:
            names = [f"khong.co.{i}" for i in range(25)]
            answers = await asyncio.gather(*(_api_login(http, base, n, WRONG) for n in names))
        statuses = [status for status, _, _ in answers]
        assert set(statuses) <= {401, 503} and 503 in statuses and 401 in statuses, answers
        assert all(code == "busy" and retry for status, code, retry in answers if status == 503)
    finally:
        server.stop()


async def test_accounts_made_through_the_api_log_in(server) -> None:
    server.add_user("admin", "admin", password=PASSWORD)
    async with _session() as http:
        assert (await _api_login(http, server.base_url, "admin", PASSWORD))[0] == 200
        async with http.get(server.base_url + "/api/me") as me:
            csrf = (await me.json())["csrf_token"]
        async with http.post(
            server.base_url + "/api/users",
            json={
                "username": "xa.chochu",
                "display_name": "Xã Chợ Chu",
                "role": "site",
                "unit_code": "05536",
                "password": "mat-khau-moi-cua-xa",
            },
            headers={"X-CSRF-Token": csrf},
        ) as created:
            assert created.status == 201, await created.text()
    async with _session() as http:
        ok = await _api_login(http, server.base_url, "xa.chochu", "mat-khau-moi-cua-xa")
        assert ok[0] == 200


# -- next= after login ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/phish",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        " /meetings",
        "/ /evil.example",
        "/\x00/evil.example",
        "/meetings#//evil.example",
        "evil.example",
        "/mee\u2028tings",
        "",
    ],
)
def test_next_rejects_anything_but_a_plain_local_path(target: str) -> None:
    assert safe_next(target) == "/meetings"


@pytest.mark.parametrize(
    "target",
    ["/", "/meetings/abc", "/anpr?q=29A&from=2024-01-01T00:00", "/recordings/x%2Fy", "/a/%09/b"],
)
def test_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.fixture
async def form_client(server) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    async with _session() as http:
        yield http, server.base_url


async def _form_token(http: aiohttp.ClientSession, base: str, query: str = "") -> tuple[str, str]:
    async with http.get(base + "/login" + query) as page:
        html = await page.text()
    token = html.split('name="form_token" value="')[1].split('"')[0]
    next_value = html.split('name="next" value="')[1].split('"')[0]
    return token, next_value


@pytest.mark.parametrize("target", ["/\t/evil.example/phish", "/\\evil.example", "//evil.example"])
async def test_login_form_never_redirects_off_site(form_client, target) -> None:
    http, base = form_client
    token, _ = await _form_token(http, base)
    form = {"username": "host.dinhhoa", "password": PASSWORD, "next": target, "form_token": token}
    async with http.post(base + "/login", data=form, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/meetings"


async def test_login_page_does_not_carry_a_foreign_next(form_client) -> None:
    http, base = form_client
    _, next_value = await _form_token(http, base, "?next=/%09/evil.example/phish")
    assert next_value == "/meetings"
    _, next_value = await _form_token(http, base, "?next=/meetings/abc%3Fx")
    assert next_value == "/meetings/abc?x"  # the query's own value, decoded once: a local path


async def test_login_form_refusals_say_when_to_come_back(tmp_path) -> None:
    server = start_server(tmp_path / "data", env=SLOW)
    try:
        server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
        async with _session() as http:
            base = server.base_url
            for expected in [401] * 5 + [429]:
                token, _ = await _form_token(http, base)
                form = {"username": "host.dinhhoa", "password": WRONG, "form_token": token}
                async with http.post(base + "/login", data=form, allow_redirects=False) as r:
                    assert r.status == expected
                    html = await r.text()
            assert int(r.headers["Retry-After"]) > 60
            assert 'data-code="too-many-attempts"' in html
    finally:
        server.stop()


async def test_non_ascii_csrf_and_form_tokens_are_refused_not_crashed(form_client) -> None:
    """hmac.compare_digest raises TypeError on non-ASCII str: that was a 500."""
    http, base = form_client
    await _form_token(http, base)  # sets the pre-login cookie
    form = {"username": "host.dinhhoa", "password": PASSWORD, "form_token": "mã-giả"}
    async with http.post(base + "/login", data=form, allow_redirects=False) as response:
        assert response.status == 403
    assert (await _api_login(http, base, "host.dinhhoa", PASSWORD))[0] == 200
    async with http.post(
        base + "/api/logout", headers={"X-CSRF-Token": "mã".encode().decode("latin-1")}
    ) as response:
        assert response.status == 403
