"""Subsidy roster notices (公示): published by the institution's platform for one class."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from proctor.api.deps import NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.routes._util import ExtIdPath
from proctor.services import notices
from proctor.services.policies import policy_for

router = APIRouter(prefix="/v1", tags=["paperwork"])


class NoticeOut(BaseModel):
    id: int
    url: str
    starts_on: date
    ends_on: date
    review_due_on: date
    learners: int
    status: str


@router.post("/classes/{course_id}/{batch}/notice", response_model=NoticeOut, status_code=201)
def post_notice(course_id: ExtIdPath, batch: ExtIdPath, platform: PlatformDep, uow: UowDep,
                settings: SettingsDep, now: NowDep) -> NoticeOut:
    """Publish the class's subsidy roster (the eligible learners, masked) for public notice of
    `notice_working_days` Chinese working days; the review is due `review_working_days` after."""
    n = notices.publish(uow, institution_id=platform.institution_id, course_ext=course_id,
                        batch=batch, actor=f"platform:{platform.key_id}", settings=settings,
                        policy=policy_for(settings), now=now)
    return NoticeOut(id=n.id, url=f"{settings.public_base_url}/public/notices/{n.token}",
                     starts_on=n.starts_on, ends_on=n.ends_on, review_due_on=n.review_due_on,
                     learners=len(n.roster), status=notices.status(n, now.date()))
