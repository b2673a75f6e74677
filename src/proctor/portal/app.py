"""The review portal: a FastAPI sub-app mounted under /portal by create_app().

Server-rendered (Jinja2, see templating.py); one unit of work per request (deps.UowDep);
every page goes through the signed-in user's Scope (services/scope.py), and anything outside it
is a 404. Sign-in, sessions and CSRF: security.py and services/accounts.py. The routes are
module-level routers under portal/routes/ (registered in routes.ROUTERS); the plumbing they
share is portal/deps.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from proctor.domain.errors import ProctorError
from proctor.portal.deps import BASE, LoginRequired, html, redirect, user_context
from proctor.portal.routes import ROUTERS
from proctor.portal.security import SessionCodec, secret_key
from proctor.portal.templating import STATIC_DIR, make_environment

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
}


async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
    response: Response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith(f"{BASE}/static"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def to_login(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = ""
    return redirect(f"{BASE}/login" + (f"?{urlencode({'next': target})}" if target else ""))


async def error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProctorError)
    user = getattr(request.state, "user", None)
    if user is None:
        return HTMLResponse(exc.message, status_code=exc.status)
    return html(request, "error.html", user_context(request, "") | {
        "status_code": exc.status, "message": exc.message}, exc.status)


def create_portal_app(parent: FastAPI) -> FastAPI:
    """The portal, sharing the parent's settings, database and (replaceable) clock."""
    portal = FastAPI(title="proctor portal", docs_url=None, redoc_url=None, openapi_url=None)
    settings = parent.state.settings
    portal.state.settings = settings
    portal.state.session_factory = parent.state.session_factory
    portal.state.clock = lambda: parent.state.clock()
    portal.state.codec = SessionCodec(secret_key(settings), settings.session_max_age_s)
    portal.state.env = make_environment(base_path=BASE)
    portal.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    portal.middleware("http")(security_headers)
    portal.add_exception_handler(LoginRequired, to_login)
    portal.add_exception_handler(ProctorError, error_page)
    for router in ROUTERS:
        portal.include_router(router)
    return portal
