"""Administration pages: dead-letter callbacks (admins) and the audit log (admins, auditors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from proctor.domain.errors import NotFound
from proctor.portal import pages
from proctor.portal.deps import BASE, ViewerDep, int_or_none, page, redirect, require_csrf
from proctor.services import audit_log, callbacks
from proctor.storage.tables import Institution

router = APIRouter()


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters(request: Request, v: ViewerDep) -> HTMLResponse:
    """Callbacks that failed every attempt (administrators)."""
    if not v.scope.manages_callbacks:
        raise NotFound(pages.NOT_FOUND)
    number = int_or_none(request.query_params.get("page", "")) or 1
    rows, total = callbacks.dead_letters(v.uow, offset=(number - 1) * pages.PAGE_SIZE,
                                         limit=pages.PAGE_SIZE)
    names = {i.id: i.name for i in v.uow.session.query(Institution)}
    return page(request, "dead_letters.html", "dead_letters", {
        "items": [{"id": c.id, "platform": names.get(c.institution_id, ""),
                   "event_type": c.kind, "subject": c.subject, "url": c.url,
                   "attempts": c.attempts, "last_status": c.last_status_code,
                   "last_error": c.last_error or "", "first_attempt_at": c.created_at,
                   "last_attempt_at": c.next_attempt_at or c.created_at} for c in rows],
        "page": pages.page_info(number, total, lambda n: f"{BASE}/dead-letters?page={n}")})


@router.post("/dead-letters/{callback_id}/retry")
def retry_dead_letter(request: Request, v: ViewerDep, callback_id: str,
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Send a dead letter again (audited)."""
    if not v.scope.manages_callbacks:
        raise NotFound(pages.NOT_FOUND)
    require_csrf(request, csrf_token)
    callbacks.retry_dead_letter(v.uow, callback_id=callback_id, user=v.user, now=v.now)
    return redirect(f"{BASE}/dead-letters?done=retried")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, v: ViewerDep) -> HTMLResponse:
    """The audit log, newest first, with the chain verified on every view."""
    if not v.scope.reads_audit:
        raise NotFound(pages.NOT_FOUND)
    number = int_or_none(request.query_params.get("page", "")) or 1
    check = audit_log.verify(v.uow.session)
    rows = audit_log.page(v.uow.session, offset=(number - 1) * pages.PAGE_SIZE,
                          limit=pages.PAGE_SIZE)
    return page(request, "audit.html", "audit", {
        "verification": {"ok": check.ok, "checked": check.checked,
                         "broken_seq": check.broken_seq, "head": check.head or "-"},
        "entries": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                     "subject": e.subject, "payload": e.payload, "hash": e.hash}
                    for e in rows],
        "page": pages.page_info(number, audit_log.count(v.uow.session),
                                lambda n: f"{BASE}/audit?page={n}")})
