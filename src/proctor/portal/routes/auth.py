"""Signing in and out (the password check and its throttling: services/accounts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from proctor.portal.deps import BASE, UowDep, ViewerDep, html, redirect, require_csrf
from proctor.portal.security import client_ip, csrf_ok, signed_in
from proctor.services import accounts, audit_log

router = APIRouter()


def _safe_next(value: str) -> str:
    """Only a path inside the portal: never another site (open redirect)."""
    if value.startswith(f"{BASE}/") and not value.startswith("//") and "\\" not in value \
            and not value.startswith(f"{BASE}/login"):
        return value
    return ""


def login_page(request: Request, *, username: str = "", next_: str = "",
               error: str | None = None, status: int = 200) -> HTMLResponse:
    session = request.app.state.codec.load(request)
    request.state.portal_session = session
    return html(request, "login.html", {"csrf_token": session.csrf, "username": username,
                                        "next": next_, "error": error}, status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:  # noqa: A002
    """The sign-in form."""
    return login_page(request, next_=_safe_next(next))


@router.post("/login")
def login(request: Request, uow: UowDep, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    """Check the password (throttled); a new signed session on success."""
    state = request.app.state
    session = state.codec.load(request)
    if not csrf_ok(session, csrf_token):
        return login_page(request, username=username, next_=_safe_next(next),
                          error="页面已过期，请重新登录。", status=400)
    ip = client_ip(request, state.settings.trusted_proxy_networks)
    try:
        result = accounts.sign_in(uow, username=username, password=password, ip=ip,
                                  now=state.clock(), settings=state.settings)
    except accounts.Throttled as exc:
        return login_page(request, username=username, next_=_safe_next(next),
                          error=exc.message, status=429)
    if result.user is None or result.token is None:
        return login_page(request, username=username, next_=_safe_next(next),
                          error=result.error, status=401)
    response = redirect(_safe_next(next) or f"{BASE}/")
    state.codec.store(request, response, signed_in(result.token))
    return response


@router.post("/logout")
def logout(request: Request, v: ViewerDep, csrf_token: Annotated[str, Form()] = ""
           ) -> Response:
    """Sign out: the session is revoked on the server (a copy of the cookie is refused too)."""
    require_csrf(request, csrf_token)
    accounts.end_session(v.uow, token=request.state.portal_session.sid, now=v.now)
    audit_log.append(v.uow, actor=audit_log.actor_of(v.user), action="user.logout",
                     subject=f"user:{v.user.id}", at=v.now)
    response = redirect(f"{BASE}/login")
    request.app.state.codec.clear(response)
    return response
