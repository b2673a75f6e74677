"""Sign-in that holds (issue 10): attempts counted atomically under real concurrency, lockout per
account and per account+IP (a county office behind one NAT is not locked out by one person's
typos), X-Forwarded-For believed only from configured proxies, failed sign-ins audited, and
sign-out revoking the session on the server (the old cookie is refused afterwards)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from conftest import PASSWORD, World, csrf_of, login, make_world, serve_in_thread
from proctor.config import Settings
from proctor.services import users
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import AuditEntry, User

PARALLEL = 30
LIVE_PORT = 8640  # this worktree's port range


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, blob_dir=tmp_path / "blobs", broker_url=None,
                    redis_url=None, secret_key="portal-test-secret-" * 3, login_max_failures=3,
                    login_max_failures_per_account=6, login_max_failures_per_ip=10,
                    trusted_proxies="10.9.0.0/16")


@pytest.fixture
def world(settings: Settings) -> World:
    return make_world(settings)


@pytest.fixture
def live_url(world: World) -> Iterator[str]:
    yield from serve_in_thread(world.app, port=LIVE_PORT)


def _audit_count(world: World, action: str) -> int:
    with session_factory(engine_for(world.settings.database_url))() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.action == action)) or 0)


def _attempt(base: str, username: str, password: str, barrier: threading.Barrier,
             out: list[int]) -> None:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=120) as client:
        token = csrf_of(client.get("/portal/login").text)
        barrier.wait()
        r = client.post("/portal/login", data={"username": username, "password": password,
                                               "csrf_token": token, "next": ""})
        out.append(r.status_code)


def test_parallel_guesses_cannot_outrun_the_count(world: World, live_url: str) -> None:
    """30 wrong passwords at once against a real server: only the allowed number are checked."""
    barrier = threading.Barrier(PARALLEL)
    codes: list[int] = []
    threads = [threading.Thread(target=_attempt,
                                args=(live_url, "reviewer", f"guess-{i:04d}", barrier, codes))
               for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted = Counter(codes)
    assert counted[401] == world.settings.login_max_failures, counted
    assert counted[429] == PARALLEL - world.settings.login_max_failures, counted
    # each refused guess is in the audit log, the throttled ones were never checked
    assert _audit_count(world, "user.login_failed") == world.settings.login_max_failures


def test_one_persons_failures_do_not_lock_out_the_office(world: World) -> None:
    office = "198.51.100.20"  # a county office behind one NAT
    typo = world.client(ip=office)
    for _ in range(3):
        assert login(typo, "reviewer", "wrong-wrong-wrong").status_code == 401
    # this account from this address is locked, even with the right password ...
    assert login(world.client(ip=office), "reviewer").status_code == 429
    # ... but colleagues behind the same address sign in, and so does the owner from elsewhere
    assert login(world.client(ip=office), "admin").status_code == 303
    assert login(world.client(ip=office), "auditor").status_code == 303
    assert login(world.client(ip="198.51.100.21"), "reviewer").status_code == 303


def test_an_account_guessed_at_from_many_addresses_is_locked(world: World) -> None:
    """Per account, across addresses: stricter than the per-IP limit."""
    limit = world.settings.login_max_failures_per_account
    for i in range(limit):
        r = login(world.client(ip=f"192.0.2.{i + 1}"), "reviewer", "wrong-wrong-wrong")
        assert r.status_code == 401
    assert login(world.client(ip="192.0.2.200"), "reviewer").status_code == 429
    assert login(world.client(ip="192.0.2.200"), "admin").status_code == 303


def test_one_address_guessing_many_accounts_hits_the_per_ip_limit(world: World) -> None:
    attacker = world.client(ip="203.0.113.50")
    limit = world.settings.login_max_failures_per_ip
    for i in range(limit):
        assert login(attacker, f"nobody{i}", "wrong-wrong-wrong").status_code == 401
    assert login(attacker, "admin").status_code == 429
    assert login(world.client(ip="203.0.113.51"), "admin").status_code == 303


def _login_via(client: object, username: str, password: str, forwarded: str) -> int:
    token = csrf_of(client.get("/portal/login").text)  # type: ignore[attr-defined]
    r = client.post("/portal/login", headers={"X-Forwarded-For": forwarded},  # type: ignore[attr-defined]
                    data={"username": username, "password": password, "csrf_token": token,
                          "next": ""})
    return int(r.status_code)


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(world: World) -> None:
    # from anyone else, a made-up X-Forwarded-For does not give fresh addresses to guess from
    direct = world.client(ip="198.51.100.60")
    for i in range(3):
        assert _login_via(direct, "reviewer", "wrong-wrong-wrong", f"192.0.2.{i + 1}") == 401
    assert _login_via(direct, "reviewer", PASSWORD, "192.0.2.99") == 429
    # through the configured proxy, the client's address is the one the proxy saw
    proxy = world.client(ip="10.9.3.4")
    for _ in range(3):
        assert _login_via(proxy, "admin", "wrong-wrong-wrong", "7.7.7.7, 10.9.0.2") == 401
    assert _login_via(proxy, "admin", PASSWORD, "7.7.7.7") == 429
    assert _login_via(proxy, "admin", PASSWORD, "8.8.4.4") == 303
    with session_factory(engine_for(world.settings.database_url))() as s:
        ips = set(s.scalars(select(AuditEntry.payload["ip"].as_string())
                            .where(AuditEntry.action == "user.login_failed")))
    assert "7.7.7.7" in ips and "10.9.3.4" not in ips and "192.0.2.1" not in ips


def test_sign_out_revokes_the_session_on_the_server(world: World) -> None:
    client = world.client("reviewer")
    stolen = client.cookies.get("proctor_portal")
    page = client.get("/portal/")
    assert page.status_code == 200
    assert client.post("/portal/logout",
                       data={"csrf_token": csrf_of(page.text)}).status_code == 303
    # a copy of the cookie taken before sign-out is refused afterwards
    replayed = world.client()
    replayed.cookies.set("proctor_portal", stolen, path="/portal")
    assert replayed.get("/portal/").status_code == 303
    assert _audit_count(world, "user.logout") == 1


def test_a_password_change_revokes_every_session(world: World) -> None:
    first, second = world.client("reviewer"), world.client("reviewer", ip="198.51.100.9")
    assert first.get("/portal/").status_code == 200
    with unit_of_work(session_factory(engine_for(world.settings.database_url))) as uow:
        user = uow.session.scalar(select(User).where(User.username == "reviewer"))
        assert user is not None
        users.set_password(uow, user=user, password="a-new-password-42")
    assert first.get("/portal/").status_code == 303
    assert second.get("/portal/").status_code == 303
    assert login(world.client(ip="198.51.100.10"), "reviewer",
                 "a-new-password-42").status_code == 303

