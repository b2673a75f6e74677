"""Enrolment photos and challenge photos: what the service answers (never a face template)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class FaceStatusOut(BaseModel):
    learner_id: str
    status: str = Field(description="none | pending | enrolled | rejected | held (1:N identity "
                        "review by the county): the latest photo's fate (a rejected retry "
                        "leaves an earlier template in force)")
    reasons: list[str] = Field(description="why the latest photo was rejected")
    submission_id: str | None
    submitted_at: datetime | None
    enrolled: bool = Field(description="a face template is in force for this learner")
    enrolled_at: datetime | None
    source: str | None = Field(None, description="how the latest submission was taken: `photo` "
                               "(one upload, not live), `burst` (an enrolment liveness check) "
                               "or `staff_reviewed`")
    live: bool = Field(False, description="the latest submission passed a liveness check")


class FaceLivenessCheckOut(BaseModel):
    learner_id: str
    submission_id: str
    kind: str = "liveness"
    action: str
    prompt: str
    frames: list[int] = Field(description="how many frames to send: [min, max]")
    upload_url: str
    expires_at: datetime = Field(description="the burst must arrive before this (410 after)")


class ProcessingOut(BaseModel):
    status: str = Field("processing", description="the face pipeline will judge it shortly")
    status_url: str


class FaceProcessingOut(ProcessingOut):
    learner_id: str
    submission_id: str


class PhotoOut(BaseModel):
    photo_id: str
    frame_index: int
    outcome: str = Field(description="pending | match | mismatch | no_face | multiple_faces | "
                         "poor_quality | spoof | near_duplicate (too close to an earlier "
                         "photo: take a new one at once) | no_enrolment")
    reasons: list[str]


class ChallengePhotosOut(BaseModel):
    challenge_id: str
    kind: str
    status: str = Field(description="passed | failed | pending (being judged, or a retry is "
                        "allowed: send another photo) | expired")
    reasons: list[str]
    retries_left: int | None = Field(None, description="photo: further photos this challenge "
                                     "takes after a bad one")
    photos: list[PhotoOut]
    session_ended: str | None = Field(None, description="set when this failure ended the "
                                      "session: the retry bound reached (e.g. "
                                      "`challenge_attempts_exhausted:liveness:3`)")


class ChallengeProcessingOut(ProcessingOut):
    challenge_id: str
    photos: list[PhotoOut]
