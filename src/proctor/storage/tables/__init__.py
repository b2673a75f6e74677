"""ORM tables. Importing this package registers every table on Base.metadata."""

from proctor.storage.tables.evidence import Challenge, FaceTemplate, Photo, SessionVerdict
from proctor.storage.tables.faces import FaceEnrolment, FaceIdentityHold
from proctor.storage.tables.registry import (
    Course,
    Enrolment,
    Institution,
    Learner,
    Lesson,
    PlatformKey,
    User,
)
from proctor.storage.tables.review import (
    AuditEntry,
    AuditHead,
    Callback,
    LoginAttempt,
    ReviewDecision,
)
from proctor.storage.tables.study import StudySession, TelemetryEvent, WebhookReceipt

__all__ = [
    "AuditEntry",
    "AuditHead",
    "Callback",
    "LoginAttempt",
    "ReviewDecision",
    "Challenge",
    "FaceTemplate",
    "FaceEnrolment",
    "FaceIdentityHold",
    "Photo",
    "SessionVerdict",
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
