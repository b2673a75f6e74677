"""Where enqueued jobs go: to the broker, or run in this process with the settings given.

A unit of work enqueues jobs by name (proctor.services.jobs); its session factory carries a
:class:`Sender` bound to the settings of the app (or worker) that made it. With a broker the job
is sent by name; without one (the embedded default) it runs here, after the commit, with those
settings passed to it explicitly: two apps in one process each keep their own database.
In-process, a job with a countdown is not run: the embedded beat's recheck round settles it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from proctor.config import Settings, get_settings
from proctor.storage.db import (
    Job,
    UnitOfWork,
    engine_for,
    session_factory,
    set_fallback_sender,
    unit_of_work,
)
from proctor.workers.celery_app import celery_app, configured_settings

log = logging.getLogger("proctor.jobs")
_running_with: ContextVar[Settings | None] = ContextVar("proctor_task_settings", default=None)


def task_settings() -> Settings:
    """The settings the running task was given (in-process); else those the Celery app was last
    configured with (a worker's); else the environment's."""
    return _running_with.get() or configured_settings() or get_settings()


@contextlib.contextmanager
def running_with(settings: Settings) -> Iterator[None]:
    token = _running_with.set(settings)
    try:
        yield
    finally:
        _running_with.reset(token)


def run_inline(settings: Settings, name: str, *args: Any, **kwargs: Any) -> Any:
    """Run task ``name`` here and now with ``settings``; its return value, or None if it failed
    (Celery logs the error; the work can be redone)."""
    import proctor.workers.tasks  # noqa: F401  registers every task (callbacks, vision too)

    celery_app.loader.import_default_modules()  # and those of every module in `include`

    with running_with(settings):
        result = celery_app.tasks[name].apply(args=args, kwargs=kwargs)
    return result.result if result.successful() else None


class Sender:
    """Sends the jobs of units of work made for ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, job: Job) -> None:
        if self.settings.broker_url:
            celery_app.send_task(job.name, args=list(job.args), countdown=job.countdown_s)
        elif job.countdown_s:
            log.debug("in-process: %s%r left to the embedded beat", job.name, job.args)
        else:
            run_inline(self.settings, job.name, *job.args)


def factory_for(settings: Settings) -> sessionmaker[Session]:
    """Sessions on the settings' database whose jobs go where the settings say."""
    return session_factory(engine_for(settings.database_url, settings.db_echo),
                           jobs=Sender(settings))


def task_uow() -> contextlib.AbstractContextManager[UnitOfWork]:
    """A unit of work on the running task's database (its follow-up jobs keep its settings)."""
    return unit_of_work(factory_for(task_settings()))


# Sessions from a factory made without a sender (scripts, tests) send like the running task.
set_fallback_sender(lambda job: Sender(task_settings())(job))
