"""The one Celery app. Eager (in-process) on the embedded default, real workers with a broker.

Queues: `default` for evaluation and callbacks, `vision` for face work (its workers load dlib;
the API process never does).
"""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue

from proctor.config import Settings, get_settings
from proctor.workers.schedule import celery_beat_schedule

celery_app = Celery("proctor", include=["proctor.workers.tasks", "proctor.workers.vision_tasks",
                                         "proctor.workers.callback_tasks",
                                         "proctor.workers.county_tasks",
                                         "proctor.workers.reevaluate_tasks",
                                         "proctor.workers.partition_tasks",
                                         "proctor.workers.paperwork_tasks",
                                         "proctor.workers.reconcile_tasks"])
_current: dict[str, Settings] = {}


def configured_settings() -> Settings | None:
    """The settings this Celery app was last configured with (a worker's own). In-process tasks
    are given their app's settings instead (proctor.workers.dispatch)."""
    return _current.get("settings")


def _forget_connections() -> None:
    """Celery caches its broker pool and result backend on first use; a reconfigured app (tests,
    `proctor` commands switching databases) must not keep talking to the old ones."""
    celery_app._pool = None  # dropped, not closed: a producer may still hold it briefly
    celery_app.__dict__.pop("amqp", None)
    celery_app._backend_cache = None
    celery_app._local = threading.local()


def configure(settings: Settings) -> Celery:
    _forget_connections()
    _current["settings"] = settings
    eager = not settings.broker_url
    celery_app.conf.update(
        broker_url=settings.broker_url or "memory://",
        result_backend=settings.result_backend or (settings.broker_url if
                                                   (settings.broker_url or "").startswith("redis")
                                                   else None),
        task_always_eager=eager,
        # In-process, a failing task must not fail the request that already committed its data;
        # its error is logged and the work can be redone (e.g. `proctor reevaluate`).
        task_eager_propagates=False,
        task_default_queue="default",
        task_queues=(Queue("default"), Queue("vision")),
        task_routes={"proctor.vision.*": {"queue": "vision"}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        beat_schedule=celery_beat_schedule(settings),
    )
    return celery_app


configure(get_settings())


def task_settings() -> Settings:
    """The running task's settings (proctor.workers.dispatch.task_settings), kept here for the
    task modules that import it from this module."""
    from proctor.workers.dispatch import task_settings as current

    return current()
