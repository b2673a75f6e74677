"""Review decisions (services/review.py decides who may take which)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from proctor.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ProctorError
from proctor.portal import pages
from proctor.portal.deps import BASE, ViewerDep, page, redirect, require_csrf
from proctor.services import review

router = APIRouter()


@router.post("/sessions/{session_id}/review")
def decide(request: Request, v: ViewerDep, session_id: str,
           decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """A review decision; shown again with the error when it can't be taken."""
    require_csrf(request, csrf_token)
    try:
        review.decide(v.uow, user=v.user, session_id=session_id, decision=decision,
                      reason=reason, settings=v.settings, policy=v.policy, now=v.now)
    except (NotFound, Forbidden):
        raise
    except ProctorError as exc:
        context = pages.session_page(v, session_id, {})
        context["review"].update(form_error=exc.message, decision_value=decision,
                                 reason_value=reason)
        return page(request, "session.html", "queue", context, exc.status)
    return redirect(f"{BASE}/sessions/{session_id}?done=reviewed")


MAX_BULK = 200


@router.post("/queue/bulk-review")
async def bulk_review(request: Request, v: ViewerDep) -> Response:
    """维持无效 for every ticked session awaiting a first review, with one reason; sessions the
    decision no longer applies to (reviewed meanwhile) are skipped and counted."""
    form = await request.form()
    require_csrf(request, str(form.get("csrf_token", "")))
    if not v.scope.can_review:
        raise Forbidden("当前账号不能作出复核结论")
    ids = [str(x) for x in form.getlist("session_ids")][:MAX_BULK]
    reason = str(form.get("reason", "")).strip()
    if not ids:
        raise InvalidInput("请先勾选要维持无效的会话", field="session_ids")
    if not reason:
        raise InvalidInput("批量维持无效须写明理由", field="reason")
    done = skipped = 0
    for sid in ids:
        try:
            await run_in_threadpool(
                review.decide, v.uow, user=v.user, session_id=sid, decision="confirm_invalid",
                reason=reason, settings=v.settings, policy=v.policy, now=v.now)
            done += 1
        except Conflict:
            skipped += 1
    return redirect(f"{BASE}/queue?done=bulk_reviewed&n={done}&skipped={skipped}")
