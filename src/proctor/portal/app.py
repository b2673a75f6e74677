"""The review portal: a FastAPI sub-app mounted under /portal by create_app().

Server-rendered (Jinja2, see templating.py); one unit of work per request (api.deps.UowDep);
every page goes through the signed-in user's Scope (services/scope.py), and anything outside it
is a 404. Sign-in, sessions and CSRF: security.py and services/accounts.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from proctor.api.deps import UowDep
from proctor.domain.errors import Forbidden, NotFound, ProctorError
from proctor.portal import exports, pages
from proctor.portal.pages import Viewer
from proctor.portal.security import SessionCodec, csrf_ok, secret_key, signed_in
from proctor.portal.templating import STATIC_DIR, make_environment
from proctor.services import accounts, audit_log, callbacks, review
from proctor.services.policies import policy_for
from proctor.services.scope import Scope
from proctor.storage.tables import Institution, User

BASE = "/portal"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
}
DONE_MESSAGES = {
    "reviewed": ("success", "复核结论已保存，并已写入审计日志。"),
    "retried": ("success", "已重新发送该回调。"),
}


class LoginRequired(Exception):
    pass


def viewer(request: Request, uow: UowDep) -> Viewer:
    """The signed-in user with their scope; LoginRequired (a redirect) otherwise."""
    state = request.app.state
    session = state.codec.load(request)
    request.state.portal_session = session
    user = uow.session.get(User, session.uid) if session.uid is not None else None
    if user is None or not user.active:
        raise LoginRequired
    # A plain copy for the error page, which renders after the unit of work has closed.
    scope = Scope.of(user)
    request.state.user = {"username": user.username, "display_name": user.display_name,
                          "role": user.role, "scope_label": scope.label(),
                          "institution_id": user.institution_id}
    return Viewer(uow=uow, user=user, scope=scope, settings=state.settings,
                  policy=policy_for(state.settings), now=state.clock())


ViewerDep = Annotated[Viewer, Depends(viewer)]


def create_portal_app(parent: FastAPI) -> FastAPI:
    """The portal, sharing the parent's settings, database and (replaceable) clock."""
    portal = FastAPI(title="proctor portal", docs_url=None, redoc_url=None, openapi_url=None)
    portal.state.settings = parent.state.settings
    portal.state.session_factory = parent.state.session_factory
    portal.state.clock = lambda: parent.state.clock()
    settings = parent.state.settings
    codec = portal.state.codec = SessionCodec(secret_key(settings), settings.session_max_age_s)
    env = make_environment(base_path=BASE)
    portal.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @portal.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith(f"{BASE}/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # --- plumbing -------------------------------------------------------------------------


    def user_context(request: Request, active: str) -> dict[str, Any]:
        user = request.state.user
        done = DONE_MESSAGES.get(request.query_params.get("done", ""))
        return {"user": user, "active": active, "csrf_token": request.state.portal_session.csrf,
                "messages": [{"level": done[0], "text": done[1]}] if done else [],
                "nav_institution_id": (str(user["institution_id"])
                                       if user["role"] == "institution_staff" else None)}

    def html(request: Request, name: str, context: dict[str, Any], status: int = 200
             ) -> HTMLResponse:
        response = HTMLResponse(env.get_template(name).render(**context), status_code=status)
        session = getattr(request.state, "portal_session", None)
        if session is not None and session.fresh:
            codec.store(request, response, session)
        return response

    def page(request: Request, v: Viewer, name: str, active: str, context: dict[str, Any],
             status: int = 200) -> HTMLResponse:
        return html(request, name, user_context(request, active) | context, status)

    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def require_csrf(request: Request, token: str | None) -> None:
        if not csrf_ok(request.state.portal_session, token):
            raise Forbidden("表单已过期或来源不明，请刷新页面后重试。")

    @portal.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = ""
        return redirect(f"{BASE}/login" + (f"?{urlencode({'next': target})}" if target else ""))

    @portal.exception_handler(ProctorError)
    async def error_page(request: Request, exc: ProctorError) -> Response:
        user = getattr(request.state, "user", None)
        if user is None:
            return HTMLResponse(exc.message, status_code=exc.status)
        return html(request, "error.html", user_context(request, "") | {
            "status_code": exc.status, "message": exc.message}, exc.status)

    # --- signing in and out ----------------------------------------------------------------

    def login_page(request: Request, *, username: str = "", next_: str = "",
                   error: str | None = None, status: int = 200) -> HTMLResponse:
        session = codec.load(request)
        request.state.portal_session = session
        return html(request, "login.html", {"csrf_token": session.csrf, "username": username,
                                            "next": next_, "error": error}, status)

    @portal.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "") -> HTMLResponse:  # noqa: A002
        """The sign-in form."""
        return login_page(request, next_=_safe_next(next))

    @portal.post("/login")
    def login(request: Request, uow: UowDep, username: Annotated[str, Form()] = "",
              password: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
        """Check the password (throttled); a new signed session on success."""
        session = codec.load(request)
        if not csrf_ok(session, csrf_token):
            return login_page(request, username=username, next_=_safe_next(next),
                              error="页面已过期，请重新登录。", status=400)
        ip = request.client.host if request.client else "unknown"
        try:
            result = accounts.sign_in(uow, username=username, password=password, ip=ip,
                                      now=portal.state.clock(), settings=settings)
        except accounts.Throttled as exc:
            return login_page(request, username=username, next_=_safe_next(next),
                              error=exc.message, status=429)
        if result.user is None:
            return login_page(request, username=username, next_=_safe_next(next),
                              error=result.error, status=401)
        response = redirect(_safe_next(next) or f"{BASE}/")
        codec.store(request, response, signed_in(result.user.id))
        return response

    @portal.post("/logout")
    def logout(request: Request, v: ViewerDep, csrf_token: Annotated[str, Form()] = ""
               ) -> Response:
        """Sign out (the cookie is dropped)."""
        require_csrf(request, csrf_token)
        audit_log.append(v.uow, actor=audit_log.actor_of(v.user), action="user.logout",
                         subject=f"user:{v.user.id}", at=v.now)
        response = redirect(f"{BASE}/login")
        codec.clear(response)
        return response

    # --- pages ------------------------------------------------------------------------------

    @portal.get("/", response_class=HTMLResponse)
    def dashboard(request: Request, v: ViewerDep) -> Response:
        """Counts, flag rates by rule and by institution."""
        if v.user.role == "institution_staff":
            return redirect(f"{BASE}/institutions/{v.user.institution_id}")
        return page(request, v, "dashboard.html", "dashboard", pages.dashboard(v))

    @portal.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, v: ViewerDep) -> HTMLResponse:
        """Flagged sessions with filters and pagination."""
        params = dict(request.query_params)
        number = _int(params.get("page", "")) or 1

        def url(n: int) -> str:
            return f"{BASE}/queue?{urlencode({**params, 'page': n})}"

        return page(request, v, "queue.html", "queue", pages.queue(v, params, number, url))

    @portal.get("/sessions/{session_id}", response_class=HTMLResponse)
    def session_page(request: Request, v: ViewerDep, session_id: str) -> HTMLResponse:
        """Timeline, verdict with evidence, photos, the review form."""
        return page(request, v, "session.html", "queue", pages.session_page(v, session_id))

    @portal.post("/sessions/{session_id}/review")
    def decide(request: Request, v: ViewerDep, session_id: str,
               decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
               csrf_token: Annotated[str, Form()] = "") -> Response:
        """A review decision; shown again with the error when it can't be taken."""
        require_csrf(request, csrf_token)
        try:
            review.decide(v.uow, user=v.user, session_id=session_id, decision=decision,
                          reason=reason, settings=settings, policy=v.policy, now=v.now)
        except (NotFound, Forbidden):
            raise
        except ProctorError as exc:
            context = pages.session_page(v, session_id)
            context["review"].update(form_error=exc.message, decision_value=decision,
                                     reason_value=reason)
            return page(request, v, "session.html", "queue", context, exc.status)
        return redirect(f"{BASE}/sessions/{session_id}?done=reviewed")

    @portal.get("/learners/{learner_id}", response_class=HTMLResponse)
    def learner_page(request: Request, v: ViewerDep, learner_id: int) -> HTMLResponse:
        """Identity (ID masked per role), enrolments, lesson matrix, eligibility."""
        return page(request, v, "learner.html", "queue", pages.learner_page(v, learner_id))

    @portal.get("/institutions/{institution_id}", response_class=HTMLResponse)
    def institution_page(request: Request, v: ViewerDep, institution_id: int,
                         course: str = "") -> HTMLResponse:
        """Learners × lessons for one course, eligibility, export links."""
        context = pages.institution_page(v, institution_id,
                                         int(course) if course.isdigit() else None)
        return page(request, v, "institution.html", "institution", context)

    @portal.get("/exports/{name}")
    def export(request: Request, v: ViewerDep, name: str) -> Response:
        """roster.xlsx|csv (institution, course) and flagged.xlsx|csv (queue filters)."""
        kind, _, fmt = name.partition(".")
        if kind not in ("roster", "flagged") or fmt not in ("xlsx", "csv"):
            raise NotFound(pages.NOT_FOUND)
        params = dict(request.query_params)
        reveal = v.scope.sees_full_ids
        notes = {"导出时间": v.now.astimezone(pages.DISPLAY_TZ).strftime("%Y-%m-%d %H:%M"),
                 "导出人": v.user.display_name,
                 "身份证号": "完整" if reveal else "已脱敏"}
        if kind == "roster":
            inst = pages.scoped_institution(v, _int(params.get("institution", "")))
            course = pages.scoped_course(v, inst, _int(params.get("course", "")))
            if course is None:
                raise NotFound("该机构还没有登记课程。")
            rows = pages.roster_rows(v, inst, course)
            notes |= {"范围": f"{inst.name} · {course.title}"}
            body = (exports.roster_xlsx(rows, reveal_id_numbers=reveal, notes=notes)
                    if fmt == "xlsx" else exports.roster_csv(rows, reveal_id_numbers=reveal))
            title, subject = f"考试名单_{inst.name}_{course.title}", f"course:{course.id}"
        else:
            rows = pages.flagged_rows(v, params)
            notes |= {"筛选条件": urlencode({k: x for k, x in params.items() if x}) or "全部"}
            body = (exports.flagged_xlsx(rows, reveal_id_numbers=reveal, notes=notes)
                    if fmt == "xlsx" else exports.flagged_csv(rows, reveal_id_numbers=reveal))
            title, subject = "被标记学习会话", "queue"
        audit_log.append(v.uow, actor=audit_log.actor_of(v.user), action=f"export.{kind}",
                         subject=subject, at=v.now,
                         payload={"format": fmt, "rows": len(rows), "id_numbers":
                                  "full" if reveal else "masked",
                                  "filters": {k: x for k, x in params.items() if x}})
        media = exports.XLSX_MEDIA_TYPE if fmt == "xlsx" else exports.CSV_MEDIA_TYPE
        return Response(body, media_type=media, headers={
            "Content-Disposition": exports.content_disposition(title, fmt)})

    @portal.get("/photos/{photo_id}")
    def photo(v: ViewerDep, photo_id: str, thumb: int = 0) -> Response:
        """A kept snapshot (or its thumbnail), for users whose scope holds the session."""
        from proctor.portal.photos import photo_response

        return photo_response(v, photo_id, thumb=bool(thumb))

    @portal.get("/dead-letters", response_class=HTMLResponse)
    def dead_letters(request: Request, v: ViewerDep) -> HTMLResponse:
        """Callbacks that failed every attempt (administrators)."""
        if not v.scope.manages_callbacks:
            raise NotFound(pages.NOT_FOUND)
        number = _int(request.query_params.get("page", "")) or 1
        rows, total = callbacks.dead_letters(v.uow, offset=(number - 1) * pages.PAGE_SIZE,
                                             limit=pages.PAGE_SIZE)
        names = {i.id: i.name for i in v.uow.session.query(Institution)}
        return page(request, v, "dead_letters.html", "dead_letters", {
            "items": [{"id": c.id, "platform": names.get(c.institution_id, ""),
                       "event_type": c.kind, "subject": c.subject, "url": c.url,
                       "attempts": c.attempts, "last_status": c.last_status_code,
                       "last_error": c.last_error or "", "first_attempt_at": c.created_at,
                       "last_attempt_at": c.next_attempt_at or c.created_at} for c in rows],
            "page": pages.page_info(number, total, lambda n: f"{BASE}/dead-letters?page={n}")})

    @portal.post("/dead-letters/{callback_id}/retry")
    def retry_dead_letter(request: Request, v: ViewerDep, callback_id: str,
                          csrf_token: Annotated[str, Form()] = "") -> Response:
        """Send a dead letter again (audited)."""
        if not v.scope.manages_callbacks:
            raise NotFound(pages.NOT_FOUND)
        require_csrf(request, csrf_token)
        callbacks.retry_dead_letter(v.uow, callback_id=callback_id, user=v.user, now=v.now)
        return redirect(f"{BASE}/dead-letters?done=retried")

    @portal.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, v: ViewerDep) -> HTMLResponse:
        """The audit log, newest first, with the chain verified on every view."""
        if not v.scope.reads_audit:
            raise NotFound(pages.NOT_FOUND)
        number = _int(request.query_params.get("page", "")) or 1
        check = audit_log.verify(v.uow.session)
        rows = audit_log.page(v.uow.session, offset=(number - 1) * pages.PAGE_SIZE,
                              limit=pages.PAGE_SIZE)
        return page(request, v, "audit.html", "audit", {
            "verification": {"ok": check.ok, "checked": check.checked,
                             "broken_seq": check.broken_seq, "head": check.head or "-"},
            "entries": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                         "subject": e.subject, "payload": e.payload, "hash": e.hash}
                        for e in rows],
            "page": pages.page_info(number, audit_log.count(v.uow.session),
                                    lambda n: f"{BASE}/audit?page={n}")})

    from proctor.portal.county import router as county_router  # the county's pages (issue 14)

    portal.include_router(county_router)
    return portal


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _safe_next(value: str) -> str:
    """Only a path inside the portal: never another site (open redirect)."""
    if value.startswith(f"{BASE}/") and not value.startswith("//") and "\\" not in value \
            and not value.startswith(f"{BASE}/login"):
        return value
    return ""

