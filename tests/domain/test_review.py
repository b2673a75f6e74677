"""Review decisions in the domain: which apply, where they lead, what an overturn credits."""

from __future__ import annotations

import pytest

from proctor.domain.model import Status, Verdict
from proctor.domain.review import (
    Decision,
    PastDecision,
    Stage,
    overturned_credit,
    review_state,
    standing_status,
    status_after,
)

ME, OTHER = 7, 8


def state(status: str | None, engine: str | None = "invalid", reviewed: bool = False,
          history: tuple[PastDecision, ...] = (), can_review: bool = True):  # type: ignore[no-untyped-def]
    return review_state(status=status, engine_status=engine, reviewed=reviewed, history=history,
                        reviewer_id=ME, can_review=can_review)


def test_a_flagged_verdict_gets_a_first_review() -> None:
    s = state("invalid")
    assert (s.mode, s.closed_reason) == (Stage.FIRST, None)
    assert s.decisions == (Decision.CONFIRM_INVALID, Decision.OVERTURN)


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"status": "invalid", "can_review": False}, "只能查看"),
    ({"status": None}, "尚未评估"),
    ({"status": "pending"}, "尚未评估"),
    ({"status": "valid", "engine": "valid"}, "判定有效"),
    ({"status": "invalid", "reviewed": True}, "已复核"),
])
def test_no_form_and_why(kwargs: dict, why: str) -> None:
    s = state(**kwargs)
    assert s.mode is None and s.decisions == ()
    assert s.closed_reason is not None and why in s.closed_reason


def test_the_second_review_is_another_reviewers() -> None:
    mine = (PastDecision(ME, "overturn"),)
    assert state("under_review", history=mine).mode is None
    theirs = (PastDecision(ME, "confirm_invalid"), PastDecision(OTHER, "overturn"))
    s = state("under_review", history=theirs)
    assert s.mode == Stage.SECOND
    assert s.decisions == (Decision.APPROVE_OVERTURN, Decision.REJECT_OVERTURN)


@pytest.mark.parametrize(("decision", "second", "after"), [
    (Decision.CONFIRM_INVALID, False, Status.INVALID),
    (Decision.OVERTURN, False, Status.VALID),
    (Decision.OVERTURN, True, Status.UNDER_REVIEW),
    (Decision.APPROVE_OVERTURN, True, Status.VALID),
    (Decision.REJECT_OVERTURN, True, Status.INVALID),
])
def test_where_a_decision_leads(decision: Decision, second: bool, after: Status) -> None:
    assert status_after(decision, second_review_for_overturn=second) is after


def test_an_overturn_credits_what_was_covered_at_most_what_was_played() -> None:
    v = Verdict("invalid", 0.0, ((0.0, 300.0), (400.0, 600.0)), (), "p", "1", played_seconds=450.0)
    assert overturned_credit(v) == 450.0  # covered 500 s, but only 450 s were played
    v = Verdict("invalid", 0.0, ((0.0, 300.0),), (), "p", "1", played_seconds=450.0)
    assert overturned_credit(v) == 300.0


def test_statuses_compare_equal_to_their_old_strings() -> None:
    assert Status.UNDER_REVIEW == "under_review" and f"{Status.VALID}" == "valid"
    assert standing_status("under_review") is Status.PENDING
    assert standing_status("invalid") is Status.INVALID
