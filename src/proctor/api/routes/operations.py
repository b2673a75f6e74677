"""Operations: /healthz (liveness: the process answers) and /readyz (its dependencies answer:
the database, the broker when one is configured, the replay store), 503 when one is down."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from proctor import __version__
from proctor.storage.replay import RedisReplayGuard

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process is up (dependencies are /readyz's)."""
    return {"status": "ok", "version": __version__}


def _checks(request: Request) -> dict[str, str]:
    app = request.app
    settings = app.state.settings
    out: dict[str, str] = {}
    try:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out["database"] = "ok"
    except Exception as exc:  # any failure is "down", named
        out["database"] = f"down: {type(exc).__name__}"
    if settings.broker_url:
        from proctor.workers.celery_app import celery_app

        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            out["broker"] = "ok"
        except Exception as exc:
            out["broker"] = f"down: {type(exc).__name__}"
    else:
        out["broker"] = "in-process"
    guard = app.state.replay_guard
    if isinstance(guard, RedisReplayGuard):
        try:
            guard.client.ping()
            out["replay_store"] = "ok"
        except Exception as exc:
            out["replay_store"] = f"down: {type(exc).__name__}"
    else:
        out["replay_store"] = out["database"]
    return out


@router.get("/readyz", responses={503: {"description": "a dependency is down"}})
async def readyz(request: Request) -> Any:
    """Readiness: the database, the broker and the replay store answer (503 naming the one
    that does not)."""
    checks = await run_in_threadpool(_checks, request)
    ready = all(v in ("ok", "in-process") for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", "version": __version__, "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)
