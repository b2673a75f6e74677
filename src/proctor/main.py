"""create_app(): the API, its error handlers, and (when present) the portal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from proctor import __version__
from proctor.api import cors, errors, openapi
from proctor.api.limits import BodyLimitMiddleware
from proctor.api.routes import (
    challenges,
    county,
    faces,
    operations,
    paperwork,
    registry,
    session_tokens,
    sessions,
    verdicts,
)
from proctor.config import Settings, get_settings
from proctor.demo_player import routes as demo_player
from proctor.portal.app import create_portal_app
from proctor.services import jobs
from proctor.services.challenges import draw_plan
from proctor.services.policies import policy_for
from proctor.storage.db import UnitOfWork, engine_for, utcnow
from proctor.storage.replay import DatabaseReplayGuard, RedisReplayGuard
from proctor.storage.tables import StudySession
from proctor.workers import celery_app as celery_module
from proctor.workers import embedded_beat
from proctor.workers.dispatch import factory_for

DESCRIPTION = """
proctor checks that subsidised online vocational training really happened: course platforms
send signed telemetry and webcam snapshots, proctor applies the county plan's rules and face
verification, and answers with verdicts. Every request is signed the Standard Webhooks way
(see docs/API.md).
"""


def _draw_challenge_plan(settings: Settings) -> Callable[[UnitOfWork, StudySession], None]:
    def hook(uow: UnitOfWork, study: StudySession) -> None:
        draw_plan(uow, study, policy_for(settings))
    return hook


def _enqueue_evaluation(uow: UnitOfWork, session_ids: set[str], now: datetime) -> None:
    """After the commit: tasks carry ids (and the server time) and must see the committed events."""
    for sid in sorted(session_ids):
        uow.enqueue(jobs.EVALUATE_SESSION, sid, now.isoformat())


def _body_limit(settings: Settings) -> Callable[[str], int]:
    """Photo uploads may be a liveness burst; every other body is held to max_body_bytes."""
    from proctor.api.uploads import MAX_UPLOAD_BODY

    def limit_for(path: str) -> int:
        if path.endswith(("/photo", "/face")):
            return max(MAX_UPLOAD_BODY, settings.max_body_bytes)
        return settings.max_body_bytes
    return limit_for


def _enqueue_county_checks(uow: UnitOfWork, session_ids: set[str], now: datetime) -> None:
    """After the commit: the county's per-session check (services/county/checks.py)."""
    for sid in sorted(session_ids):
        uow.enqueue(jobs.COUNTY_CHECK_SESSION, sid, now.isoformat())


DOCS_STATIC = Path(__file__).resolve().parent / "docs_static"


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI (/docs) and ReDoc (/redoc) from files the app serves itself (npm
    swagger-ui-dist and redoc, vendored by scripts/docs_assets.sh): no CDN, works offline."""
    app.mount("/docs-static", StaticFiles(directory=DOCS_STATIC), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json",
                                   title="proctor API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json",
                              title="proctor API", redoc_js_url="/docs-static/redoc.standalone.js",
                              redoc_favicon_url="/docs-static/favicon-32x32.png",
                              with_google_fonts=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.broker_url or not settings.embedded_beat_s:
            yield  # with a broker, `celery beat` does the periodic work
            return
        async with embedded_beat.running(settings.embedded_beat_s, lambda: app.state.clock(),
                                         settings):
            yield

    app = FastAPI(title="proctor", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.clock = utcnow  # replaceable: the simulator runs the API in simulated time
    app.state.engine = engine_for(settings.database_url, settings.db_echo)
    # its units of work send their jobs with these settings (in-process: run with them)
    app.state.session_factory = factory_for(settings)
    app.state.replay_guard = (
        RedisReplayGuard(settings.redis_url, ttl_s=2 * settings.timestamp_tolerance_s + 60,
                         prefix=settings.redis_prefix)
        if settings.redis_url else DatabaseReplayGuard()
    )
    app.state.on_session_opened = [_draw_challenge_plan(settings)]
    app.state.on_sessions_to_evaluate = [_enqueue_evaluation, _enqueue_county_checks]
    celery_module.configure(settings)
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, limit_for=_body_limit(settings))
    app.include_router(operations.router)
    app.include_router(registry.router)
    app.include_router(sessions.router)
    app.include_router(challenges.router)
    app.include_router(verdicts.router)
    app.include_router(faces.router)
    app.include_router(paperwork.router)
    # the browser's way in (docs/sdk.md): session tokens, CORS for registered origins, the demo
    app.include_router(session_tokens.router)
    cors.install(app)
    app.include_router(county.router)
    app.include_router(demo_player.router)
    app.mount("/portal", create_portal_app(app))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    _offline_docs(app)
    openapi.install(app)

    return app
