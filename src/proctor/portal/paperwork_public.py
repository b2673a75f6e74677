"""Public pages without login (mounted at /public by create_app): the subsidy roster notice
(公示) with names and ID numbers masked, its XLSX, and the objection (异议) form."""

from __future__ import annotations

from typing import Annotated

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from proctor.api.deps import NowDep, UowDep
from proctor.portal.templating import TEMPLATES_DIR
from proctor.services import notices

router = APIRouter(prefix="/public", include_in_schema=False)
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "paperwork"),
                          autoescape=True, undefined=jinja2.StrictUndefined)
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}


@router.get("/notices/{token}", response_class=HTMLResponse)
def notice_page(token: str, uow: UowDep, now: NowDep, done: str = "") -> HTMLResponse:
    notice = notices.by_token(uow.session, token)
    html = _env.get_template("public_notice.html").render(
        notice=notice, info=notices.describe(uow.session, notice),
        status=notices.status(notice, now.date()), open=now.date() <= notice.ends_on,
        objections=notices.objections(uow.session, notice.id), done=done == "1")
    return HTMLResponse(html, headers=HEADERS)


@router.get("/notices/{token}/roster.xlsx")
def notice_xlsx(token: str, uow: UowDep) -> Response:
    notice = notices.by_token(uow.session, token)
    return Response(notices.xlsx_bytes(uow.session, notice), headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="notice-{notice.id}.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/notices/{token}/objections")
def post_objection(request: Request, token: str, uow: UowDep, now: NowDep,
                   text: Annotated[str, Form(max_length=2000)] = "",
                   contact: Annotated[str, Form(max_length=100)] = "") -> Response:
    notices.object_to(uow, token=token, text=text, contact=contact, now=now)
    return RedirectResponse(f"/public/notices/{token}?done=1", status_code=303)
