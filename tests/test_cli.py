"""The operators' command line, on a fresh SQLite database made by `proctor db upgrade`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


def _proctor(db: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROCTOR_DATABASE_URL": f"sqlite:///{db}"}
    env.pop("PROCTOR_CONFIG_FILE", None)
    if password is not None:
        env["PROCTOR_NEW_USER_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cli.db"
    out = _proctor(path, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    return path


def test_db_upgrade_creates_every_table(db: Path) -> None:
    with create_engine(f"sqlite:///{db}").connect() as conn:
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"institutions", "platform_keys", "events", "study_sessions", "challenges", "photos",
            "verdicts", "users", "audit_log", "callbacks"} <= tables


def test_platform_create_prints_key_as_json(db: Path) -> None:
    out = _proctor(db, "platform", "create", "--institution", "安阳市职业技能培训中心",
                   "--county", "410502")
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)
    assert key["key_id"].startswith("pk_")
    assert key["secret"].startswith("whsec_")
    assert key["county"] == "410502"


@pytest.mark.parametrize(("county", "message"), [("4105", "6-digit"), ("010502", "6-digit")])
def test_platform_create_refuses_bad_county(db: Path, county: str, message: str) -> None:
    out = _proctor(db, "platform", "create", "--institution", "x", "--county", county)
    assert out.returncode == 2
    assert message in out.stderr


def test_same_institution_in_another_county_is_refused(db: Path) -> None:
    assert _proctor(db, "platform", "create", "--institution", "甲校", "--county", "410102").returncode == 0
    out = _proctor(db, "platform", "create", "--institution", "甲校", "--county", "410103")
    assert out.returncode == 2
    assert "410102" in out.stderr


def test_user_create_hashes_password(db: Path) -> None:
    out = _proctor(db, "user", "create", "--username", "reviewer1", "--role", "county_reviewer",
                   "--county", "410105", password="correct horse battery")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counties"] == ["410105"]
    with create_engine(f"sqlite:///{db}").connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username='reviewer1'")).scalar()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--username", "rev2", "--role", "county_reviewer"], "long enough pw", "at least one county"),
        (["--username", "rev3", "--role", "wizard"], "long enough pw", "role must be one of"),
        (["--username", "rev4", "--role", "auditor"], "short", "at least 10"),
        (["--username", "rev5", "--role", "institution_staff", "--institution", "无此校"],
         "long enough pw", "not registered"),
    ],
)
def test_user_create_refuses_with_reason(db: Path, args: list[str], password: str, message: str) -> None:
    out = _proctor(db, "user", "create", *args, password=password)
    assert out.returncode == 2
    assert message in out.stderr
