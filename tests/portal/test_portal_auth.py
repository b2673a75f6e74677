"""Signing in and out: argon2 passwords, signed cookies, CSRF on every form, throttling."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import PASSWORD, World, csrf_of, login, make_world
from proctor.config import Settings
from proctor.portal.security import secret_key
from proctor.storage.db import engine_for, session_factory
from proctor.storage.tables import AuditEntry, LoginAttempt


@pytest.fixture
def world(shared_world: World) -> World:
    """One data set per backend for the module; the throttling test makes its own."""
    return shared_world


def _count(world: World, table: type, *where: object) -> int:
    with session_factory(engine_for(world.settings.database_url))() as s:
        return int(s.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_pages_need_a_signed_in_user(world: World) -> None:
    client = world.client()
    r = client.get(f"/portal/sessions/{world.flagged['410105']}")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/portal/login?next=%2Fportal%2Fsessions%2F")
    assert client.get("/portal/exports/flagged.csv").status_code == 303
    assert client.get(f"/portal/photos/{world.photo['410105']}").status_code == 303


def test_sign_in_sets_a_hardened_cookie_and_sign_out_drops_it(world: World) -> None:
    client = world.client()
    r = login(client, "reviewer")
    assert r.status_code == 303
    assert r.headers["location"] == "/portal/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/portal" in cookie
    page = client.get("/portal/")
    assert page.status_code == 200
    assert "李敏（金水区）" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # the sign-in is in the audit log
    assert _count(world, AuditEntry, AuditEntry.action == "user.login",
                  AuditEntry.payload["ip"].as_string() == "203.0.113.7") >= 1
    # sign-out needs the form's token
    assert client.post("/portal/logout", data={"csrf_token": "forged"}).status_code == 403
    r = client.post("/portal/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert client.get("/portal/").status_code == 303  # back to the login page


def test_a_forged_or_tampered_cookie_is_no_session(world: World) -> None:
    client = world.client("reviewer")
    value = client.cookies.get("proctor_portal")
    assert value
    client.cookies.set("proctor_portal", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB"),
                       path="/portal")
    assert client.get("/portal/").status_code == 303


def test_wrong_password_and_missing_csrf_are_refused(world: World) -> None:
    client = world.client(ip="192.0.2.99")
    r = login(client, "reviewer", "not-the-password")
    assert r.status_code == 401
    assert "用户名或密码不正确" in r.text
    r = client.post("/portal/login", data={"username": "reviewer", "password": PASSWORD,
                                           "csrf_token": "made-up", "next": ""})
    assert r.status_code == 400
    assert "proctor_portal=" not in r.headers.get("set-cookie", "") or "uid" not in r.text
    assert client.get("/portal/").status_code == 303
    assert _count(world, LoginAttempt, LoginAttempt.success.is_(False),
                  LoginAttempt.ip == "192.0.2.99") == 1


def test_login_is_throttled_per_username_and_ip(settings: Settings) -> None:
    world = make_world(settings)
    # settings.login_max_failures = 3 in these tests (per account and address; the per-account
    # and per-address limits: test_sign_in_hardening.py)
    attacker = world.client(ip="198.51.100.1")
    for _ in range(3):
        assert login(attacker, "reviewer", "guess-guess-guess").status_code == 401
    # the right password no longer helps from there ...
    r = login(attacker, "reviewer")
    assert r.status_code == 429
    assert "尝试次数过多" in r.text
    # ... while other users from there, and this user from elsewhere, are not affected
    assert login(attacker, "admin").status_code == 303
    assert login(world.client(ip="198.51.100.3"), "reviewer").status_code == 303


def test_only_local_next_urls_are_followed(world: World) -> None:
    client = world.client()
    token = csrf_of(client.get("/portal/login").text)
    r = client.post("/portal/login", data={"username": "admin", "password": PASSWORD,
                                           "csrf_token": token, "next": "https://evil.example/"})
    assert r.headers["location"] == "/portal/"
    client = world.client()
    token = csrf_of(client.get("/portal/login").text)
    r = client.post("/portal/login", data={"username": "admin", "password": PASSWORD,
                                           "csrf_token": token, "next": "/portal/queue?rule=X"})
    assert r.headers["location"] == "/portal/queue?rule=X"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    settings = Settings(database_url="sqlite:///:memory:", secret_key=None)
    first = secret_key(settings, path)
    assert len(first) >= 40
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key(settings, path) == first
    assert secret_key(Settings(database_url="sqlite:///:memory:", secret_key="s" * 40), path) \
        == "s" * 40
