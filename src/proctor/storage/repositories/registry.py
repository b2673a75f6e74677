"""Queries on institutions, keys, courses, lessons, learners and enrolments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from proctor.storage.db import pg_connection
from proctor.storage.tables import Course, Enrolment, Institution, Learner, Lesson, PlatformKey


def active_key(session: Session, key_id: str) -> PlatformKey | None:
    key = session.get(PlatformKey, key_id)
    return key if key is not None and key.revoked_at is None else None


@dataclass(frozen=True, slots=True)
class SigningKey:
    key_id: str
    institution_id: int
    secret: str


def signing_key(session: Session, key_id: str) -> SigningKey | None:
    """What request signatures are checked with: an active (not revoked) key, read on every
    signed request, so a revocation holds from the next request on (nothing is cached)."""
    raw = pg_connection(session)
    if raw is None:
        key = active_key(session, key_id)
        return None if key is None else SigningKey(key.key_id, key.institution_id, key.secret)
    with raw.cursor() as cur:  # one plain round trip: the ORM's get cost more than the lookup
        cur.execute("SELECT key_id, institution_id, secret FROM platform_keys "
                    "WHERE key_id = %s AND revoked_at IS NULL", (key_id,))
        row = cur.fetchone()
    return None if row is None else SigningKey(*row)


def institution_by_name(session: Session, name: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.name == name))


def course(session: Session, institution_id: int, ext_id: str, *,
           with_lessons: bool = False) -> Course | None:
    stmt = select(Course).where(Course.institution_id == institution_id, Course.ext_id == ext_id)
    if with_lessons:
        stmt = stmt.options(selectinload(Course.lessons))
    return session.scalar(stmt)


def lessons_of(session: Session, course_id: int) -> list[Lesson]:
    return list(session.scalars(select(Lesson).where(Lesson.course_id == course_id).order_by(Lesson.seq)))


def learner(session: Session, institution_id: int, ext_id: str) -> Learner | None:
    return session.scalar(
        select(Learner).where(Learner.institution_id == institution_id, Learner.ext_id == ext_id)
    )


def enrolment(session: Session, learner_id: int, course_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(Enrolment.learner_id == learner_id, Enrolment.course_id == course_id)
    )
