"""ORM tables. Importing this package registers every table on Base.metadata."""

from proctor.storage.tables.registry import (
    Course,
    Enrolment,
    Institution,
    Learner,
    Lesson,
    PlatformKey,
    User,
)
from proctor.storage.tables.study import StudySession, TelemetryEvent, WebhookReceipt

__all__ = [
    "Course",
    "Enrolment",
    "Institution",
    "Learner",
    "Lesson",
    "PlatformKey",
    "StudySession",
    "TelemetryEvent",
    "User",
    "WebhookReceipt",
]
