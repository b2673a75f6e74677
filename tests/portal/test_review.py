"""Review decisions: they change the verdict, the lessons and eligibility; they are audited in a
hash chain that `proctor audit verify` checks; an overturn may need a second reviewer."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import World, csrf_of, make_world
from proctor.config import Settings, get_settings
from proctor.services.evaluation import evaluate_session
from proctor.services.policies import policy_for
from proctor.services.standing import standing
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import (
    AuditEntry,
    Course,
    Learner,
    ReviewDecision,
    SessionVerdict,
)

HOME, OTHER = "410105", "410223"


def _verdict(world: World, session_id: str) -> SessionVerdict:
    with session_factory(engine_for(world.settings.database_url))() as s:
        v = s.get(SessionVerdict, session_id)
        assert v is not None
        return v


def _review(client, session_id: str, decision: str, reason: str = ""):  # type: ignore[no-untyped-def]
    page = client.get(f"/portal/sessions/{session_id}")
    return client.post(f"/portal/sessions/{session_id}/review",
                       data={"decision": decision, "reason": reason,
                             "csrf_token": csrf_of(page.text)})


def _standing(world: World, county: str):  # type: ignore[no-untyped-def]
    with session_factory(engine_for(world.settings.database_url))() as s:
        learner = s.get(Learner, world.learner[county])
        course = s.get(Course, world.course[county])
        assert learner is not None and course is not None
        return standing(s, learner=learner, course=course, policy=policy_for(world.settings),
                        settings=world.settings, today=date.today())


def test_overturn_needs_a_reason_and_lifts_the_lessons_after_it(world: World) -> None:
    sid, later = world.flagged[HOME], world.cascaded[HOME]
    assert _verdict(world, sid).status == "invalid"
    assert _verdict(world, later).rules == ["LESSON_ORDER"]
    before = _standing(world, HOME)
    assert [x.state.value for x in before.lessons] == ["valid", "invalid", "invalid"]
    assert not before.eligibility.eligible
    reviewer = world.client("reviewer")

    r = _review(reviewer, sid, "overturn", "   ")
    assert r.status_code == 422
    assert "必须写明理由" in r.text
    assert _verdict(world, sid).status == "invalid"

    r = _review(reviewer, sid, "overturn", "断网重连后播放器自动跳转，平台日志为证")
    assert r.status_code == 303
    verdict = _verdict(world, sid)
    assert (verdict.status, verdict.reviewed, verdict.engine_status) == ("valid", True, "invalid")
    # the later lesson was judged again (after the commit) and no longer breaks LESSON_ORDER
    assert _verdict(world, later).status == "valid"
    after = _standing(world, HOME)
    assert [x.state.value for x in after.lessons] == ["valid", "valid", "valid"]
    assert "LESSON_INVALID" not in after.eligibility.codes
    # the decision, in the page and in the audit log
    page = reviewer.get(f"/portal/sessions/{sid}?done=reviewed").text
    assert "复核结论已保存" in page
    assert "断网重连后播放器自动跳转" in page
    with session_factory(engine_for(world.settings.database_url))() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "review.overturn"))
        assert entry is not None
        assert entry.subject == f"session:{sid}"
        assert entry.payload["from"] == "invalid" and entry.payload["to"] == "valid"
        assert entry.actor.endswith("李敏（金水区）")
    # a later re-evaluation by the engine keeps the reviewer's decision
    with unit_of_work(session_factory(engine_for(world.settings.database_url))) as uow:
        evaluate_session(uow, session_id=sid, policy=policy_for(world.settings), now=utcnow())
    assert _verdict(world, sid).status == "valid"
    # and the session is closed for further first reviews
    assert _review(reviewer, sid, "confirm_invalid").status_code == 409


def test_confirming_invalid_closes_the_review(world: World) -> None:
    sid = world.flagged[OTHER]
    reviewer = world.client("reviewer2")
    assert _review(reviewer, sid, "confirm_invalid").status_code == 303
    verdict = _verdict(world, sid)
    assert (verdict.status, verdict.reviewed) == ("invalid", True)
    assert "该会话已复核完毕" in reviewer.get(f"/portal/sessions/{sid}").text


@pytest.fixture
def two_step(settings: Settings) -> World:
    return make_world(settings.model_copy(update={"second_review_for_overturn": True}))


def test_an_overturn_waits_for_a_different_second_reviewer(two_step: World) -> None:
    world = two_step
    sid = world.flagged[HOME]
    reviewer, admin = world.client("reviewer"), world.client("admin")
    assert _review(reviewer, sid, "overturn", "学员提供了断网证明").status_code == 303
    assert _verdict(world, sid).status == "under_review"
    assert _standing(world, HOME).lessons[1].state.value == "under_review"
    # the one who overturned can't approve their own overturn
    assert "另一名复核员" in reviewer.get(f"/portal/sessions/{sid}").text
    assert _review(reviewer, sid, "approve_overturn").status_code == 409
    # rejecting needs a reason too
    assert _review(admin, sid, "reject_overturn").status_code == 422
    assert _review(admin, sid, "approve_overturn").status_code == 303
    assert _verdict(world, sid).status == "valid"
    with session_factory(engine_for(world.settings.database_url))() as s:
        stages = [(d.decision, d.stage) for d in s.scalars(
            select(ReviewDecision).where(ReviewDecision.session_id == sid)
            .order_by(ReviewDecision.id))]
    assert stages == [("overturn", "first"), ("approve_overturn", "second")]

    other = world.flagged[OTHER]
    assert _review(world.client("reviewer2"), other, "overturn", "需要再看").status_code == 303
    assert _review(admin, other, "reject_overturn", "拖动发生在正常播放中").status_code == 303
    assert _verdict(world, other).status == "invalid"


# ---------------------------------------------------------------- proctor audit verify

def _verify(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    from proctor.cli import app

    monkeypatch.setenv("PROCTOR_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_audit_verify_finds_edits_deletions_and_reordering(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for username in ("admin", "auditor", "reviewer2"):
        world.client(username)
    assert _review(world.client("reviewer"), world.flagged[HOME], "confirm_invalid").status_code \
        == 303
    code, out = _verify(world, monkeypatch)
    assert code == 0, out
    # 5, and the demo's two classes opened by their first enrolments (class.opened, one enrol path)
    assert "intact: 7 entries" in out
    factory = session_factory(engine_for(world.settings.database_url))

    # an edited payload
    with unit_of_work(factory) as uow:
        entry = uow.session.get(AuditEntry, 2)
        assert entry is not None
        original = dict(entry.payload)
        entry.payload = {**original, "ip": "10.0.0.1"}
    code, out = _verify(world, monkeypatch)
    assert code == 1
    assert "BROKEN at seq 2" in out
    with unit_of_work(factory) as uow:
        entry = uow.session.get(AuditEntry, 2)
        assert entry is not None
        entry.payload = original
    assert _verify(world, monkeypatch)[0] == 0

    # two entries swapped
    with unit_of_work(factory) as uow:
        a, b = uow.session.get(AuditEntry, 1), uow.session.get(AuditEntry, 2)
        assert a is not None and b is not None
        fields = ("at", "actor", "action", "subject", "payload", "prev_hash", "hash")
        saved = {f: getattr(a, f) for f in fields}
        for f in fields:
            setattr(a, f, getattr(b, f))
            setattr(b, f, saved[f])
    code, out = _verify(world, monkeypatch)
    assert code == 1
    assert "BROKEN at seq 1" in out
    with unit_of_work(factory) as uow:
        a, b = uow.session.get(AuditEntry, 1), uow.session.get(AuditEntry, 2)
        assert a is not None and b is not None
        for f in fields:
            va, vb = getattr(a, f), getattr(b, f)
            setattr(a, f, vb)
            setattr(b, f, va)
    assert _verify(world, monkeypatch)[0] == 0

    # the last entry deleted: the head kept apart tells
    with unit_of_work(factory) as uow:
        last = uow.session.get(AuditEntry, 5)
        uow.session.delete(last)
    code, out = _verify(world, monkeypatch)
    assert code == 1
    assert "BROKEN at seq 5" in out
    # the portal's audit page says so too
    assert "哈希链在第 5 条处断开" in world.client("auditor").get("/portal/audit").text


def test_demo_if_empty_leaves_existing_data_alone(world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from proctor.cli import app

    monkeypatch.setenv("PROCTOR_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    try:
        kept = CliRunner().invoke(app, ["demo", "--if-empty"])
        refused = CliRunner().invoke(app, ["demo"])
    finally:
        get_settings.cache_clear()
    assert kept.exit_code == 0
    assert "nothing done" in kept.output
    assert refused.exit_code == 2
