"""Factories: valid learners, courses and sessions made through the signed HTTP API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from proctor.client import ProctorClient
from proctor.config import Settings
from proctor.domain.ids import check_digit
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work

_counter = itertools.count(1)


def resident_id(region: str = "410105", born: str = "19900307", seq: int | None = None) -> str:
    """A resident ID number with a correct GB 11643 check digit."""
    first17 = f"{region}{born}{(seq if seq is not None else next(_counter)) % 1000:03d}"
    return first17 + check_digit(first17)


@dataclass
class Platform:
    api: ProctorClient
    key_id: str
    secret: str
    institution: str
    county: str

    def course(self, course_id: str = "elec-101", lessons: int = 3, duration_s: float = 2400,
               class_hours: float = 1.0, **extra: Any) -> dict[str, Any]:
        # an annex-3 occupation of row 2 (config/occupations.toml): its plan holds 8 offline hours
        body = {"title": "电子商务师（网店运营）", "occupation": "电子商务师",
                "offline_practical_hours": 8, "required_class_hours": lessons * class_hours,
                "lessons": [{"id": f"L{i}", "seq": i, "title": f"第{i}课", "duration_s": duration_s,
                             "class_hours": class_hours} for i in range(1, lessons + 1)]}
        body.update(extra)
        r = self.api.put(f"/v1/courses/{course_id}", body)
        assert r.status_code == 200, r.text
        return r.json()

    def learner(self, learner_id: str = "stu-1", name: str = "张伟", **extra: Any) -> dict[str, Any]:
        body = {"real_name": name, "id_number": resident_id(), **extra}
        r = self.api.put(f"/v1/learners/{learner_id}", body)
        assert r.status_code == 200, r.text
        return r.json()

    def enrol(self, learner_id: str = "stu-1", course_id: str = "elec-101") -> dict[str, Any]:
        r = self.api.put(f"/v1/enrolments/{learner_id}/{course_id}",
                         {"class_batch": "2026-11-A", "start_date": "2026-11-01"})
        assert r.status_code == 200, r.text
        return r.json()

    def session(self, learner_id: str = "stu-1", course_id: str = "elec-101",
                lesson_id: str = "L1") -> dict[str, Any]:
        r = self.api.post("/v1/sessions", {"learner_id": learner_id, "course_id": course_id,
                                           "lesson_id": lesson_id,
                                           "client": {"user_agent": "pytest", "device_id": "d1"}})
        assert r.status_code == 201, r.text
        return r.json()

    def ready_session(self) -> str:
        self.course()
        self.learner()
        self.enrol()
        return str(self.session()["session_id"])


def issue_key(settings: Settings, client: TestClient, institution: str, county: str) -> Platform:
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        issued = issue_platform_key(uow, institution=institution, county_code=county)
    api = ProctorClient(key_id=issued.key_id, secret=issued.secret, http=client)
    return Platform(api, issued.key_id, issued.secret, institution, county)


def ts(offset_s: float = 0.0, base: datetime | None = None) -> str:
    """RFC 3339 with offset and milliseconds, as platforms send it."""
    at = (base or datetime.now(UTC)) + timedelta(seconds=offset_s)
    return at.isoformat(timespec="milliseconds")


def heartbeats(session_id: str, n: int, *, start_seq: int = 1, prefix: str = "ev",
               step_s: float = 10.0) -> list[dict[str, Any]]:
    base = datetime.now(UTC) - timedelta(seconds=n * step_s)
    return [{"id": f"{prefix}-{session_id[:8]}-{start_seq + i}", "session_id": session_id,
             "seq": start_seq + i, "ts": ts(i * step_s, base), "type": "heartbeat",
             "position": i * step_s, "rate": 1.0, "visible": True, "focused": True}
            for i in range(n)]
