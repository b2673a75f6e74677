"""One person across institutions: linking learners by person key, and the county's record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.errors import NotFound
from proctor.services.county.keys import hash_id_number
from proctor.services.scope import Scope
from proctor.storage.repositories import county as repo
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.tables import (
    CountyCase,
    CountyCaseInstitution,
    CountyExam,
    Course,
    Enrolment,
    Institution,
    Learner,
    SessionVerdict,
    StudySession,
)

NOT_FOUND = "没有找到该人员，或不在您的权限范围内。"


def link_missing(s: Session, settings: Settings, *, batch: int = 1000) -> int:
    """Give learners registered without a person key (older code paths) their key."""
    done = 0
    while rows := repo.learners_without_person_key(s, batch):
        for learner in rows:
            learner.id_hash = hash_id_number(learner.id_number, settings)
        s.flush()
        done += len(rows)
    return done


def person_of(learner: Learner, settings: Settings) -> str:
    return learner.id_hash or hash_id_number(learner.id_number, settings)


@dataclass(frozen=True)
class PersonRecord:
    person: str
    learners: list[Learner]
    institutions: dict[int, Institution]
    enrolments: list[tuple[Enrolment, Course]]
    sessions: list[StudySession]
    verdicts: dict[str, SessionVerdict]
    exams: list[CountyExam]
    cases: list[CountyCase]

    def id_number(self, scope: Scope) -> str:
        return scope.id_number(self.learners[0].id_number)


def person_record(s: Session, *, person: str, scope: Scope) -> PersonRecord:
    """Everything the county holds of one person, any institution, for a role that may see the
    county's view (county reviewers, administrators, auditors with masked IDs). A reviewer must
    have at least one of the person's institutions in their counties; institution staff never
    reach this view (their institution's learner page is theirs)."""
    if scope.role not in ("admin", "county_reviewer", "auditor"):
        raise NotFound(NOT_FOUND)
    learners = repo.learners_of_person(s, person)
    institutions = repo.institutions_by_id(s, sorted({x.institution_id for x in learners}))
    if not learners or not any(scope.covers_institution(i) for i in institutions.values()):
        raise NotFound(NOT_FOUND)
    ids = [x.id for x in learners]
    sessions = repo.sessions_of_learners(s, ids)
    cases = [c for c in repo.cases_in_scope(s, scope.covers(CountyCaseInstitution.institution_id),
                                            limit=500)
             if set(c.learner_ids) & set(ids)]
    return PersonRecord(person, learners, institutions, repo.enrolments_of_learners(s, ids),
                        sessions, ev_repo.verdicts_for(s, [x.id for x in sessions]),
                        repo.exams_of_person(s, person), cases)


def person_of_learner(s: Session, *, learner_id: int, settings: Settings) -> str:
    learner = s.get(Learner, learner_id)
    if learner is None:
        raise NotFound(NOT_FOUND)
    return person_of(learner, settings)


