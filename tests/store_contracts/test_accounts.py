"""AccountStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import time

import pytest

from conference.store import AccountRole, Conflict, Login, NotFound, StoreError, User
from tests.store_contracts.records import tree, user


async def test_users_and_logins(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_user(user("host.dinhhoa"))
    with pytest.raises(Conflict):
        await any_store.create_user(user("host.dinhhoa", AccountRole.SITE, "05506"))
    assert (await any_store.get_user("host.dinhhoa")).role is AccountRole.HOST  # untouched
    assert await any_store.get_user("nobody") is None
    admin = User("admin", "Quản trị", AccountRole.ADMIN, None, "scrypt$y", 2.0)
    await any_store.create_user(admin)
    assert [u.username for u in await any_store.list_users()] == ["admin", "host.dinhhoa"]
    await any_store.update_user(
        User("admin", "Admin", AccountRole.ADMIN, None, "scrypt$z", 2.0, disabled=True)
    )
    changed = await any_store.get_user("admin")
    assert (changed.display_name, changed.password_hash, changed.disabled) == (
        "Admin",
        "scrypt$z",
        True,
    )
    with pytest.raises(NotFound):
        await any_store.update_user(user("ghost"))

    now = time.time()
    await any_store.create_login(Login("sess-1", "admin", "csrf", now, now + 60))
    assert (await any_store.get_login("sess-1", now)).csrf_token == "csrf"
    assert await any_store.get_login("sess-1", now + 61) is None  # expired
    await any_store.delete_login("sess-1")
    assert await any_store.get_login("sess-1", now) is None
    await any_store.delete_login("never-existed")


async def test_users_need_a_known_unit(any_store):
    await any_store.upsert_units(tree())
    with pytest.raises(StoreError) as refused:
        await any_store.create_user(user("host.ghost", unit="nope"))
    assert not isinstance(refused.value, Conflict)
    assert await any_store.get_user("host.ghost") is None
    await any_store.create_user(user("site.linhthong", AccountRole.SITE, "05506"))
    assert (await any_store.get_user("site.linhthong")) == user(
        "site.linhthong", AccountRole.SITE, "05506"
    )


async def test_login_expires_at_its_instant(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_user(user("host.dinhhoa"))
    now = time.time()
    login = Login("sess-2", "host.dinhhoa", "csrf-2", now, now + 3600)
    await any_store.create_login(login)
    assert await any_store.get_login("sess-2", now) == login
    assert await any_store.get_login("sess-2", now + 3600) is None  # expires_at <= now
    assert await any_store.get_login("never", now) is None
