"""Review decisions (services/review.py decides who may take which)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from proctor.domain.errors import Forbidden, NotFound, ProctorError
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
