"""ORM tables. Importing this package registers every table on Base.metadata."""

from proctor.storage.tables.county import (
    AssessorKey,
    CountyCase,
    CountyCaseInstitution,
    CountyCaseSession,
    CountyExam,
    CountySessionFact,
)
from proctor.storage.tables.evidence import Challenge, FaceTemplate, Photo, SessionVerdict
from proctor.storage.tables.faces import FaceEnrolment, FaceIdentityHold
from proctor.storage.tables.paperwork import (
    Leave,
    Notice,
    Objection,
    Rectification,
    Report,
    SurveyResponse,
    TrainingClass,
)
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
    LoginCounter,
    PortalLogin,
    ReviewDecision,
)
from proctor.storage.tables.study import StudySession, TelemetryEvent, WebhookReceipt

__all__ = [
    "Leave",
    "Notice",
    "Objection",
    "Rectification",
    "Report",
    "SurveyResponse",
    "TrainingClass",
    "AssessorKey",
    "CountyCase",
    "CountyCaseInstitution",
    "CountyCaseSession",
    "CountyExam",
    "CountySessionFact",
    "AuditEntry",
    "AuditHead",
    "Callback",
    "LoginAttempt",
    "LoginCounter",
    "PortalLogin",
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
