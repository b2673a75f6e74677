"""Face tasks (queue `vision`: these workers load dlib) and the evidence retention sweep.

Thin: ids in, one service call, evaluation enqueued after the commit. Face models are imported
inside the tasks, so importing this module (as the API does to enqueue) never loads dlib.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import OperationalError

from proctor.services import jobs
from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


def _now(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else utcnow()


@celery_app.task(name=jobs.ENROL_FACE, autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def enrol_face_task(enrolment_id: str, now_iso: str | None = None) -> str:
    """Judge an enrolment photo; the learner's template changes if it is accepted."""
    from proctor.services.face_checks import process_enrolment
    from proctor.services.policies import policy_for
    from proctor.storage.blobs import blob_store_from_settings

    settings = task_settings()
    with task_uow() as uow:
        row = process_enrolment(uow, enrolment_id=enrolment_id,
                                store=blob_store_from_settings(settings),
                                policy=policy_for(settings), models_dir=settings.models_dir,
                                now=_now(now_iso))
        return row.status


@celery_app.task(name=jobs.VERIFY_CHALLENGE, autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def verify_challenge_task(challenge_id: str, now_iso: str | None = None) -> str:
    """Judge the photos of a photo/liveness challenge, then re-judge its session."""
    from proctor.services.face_checks import judge_challenge
    from proctor.services.policies import policy_for
    from proctor.storage.blobs import blob_store_from_settings

    settings = task_settings()
    with task_uow() as uow:
        c = judge_challenge(uow, challenge_id=challenge_id,
                            store=blob_store_from_settings(settings),
                            policy=policy_for(settings), models_dir=settings.models_dir,
                            now=_now(now_iso))
        session_id, outcome = c.session_id, c.outcome
        uow.enqueue(jobs.EVALUATE_SESSION, session_id, now_iso)
    return outcome


@celery_app.task(name=jobs.PURGE_PHOTOS)
def purge_evidence_task(now_iso: str | None = None) -> dict[str, int]:
    """Delete photo files older than settings.photo_retention_days (records are kept)."""
    from proctor.services.retention import purge_photos
    from proctor.storage.blobs import blob_store_from_settings

    settings = task_settings()
    with task_uow() as uow:
        report = purge_photos(uow, store=blob_store_from_settings(settings), now=_now(now_iso),
                              retention_days=settings.photo_retention_days)
    return {"photos": report.photos, "blobs_deleted": report.blobs_deleted}
