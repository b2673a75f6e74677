"""The assessment body's API: recording offline exams (结业考核) for the county (docs/API.md).

Auth: an assessor key (``proctor county assessor-key``), never a platform key. Requests are
signed the Standard Webhooks way like a platform's, with ``X-Proctor-Assessor-Key: <key id>``;
the key reaches only exams of institutions in its county.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.concurrency import run_in_threadpool

from proctor.api.deps import BodyDep, NowDep, SettingsDep, UowDep
from proctor.api.openapi import json_body
from proctor.api.routes._util import parse_model
from proctor.domain.eligibility import add_months
from proctor.domain.errors import Unauthorized
from proctor.domain.ids import mask_id_number
from proctor.schemas.county import ExamIn, ExamOut
from proctor.services.county import exams
from proctor.services.standing import eligibility_rules
from proctor.signing import BytesWebhook
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import Course, Institution, Learner

router = APIRouter(prefix="/v1/county", tags=["county"])
HEADER = "x-proctor-assessor-key"


@dataclass(frozen=True)
class Assessor:
    key_id: str
    county_code: str


def _authenticate(uow: UnitOfWork, guard: object, headers: dict[str, str], body: bytes
                  ) -> Assessor:
    key_id = headers.get(HEADER)
    if not key_id:
        raise Unauthorized("missing X-Proctor-Assessor-Key header (platform keys cannot record "
                           "exams)")
    key = exams.active_assessor_key(uow.session, key_id)
    if key is None:
        raise Unauthorized("unknown or revoked assessor key")
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name):
            raise Unauthorized(f"missing {name} header")
    try:
        BytesWebhook(key.secret).verify_bytes(body, headers)
    except WebhookVerificationError as exc:
        reason = str(exc)
        if "too old" in reason or "too new" in reason:
            raise Unauthorized(f"webhook-timestamp is more than 5 minutes off ({reason})") from None
        raise Unauthorized("signature does not match") from None
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("malformed webhook-signature header or body") from None
    if not guard.claim(uow, key.key_id, headers["webhook-id"]):  # type: ignore[attr-defined]
        raise Unauthorized("webhook-id was already used (replay refused)")
    return Assessor(key.key_id, key.county_code)


async def get_assessor(request: Request, uow: UowDep, body: BodyDep) -> Assessor:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(_authenticate, uow, request.app.state.replay_guard, headers,
                                   body)


AssessorDep = Annotated[Assessor, Depends(get_assessor)]


@router.post("/exams", response_model=ExamOut, status_code=201,
             responses={200: {"model": ExamOut, "description": "an existing sitting corrected"}},
             openapi_extra=json_body(ExamIn))
def post_exam(body: BodyDep, assessor: AssessorDep, uow: UowDep, settings: SettingsDep,
              now: NowDep) -> JSONResponse:
    """Record (or correct) who sat which exam when, with the result."""
    data = parse_model(body, ExamIn)
    rules = eligibility_rules(settings)
    row, created = exams.record_exam(
        uow, data=exams.ExamInput(data.id_number, data.institution, data.course_id, data.exam_on,
                                  data.result, data.score),
        county_codes=(assessor.county_code,), recorded_by=f"assessor:{assessor.key_id}",
        exam_months=rules.exam_months, settings=settings, today=now.date(), now=now)
    s = uow.session
    inst, course, learner = (s.get(Institution, row.institution_id), s.get(Course, row.course_id),
                             s.get(Learner, row.learner_id))
    assert inst is not None and course is not None and learner is not None
    out = ExamOut(exam_id=row.id, id_number_masked=mask_id_number(learner.id_number),
                  institution=inst.name, course_id=course.ext_id, class_batch=row.class_batch,
                  exam_on=row.exam_on, result=row.result, score=row.score, created=created,
                  no_new_subsidised_class_before=(add_months(row.exam_on, rules.cooldown_months)
                                                  if row.result != "absent" else None))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)
