"""The portal's request plumbing: its own unit of work, the signed-in viewer, rendering.

Module-level dependencies (like the API's, but the portal's own: it does not import api/), used
by every router under portal/routes/. The portal sub-app keeps its shared parts on
``app.state``: ``settings``, ``session_factory``, ``clock``, ``codec`` (security.SessionCodec)
and ``env`` (the Jinja2 environment, templating.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from proctor.domain.errors import Forbidden, MalformedRequest
from proctor.portal.pages import Viewer
from proctor.portal.security import csrf_ok
from proctor.services import accounts
from proctor.services.policies import policy_for
from proctor.services.scope import Scope
from proctor.storage.db import UnitOfWork, request_unit_of_work

BASE = "/portal"
DONE_MESSAGES = {
    "reviewed": ("success", "复核结论已保存，并已写入审计日志。"),
    "bulk_reviewed": ("success", "已批量维持无效，并已写入审计日志。"),
    "retried": ("success", "已重新发送该回调。"),
    "leave": ("success", "请假已登记（写入审计日志），该课时可补学。"),
    "rectification": ("success", "整改期已结束，并已写入审计日志。"),
    "answered": ("success", "异议已答复，并已写入审计日志。"),
}


class LoginRequired(Exception):
    pass


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request: committed before the response, rolled back on any error."""
    async with request_unit_of_work(request.app.state.session_factory) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def viewer(request: Request, uow: UowDep) -> Viewer:
    """The signed-in user with their scope; LoginRequired (a redirect) otherwise."""
    state = request.app.state
    session = state.codec.load(request)
    request.state.portal_session = session
    user = accounts.session_user(uow, token=session.sid)
    if user is None:
        raise LoginRequired
    # A plain copy for the error page, which renders after the unit of work has closed.
    scope = Scope.of(user)
    request.state.user = {"username": user.username, "display_name": user.display_name,
                          "role": user.role, "scope_label": scope.label(),
                          "institution_id": user.institution_id}
    return Viewer(uow=uow, user=user, scope=scope, settings=state.settings,
                  policy=policy_for(state.settings), now=state.clock())


ViewerDep = Annotated[Viewer, Depends(viewer)]


def user_context(request: Request, active: str) -> dict[str, Any]:
    user = request.state.user
    query = request.query_params
    done = DONE_MESSAGES.get(query.get("done", ""))
    text = done[1] if done else ""
    if done and query.get("done") == "bulk_reviewed":
        n, skipped = query.get("n", "0"), query.get("skipped", "0")
        text = f"已批量维持无效 {n} 条" + (f"（{skipped} 条已被他人复核，未改动）"
                                           if skipped not in ("", "0") else "") + "，并已写入审计日志。"
    return {"user": user, "active": active, "csrf_token": request.state.portal_session.csrf,
            "messages": [{"level": done[0], "text": text}] if done else [],
            "nav_institution_id": (str(user["institution_id"])
                                   if user["role"] == "institution_staff" else None)}


def html(request: Request, name: str, context: dict[str, Any], status: int = 200
         ) -> HTMLResponse:
    """Render a template; a fresh portal session (new csrf) is stored on the response."""
    state = request.app.state
    response = HTMLResponse(state.env.get_template(name).render(**context), status_code=status)
    session = getattr(request.state, "portal_session", None)
    if session is not None and session.fresh:
        state.codec.store(request, response, session)
    return response


def page(request: Request, name: str, active: str, context: dict[str, Any],
         status: int = 200) -> HTMLResponse:
    """A signed-in page: the layout's context (user, nav, messages, csrf) plus ``context``."""
    return html(request, name, user_context(request, active) | context, status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def require_csrf(request: Request, token: str | None) -> None:
    if not csrf_ok(request.state.portal_session, token):
        raise Forbidden("表单已过期或来源不明，请刷新页面后重试。")


def int_or_none(value: str) -> int | None:
    if value.isdigit() and len(value) > 9:  # beyond any page or id column: a 400, not a 500
        raise MalformedRequest(f"{value[:20]}… is too large a number")
    return int(value) if value.isdigit() else None


# a row id within its INTEGER column: anything larger is a 422, never a database error
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
