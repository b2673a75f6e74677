"""Browser harness for the portal: Debian's Chromium driven by Playwright, screenshots kept.

`browser` is one headless Chromium for the whole run; `page` a fresh context per test (zh-CN,
desktop viewport); `screenshot(page, name)` saves test-artifacts/screenshots/<name>.png;
`preview_url` is a uvicorn server in a thread serving the templates with sample data.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import BACKENDS

from proctor.config import Settings

sys.path.insert(0, str(Path(__file__).parent))  # samples.py / preview.py live next to the tests

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (scripts/browser.sh)")
    playwright = playwright_driver  # the session's one driver (tests/conftest.py)
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1366, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    def take(page: object, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        return path

    return take


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(app: object, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 (``port``, else a free one) in a daemon thread;
    yields its base URL."""
    import uvicorn

    port = port or _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("preview server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def preview_url() -> Iterator[str]:
    from preview import create_preview_app

    yield from serve_in_thread(create_preview_app())


# ---------------------------------------------------------------- the live portal on a test DB
PASSWORD = "correct-horse-42"


@dataclass
class World:
    """A small demo data set (simulation.demo) on the test database, and the app serving it.

    Two institutions: 410105 (金水区, id in .inst["410105"]) and 410223 (尉氏县). In each, learner
    stu-x02 sat lesson 2 in a background tab (flagged MULTI_WINDOW) and lesson 3 after it
    (flagged LESSON_ORDER); stu-x01 sat all three lessons honestly.
    Users (password PASSWORD): admin, reviewer (410105), reviewer2 (410223), staff (the 410105
    institution), auditor.
    """

    settings: Settings
    app: object
    inst: dict[str, int]
    flagged: dict[str, str]  # county -> the MULTI_WINDOW session
    cascaded: dict[str, str]  # county -> the LESSON_ORDER session after it
    learner: dict[str, int]  # county -> the cheating learner
    course: dict[str, int]
    photo: dict[str, str]  # county -> a photo of the flagged session

    def client(self, username: str | None = None, *, ip: str = "203.0.113.7") -> TestClient:
        client = TestClient(self.app, follow_redirects=False, client=(ip, 50000))
        if username is not None:
            assert login(client, username).status_code == 303
        return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> object:
    token = csrf_of(client.get("/portal/login").text)
    return client.post("/portal/login", data={"username": username, "password": password,
                                              "csrf_token": token, "next": ""})


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, blob_dir=tmp_path / "blobs", broker_url=None,
                    redis_url=None, secret_key="portal-test-secret-" * 3, login_max_failures=3)


def make_world(settings: Settings) -> World:
    from sqlalchemy import select

    from proctor.main import create_app
    from proctor.services.policies import policy_for
    from proctor.simulation.demo import build_demo
    from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
    from proctor.storage.tables import Institution, Learner, Lesson, Photo, StudySession

    users = ("admin", "reviewer", "reviewer2", "staff", "auditor")
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        build_demo(uow, settings=settings, policy=policy_for(settings), now=utcnow(),
                   passwords=dict.fromkeys(users, PASSWORD), learners=2, lessons_per_course=3)
    world = World(settings, create_app(settings), {}, {}, {}, {}, {}, {})
    with session_factory(engine_for(settings.database_url))() as s:
        for inst in s.scalars(select(Institution)):
            world.inst[inst.county_code] = inst.id
            cheat = s.scalar(select(Learner).where(Learner.institution_id == inst.id,
                                                   Learner.ext_id.like("%02")))
            assert cheat is not None
            world.learner[inst.county_code] = cheat.id
            for study, lesson in s.execute(select(StudySession, Lesson)
                                           .join(Lesson, Lesson.id == StudySession.lesson_id)
                                           .where(StudySession.learner_id == cheat.id)):
                world.course[inst.county_code] = study.course_id
                if lesson.seq == 2:
                    world.flagged[inst.county_code] = study.id
                elif lesson.seq == 3:
                    world.cascaded[inst.county_code] = study.id
            photo = s.scalar(select(Photo).where(
                Photo.session_id == world.flagged[inst.county_code]).limit(1))
            assert photo is not None
            world.photo[inst.county_code] = photo.id
    return world


@pytest.fixture
def world(settings: Settings) -> World:
    return make_world(settings)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> World:
    """One World per module and backend, for tests that only read (and sign in)."""
    import shutil

    from tests.conftest import _truncate_pg

    tmp = tmp_path_factory.mktemp("world")
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp / "proctor.db")
        url = f"sqlite:///{tmp / 'proctor.db'}"
    else:
        url = request.getfixturevalue("pg_migrated")
        _truncate_pg(url)
    return make_world(Settings(database_url=url, blob_dir=tmp / "blobs", broker_url=None,
                               redis_url=None, secret_key="portal-test-secret-" * 3,
                               login_max_failures=3))
