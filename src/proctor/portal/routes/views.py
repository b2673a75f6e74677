"""The read-only pages: dashboard, queue, session, learner, institution, photos."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from proctor.portal import pages
from proctor.portal.deps import BASE, RowId, ViewerDep, int_or_none, page, redirect
from proctor.portal.photos import enrolment_photo_response, photo_response

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, v: ViewerDep) -> Response:
    """Counts, flag rates by rule and by institution."""
    if v.user.role == "institution_staff":
        return redirect(f"{BASE}/institutions/{v.user.institution_id}")
    return page(request, "dashboard.html", "dashboard", pages.dashboard(v))


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, v: ViewerDep) -> HTMLResponse:
    """Flagged sessions with filters and pagination."""
    params = dict(request.query_params)
    number = int_or_none(params.get("page", "")) or 1

    def url(n: int) -> str:
        return f"{BASE}/queue?{urlencode({**params, 'page': n})}"

    return page(request, "queue.html", "queue", pages.queue(v, params, number, url))


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, v: ViewerDep, session_id: str) -> HTMLResponse:
    """Timeline, verdict with evidence, photos, the review form."""
    return page(request, "session.html", "queue",
                pages.session_page(v, session_id, dict(request.query_params)))


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
def learner_page(request: Request, v: ViewerDep, learner_id: RowId) -> HTMLResponse:
    """Identity (ID masked per role), enrolments, lesson matrix, eligibility."""
    return page(request, "learner.html", "queue", pages.learner_page(v, learner_id))


@router.get("/institutions/{institution_id}", response_class=HTMLResponse)
def institution_page(request: Request, v: ViewerDep, institution_id: RowId,
                     course: str = "") -> HTMLResponse:
    """Learners × lessons for one course (search, keyset pages), eligibility, export links."""
    context = pages.institution_page(v, institution_id, int_or_none(course),
                                     dict(request.query_params))
    return page(request, "institution.html", "institution", context)


@router.get("/photos/{photo_id}")
def photo(v: ViewerDep, photo_id: str, thumb: int = 0) -> Response:
    """A kept snapshot (or its thumbnail), for users whose scope holds the session."""
    return photo_response(v, photo_id, thumb=bool(thumb))


@router.get("/learners/{learner_id}/enrolment-photo")
def enrolment_photo(v: ViewerDep, learner_id: RowId) -> Response:
    """The enrolment photo snapshots are matched against (scope first, then bytes)."""
    return enrolment_photo_response(v, learner_id)
