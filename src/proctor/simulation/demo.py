"""Use case: a demo data set for a first look at the portal (`proctor demo`).

Two institutions in two counties, one course each, a handful of learners. Every sitting is acted
out by the simulator (honest learners, and cheats from its scenarios), then stored the way a
platform's would be: the session opened by services.study_sessions, the telemetry delivered in
its batches through services.ingest, and judged by services.evaluation, in time order.

One thing is a stand-in: the snapshots are drawn pictures, and their face outcomes (match,
mismatch, no face, spoof …) are the ones the simulator's learner produced, not the vision
pipeline's (it needs real faces). The rules judge them like any other outcome.
"""

from __future__ import annotations

import hashlib
import io
import random
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from proctor.config import Settings
from proctor.domain.ids import check_digit
from proctor.domain.policy import Policy
from proctor.schemas.registry import CourseIn, EnrolmentIn, LearnerIn, LessonIn
from proctor.schemas.telemetry import ClientInfo, SessionIn
from proctor.services import registration
from proctor.services.challenges import plan_to_json
from proctor.services.evaluation import domain_lesson, evaluate_session
from proctor.services.ingest import ingest_events
from proctor.services.standing import eligibility_rules
from proctor.services.study_sessions import open_session
from proctor.services.users import create_user
from proctor.simulation.delivery import deliver
from proctor.simulation.engine_driver import EngineGateway
from proctor.simulation.learner import RawEvent, act_session
from proctor.simulation.scenarios import HONEST, SCENARIOS, Behaviour
from proctor.storage import blobs
from proctor.storage.blobs import blob_store_from_settings as blob_store
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import Challenge, Institution, Photo

COUNTY_REVIEWED = "410105"
# Annex 3 occupations (config/occupations.toml), both of row 2: 8 offline practical hours each.
INSTITUTIONS = (("郑州市金水区阳光职业培训学校", "410105", "elec-101", "电子商务师（网店运营）",
                 "电子商务师"),
                ("开封市尉氏县家政服务培训学校", "410223", "care-201", "收银员（初级）", "收银员"))
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周强", "吴丽")
# Learner i's plan: which lesson (1-based) is sat with which cheat; None = all honest.
# A cheat on an early lesson also makes the later ones invalid (LESSON_ORDER): learner 1 shows
# that cascade, and how an overturn on review lifts it.
CHEATS: dict[int, tuple[int, str]] = {
    1: (2, "background_tab"), 2: (4, "seek_forward"), 3: (4, "stand_in"),
    4: (4, "skipped_popups"), 5: (4, "speed_2.0"), 6: (3, "away_from_camera"),
}
LESSON_TITLES = {"elec-101": ("电子商务基础", "网店开设与装修", "商品发布与营销", "客户服务与售后",
                              "跨境电商实务"),
                 "care-201": ("职业道德与服务规范", "收银机操作", "现金与票据识别", "移动支付与结算",
                              "商品扫码与防损")}
SKIPS_LESSON = 7  # this learner jumps from lesson 1 to lesson 3 (LESSON_ORDER)
LESSONS = 4
# Uploads arriving within this many seconds are stored as one batch: far fewer transactions
# for the demo, and still well inside the policy's late-telemetry allowance.
UPLOAD_WINDOW_S = 30.0
DAYS_SPREAD = 18
TONES = {"match": "#4b6a88", "mismatch": "#7a4b4b", "spoof": "#6b4b7a", "no_face": "#555555",
         "multiple_faces": "#7a6a4b", "poor_quality": "#8a8a8a"}


@dataclass
class DemoSummary:
    institutions: list[str] = field(default_factory=list)
    sessions: int = 0
    flagged: int = 0
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # username -> role, password


def is_empty(uow: UnitOfWork) -> bool:
    return uow.session.query(Institution.id).first() is None


def _id_number(region: str, rng: random.Random) -> str:
    born = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
    first17 = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + check_digit(first17)


def _picture(outcome: str, label: str) -> bytes:
    """A drawn stand-in for a webcam frame (faces drawn as the outcome says)."""
    img = Image.new("RGB", (320, 240), TONES.get(outcome, "#4b6a88"))
    draw = ImageDraw.Draw(img)
    faces = {"no_face": 0, "multiple_faces": 2}.get(outcome, 1)
    for i in range(faces):
        cx = 160 + (i - (faces - 1) / 2) * 110
        draw.ellipse((cx - 42, 50, cx + 42, 150), fill="#e8c9a8")
        draw.pieslice((cx - 70, 150, cx + 70, 300), 180, 360, fill="#5c6b7a")
    draw.text((8, 220), label, fill="#ffffff")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _event_json(raw: RawEvent, sid: str, client_ts: float) -> dict[str, Any]:
    ev: dict[str, Any] = {"id": f"{sid[:8]}-{raw.seq}", "session_id": sid, "seq": raw.seq,
                          "ts": datetime.fromtimestamp(client_ts, UTC)
                          .isoformat(timespec="milliseconds"), "type": raw.type}
    if raw.type in ("play", "pause", "lesson.complete"):
        ev["position"] = raw.position
    elif raw.type == "seek":
        ev["from"], ev["to"] = raw.from_pos, raw.to_pos
    elif raw.type == "ratechange":
        ev["rate"] = raw.rate
    elif raw.type == "heartbeat":
        ev.update(position=raw.position, rate=raw.rate, visible=raw.visible,
                  focused=raw.focused)
    elif raw.type in ("visibility", "focus"):
        ev["state"] = raw.state
    return ev


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _sit(uow: UnitOfWork, *, inst_id: int, learner_ext: str, course_ext: str, lesson: Any,
         behaviour: Behaviour, start_t: float, policy: Policy, rng: random.Random,
         store: blobs.BlobStore, settings: Settings) -> str:
    """One sitting: act it out, store it as a platform would send it, judge it."""
    study, _, _, _ = open_session(uow, institution_id=inst_id, now=_at(start_t), data=SessionIn(
        learner_id=learner_ext, course_id=course_ext, lesson_id=lesson.ext_id,
        client=ClientInfo(user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0",
                          device_id=f"dev-{learner_ext}",
                          ip=f"171.8.{rng.randrange(256)}.{rng.randrange(256)}")))
    gateway = EngineGateway(study.id, policy, domain_lesson(lesson), rng)
    study.challenge_plan = plan_to_json(gateway.plan)
    script = act_session(behaviour, lesson.duration_s, 0.0, start_t, rng, gateway)
    gateway.close(script.closed_at + policy.challenge_expiry_s + 1)
    s = uow.session
    ids = {}
    for c in gateway.challenges:
        ids[c.id] = str(uuid.uuid4())
        s.add(Challenge(id=ids[c.id], session_id=study.id, institution_id=inst_id, kind=c.kind,
                        prompt={"confirm": "请点击继续学习", "photo": "随机抓拍",
                                "liveness": "请眨眨眼"}[c.kind],
                        plan_index=c.plan_index, issued_playback_s=c.issued_playback_s,
                        issued_at=_at(c.issued_at), expires_at=_at(c.expires_at),
                        answered_at=_at(c.answered_at) if c.answered_at else None,
                        received_at=_at(c.answered_at) if c.answered_at else None,
                        outcome=c.outcome))
    s.flush()
    for p in gateway.photos:
        data = _picture(p.outcome, _at(p.taken_at).strftime("%H:%M:%S"))
        stored = store.put(data, "image/jpeg")
        thumb = store.put(blobs.thumbnail(data), "image/jpeg")
        s.add(Photo(id=str(uuid.uuid4()), session_id=study.id, challenge_id=ids[p.challenge_id],
                    learner_id=study.learner_id, institution_id=inst_id,
                    taken_at=_at(p.taken_at), blob_key=stored.key, thumb_key=thumb.key,
                    sha256=hashlib.sha256(data).hexdigest(), content_type="image/jpeg",
                    width=320, height=240, outcome=p.outcome, distance=p.distance,
                    reasons=list(p.reasons), processed_at=_at(p.taken_at + 1)))
    s.flush()
    batches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    arrived: dict[int, float] = {}
    for d in deliver(script.events, behaviour, rng, opened_at=script.opened_at,
                     closed_at=script.closed_at):
        window = int(d.server_ts // UPLOAD_WINDOW_S)
        batches[window].append(_event_json(d.raw, study.id, d.client_ts))
        arrived[window] = max(arrived.get(window, 0.0), d.server_ts)
    for window, events in sorted(batches.items()):
        for start in range(0, len(events), settings.max_batch_events):
            ingest_events(uow, institution_id=inst_id,
                          body={"events": events[start:start + settings.max_batch_events]},
                          received_at=_at(arrived[window]), max_events=settings.max_batch_events)
    # Judged once nothing can change by the clock any more: open challenges expired and no batch
    # still in flight (the engine holds a verdict `late_telemetry_s` after the last arrival).
    last_arrival = max(arrived.values(), default=script.closed_at)
    settled = max(script.closed_at + policy.challenge_expiry_s, last_arrival + policy.late_telemetry_s)
    done = evaluate_session(uow, session_id=study.id, policy=policy, now=_at(settled + 1))
    return done.status


def build_demo(uow: UnitOfWork, *, settings: Settings, policy: Policy, now: datetime,
               passwords: dict[str, str] | None = None, learners: int = 10,
               lessons_per_course: int = LESSONS, seed: int = 2021) -> DemoSummary:
    """Everything in the caller's unit of work (one transaction: all or nothing)."""
    rng = random.Random(seed)
    summary = DemoSummary()
    store = blob_store(settings)
    today = now.date()
    first_day = now - timedelta(days=DAYS_SPREAD + 2)
    elig = eligibility_rules(settings)
    staff_institution = None
    for k, (name, county, course_ext, title, occupation) in enumerate(INSTITUTIONS):
        issued = registration.issue_platform_key(uow, institution=name, county_code=county)
        staff_institution = staff_institution or name
        summary.institutions.append(f"{name}（{county}）")
        durations = [rng.uniform(2400, 2700) for _ in range(lessons_per_course)]
        registration.upsert_course(uow, institution_id=issued.institution_id, ext_id=course_ext,
                                   elig=elig,
                                   data=CourseIn(title=title, occupation=occupation,
                                                 required_class_hours=lessons_per_course,
                                                 offline_practical_hours=8.0, lessons=[
                                                     LessonIn(id=f"L{i + 1}", seq=i + 1,
                                                              title=LESSON_TITLES[course_ext][i % 5],
                                                              duration_s=d, class_hours=1.0)
                                                     for i, d in enumerate(durations)]))
        course = reg_repo.course(uow.session, issued.institution_id, course_ext)
        assert course is not None
        lessons = reg_repo.lessons_of(uow.session, course.id)
        for i in range(learners):
            ext = f"stu-{k + 1}{i + 1:02d}"
            registration.upsert_learner(uow, institution_id=issued.institution_id, ext_id=ext,
                                        today=today, data=LearnerIn(
                                            real_name=NAMES[(i + 3 * k) % len(NAMES)],
                                            id_number=_id_number(county, rng),
                                            phone=f"13{rng.randrange(10**8, 10**9)}"))
            registration.upsert_enrolment(
                uow, institution_id=issued.institution_id, learner_ext=ext, course_ext=course_ext,
                data=EnrolmentIn(class_batch=f"{today.year}年第{k + 1}期",
                                 start_date=(first_day - timedelta(days=3)).date(),
                                 practical_hours=8.0 if i % 4 != 3 else 4.0),
                policy=policy, elig=elig, actor="system:demo", now=first_day)
            plan = CHEATS.get(i)
            for seq, lesson in enumerate(lessons, start=1):
                if i == SKIPS_LESSON and seq == 2:
                    continue
                cheat = plan is not None and plan[0] == seq
                behaviour = SCENARIOS[plan[1]] if cheat and plan else HONEST
                start = first_day + timedelta(days=seq * DAYS_SPREAD / (lessons_per_course + 1) + i * 0.3,
                                              hours=k * 2 + rng.uniform(0, 3))
                status = _sit(uow, inst_id=issued.institution_id, learner_ext=ext,
                              course_ext=course_ext, lesson=lesson, behaviour=behaviour,
                              start_t=start.timestamp(), policy=policy, rng=rng, store=store,
                              settings=settings)
                summary.sessions += 1
                summary.flagged += status == "invalid"
    people: tuple[tuple[str, str, str, list[str], str | None], ...] = (
              ("admin", "admin", "系统管理员", [], None),
              ("reviewer", "county_reviewer", "李敏（金水区）", [COUNTY_REVIEWED], None),
              ("reviewer2", "county_reviewer", "王强（尉氏县）", [INSTITUTIONS[1][1]], None),
              ("staff", "institution_staff", "阳光学校教务", [], staff_institution),
              ("auditor", "auditor", "赵审计", [], None))
    for username, role, display, counties, institution in people:
        password = (passwords or {}).get(username) or secrets.token_urlsafe(9)
        create_user(uow, username=username, role=role, display_name=display,
                    county_codes=counties, institution=institution, password=password)
        summary.users[username] = (role, password)
    return summary
