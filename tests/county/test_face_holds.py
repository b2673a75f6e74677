"""The faces 1:N search's "same face under another ID number" opens a county case (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from proctor.config import Settings
from proctor.domain.policy import load_policy
from proctor.services.county.checks import check_day
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import CountyCase, Learner
from tests.face_flows import OBAMA, OBAMA2, photo
from tests.factories import Platform, resident_id

pytestmark = pytest.mark.face
# the policy's SFace threshold (derived on data, docs/faces.md): never pinned here
THRESHOLD = load_policy("henan-2021").match_distance


def test_one_face_under_two_id_numbers_opens_a_county_case(
        platform: Platform, other_platform: Platform, settings: Settings) -> None:
    platform.learner("stu-1", id_number=resident_id(seq=61))
    other_platform.learner("stu-7", id_number=resident_id(region="410223", seq=62))
    for p, ext, image in ((platform, "stu-1", OBAMA), (other_platform, "stu-7", OBAMA2)):
        r = p.api.upload(f"/v1/learners/{ext}/face", [("face.jpg", photo(image))])
        assert r.status_code == 201, r.text
    assert r.json()["status"] == "held"
    now = datetime.now(UTC)
    factory = session_factory(engine_for(settings.database_url))
    with unit_of_work(factory) as uow:
        day = (now + timedelta(hours=8)).date()
        result = check_day(uow, day=day, settings=settings, now=now)
        assert result.opened == 1
        case = uow.session.scalar(select(CountyCase).where(CountyCase.rule == "FACE_TWO_IDS"))
        assert case is not None
        learners = {x.ext_id for x in uow.session.scalars(
            select(Learner).where(Learner.id.in_(case.learner_ids)))}
        assert learners == {"stu-1", "stu-7"}
        assert case.evidence["distance"] <= THRESHOLD
        # Run again: the same finding extends the case, it opens no second one.
        assert check_day(uow, day=day, settings=settings, now=now).opened == 0
