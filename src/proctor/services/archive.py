"""Use case: the learner's e-archive (劳动者职业培训电子档案), signed so a third party can verify it.

One record per person (by resident ID number, across institutions): every training with its
course, institution, class, lessons, class hours credited, each sitting's verdict with the
SHA-256 of its stored result (the evidence hash), reviews, leaves and the exam. Exported as
canonical JSON (UTF-8, sorted keys) or as a PDF (ReportLab, a Chinese TrueType font); either file
is signed with the service's Ed25519 key as a detached signature (base64 in ``FILE.sig``). The
public key is published at ``GET /v1/archive/public-key`` and beside the private key file.
``proctor archive verify FILE`` checks a file against its signature.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.errors import NotFound
from proctor.domain.ids import mask_id_number
from proctor.domain.policy import Policy
from proctor.services.makeup import leaves_of
from proctor.services.standing import standing
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.tables import Course, Enrolment, Institution, Learner, ReviewDecision

FORMAT = "proctor.e-archive/1"


# --- the key ---------------------------------------------------------------------------------

def public_key_path(settings: Settings) -> Path:
    return settings.archive_key_file.with_suffix(".pub.pem")


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The service's archive key, made on first use (mode 0600), its public half beside it."""
    path = settings.archive_key_file
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey), f"{path} is not an Ed25519 key"
    else:
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    pub = public_key_path(settings)
    if not pub.exists():
        pub.write_bytes(public_pem(key.public_key()))
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(data: bytes, settings: Settings) -> str:
    """Detached Ed25519 signature of ``data``, base64."""
    return base64.b64encode(signing_key(settings).sign(data)).decode()


def verify(data: bytes, signature_b64: str, public_key_pem: bytes) -> bool:
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    try:
        key.verify(base64.b64decode(signature_b64.strip(), validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- the record ------------------------------------------------------------------------------

def _iso(v: datetime | date | None) -> str | None:
    return v.isoformat() if v is not None else None


def evidence_hash(result: dict[str, Any]) -> str:
    """SHA-256 of a stored verdict result in canonical JSON: what the archive vouches for."""
    return hashlib.sha256(canonical(result)).hexdigest()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Archive:
    record: dict[str, Any]

    def json_bytes(self) -> bytes:
        return canonical(self.record)


def build(s: Session, *, learner: Learner, settings: Settings, policy: Policy, now: datetime,
          institution_id: int | None = None) -> Archive:
    """The person's record: every enrolment of every learner row with the same ID number (only
    ``institution_id``'s when given: a platform sees its own trainings)."""
    q = (select(Enrolment, Learner, Course, Institution)
         .join(Learner, Learner.id == Enrolment.learner_id)
         .join(Course, Course.id == Enrolment.course_id)
         .join(Institution, Institution.id == Course.institution_id)
         .where(Learner.id_number == learner.id_number)
         .order_by(Enrolment.start_date, Enrolment.id))
    if institution_id is not None:
        q = q.where(Course.institution_id == institution_id)
    trainings = [_training(s, e, lr, c, inst, settings=settings, policy=policy, now=now)
                 for e, lr, c, inst in s.execute(q).all()]
    record = {
        "format": FORMAT,
        "generated_at": now.isoformat(timespec="seconds"),
        "policy": f"{policy.id}@{policy.version}",
        "person": {"real_name": learner.real_name,
                   "id_number_masked": mask_id_number(learner.id_number),
                   "id_number_sha256": hashlib.sha256(learner.id_number.encode()).hexdigest()},
        "trainings": trainings,
        "totals": {"trainings": len(trainings),
                   "credited_class_hours": sum(t["credited_class_hours"] for t in trainings)},
    }
    return Archive(record)


def _training(s: Session, e: Enrolment, learner: Learner, course: Course, inst: Institution, *,
              settings: Settings, policy: Policy, now: datetime) -> dict[str, Any]:
    st = standing(s, learner=learner, course=course, policy=policy, settings=settings,
                  today=now.date())
    sessions = ev_repo.sessions_of_learner(s, learner.id, course_id=course.id)
    verdicts = ev_repo.verdicts_for(s, [x.id for x in sessions])
    reviews: dict[str, list[ReviewDecision]] = {}
    for d in s.scalars(select(ReviewDecision)
                       .where(ReviewDecision.session_id.in_([x.id for x in sessions]))
                       .order_by(ReviewDecision.created_at, ReviewDecision.id)):
        reviews.setdefault(d.session_id, []).append(d)
    leaves = leaves_of(s, learner_id=learner.id, course_id=course.id)
    lessons = []
    for row in st.lessons:
        sittings = []
        for x in sorted((x for x in sessions if x.lesson_id == row.lesson.id),
                        key=lambda x: x.started_at):
            v = verdicts.get(x.id)
            sittings.append({
                "session_id": x.id, "started_at": _iso(x.started_at), "ended_at": _iso(x.ended_at),
                "verdict": v.status if v else "pending", "engine_verdict": v.engine_status if v else None,
                "rules": list(v.rules or []) if v else [],
                "evidence_sha256": evidence_hash(v.result) if v else None,
                "made_up": x.id in row.result.superseded,
                "reviews": [{"decision": d.decision, "stage": d.stage, "reason": d.reason,
                             "at": _iso(d.created_at)} for d in reviews.get(x.id, [])],
            })
        lessons.append({
            "lesson_id": row.lesson.ext_id, "seq": row.lesson.seq, "title": row.lesson.title,
            "status": row.state.value, "class_hours": row.lesson.class_hours,
            "credited_class_hours": row.result.credited_class_hours, "sittings": sittings,
            "leaves": [{"reason": lv.reason, "recorded_by": lv.recorded_by,
                        "recorded_at": _iso(lv.recorded_at)}
                       for lv in leaves if lv.lesson_id == row.lesson.id],
        })
    elig = st.eligibility
    return {
        "institution": inst.name, "county_code": inst.county_code,
        "course": {"id": course.ext_id, "title": course.title, "occupation": course.occupation,
                   "required_class_hours": course.required_class_hours,
                   "certificate_only": course.certificate_only,
                   "offline_practical_hours": course.offline_practical_hours},
        "class": {"batch": e.class_batch, "start_date": _iso(e.start_date)},
        "lessons": lessons,
        "credited_class_hours": float(elig.credited_class_hours),
        "practical_hours": e.practical_hours,
        "exam": {"eligible": elig.eligible, "reasons": [r.as_dict() for r in elig.reasons],
                 "last_exam_date": _iso(e.last_exam_date),
                 "next_window": elig.next_exam_window.as_dict()},
    }


def for_learner(s: Session, *, institution_id: int, learner_ext: str, settings: Settings,
                policy: Policy, now: datetime, whole_person: bool = False) -> Archive:
    learner = s.scalar(select(Learner).where(Learner.institution_id == institution_id,
                                             Learner.ext_id == learner_ext))
    if learner is None:
        raise NotFound(f"learner {learner_ext!r} is not registered", field="learner_id")
    return build(s, learner=learner, settings=settings, policy=policy, now=now,
                 institution_id=None if whole_person else institution_id)


# --- PDF -------------------------------------------------------------------------------------

_FONT = "ArchiveCJK"


def _font(settings: Settings) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        path = settings.archive_font_file
        if not path.exists():
            raise RuntimeError(f"Chinese font {path} is missing: run scripts/paperwork.sh")
        pdfmetrics.registerFont(TTFont(_FONT, str(path), subfontIndex=0))
    return _FONT


def pdf_bytes(archive: Archive, settings: Settings) -> bytes:
    """The archive as a PDF (the JSON's content, laid out; the JSON stays the master)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font(settings)
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    small = ParagraphStyle("small", fontName=font, fontSize=7, leading=9)
    r = archive.record
    p = r["person"]
    story: list[Any] = [
        Paragraph("劳动者职业培训电子档案 (e-archive)", h1),
        Paragraph(f"姓名 {p['real_name']}　身份证号 {p['id_number_masked']}　"
                  f"生成时间 {r['generated_at']}　政策 {r['policy']}", body),
        Paragraph(f"培训 {r['totals']['trainings']} 次，认定学时合计 "
                  f"{r['totals']['credited_class_hours']:g}", body),
    ]
    for t in r["trainings"]:
        c = t["course"]
        story += [Spacer(1, 4 * mm),
                  Paragraph(f"{c['title']}（{c['occupation']}）— {t['institution']}", h2),
                  Paragraph(f"班级 {t['class']['batch']}，开班 {t['class']['start_date']}；"
                            f"认定学时 {t['credited_class_hours']:g} / 要求 "
                            f"{c['required_class_hours']:g}；线下实操 {t['practical_hours']:g} 学时"
                            f"（计划 {c.get('offline_practical_hours', 0):g}）；"
                            f"考试资格 {'是' if t['exam']['eligible'] else '否'}", body)]
        for reason in t["exam"]["reasons"]:
            story.append(Paragraph("· " + reason["message_zh"], body))
        rows: list[list[Any]] = [["课时", "状态", "学时", "学习记录（会话 · 结论 · 违规 · 证据哈希）"]]
        for lesson in t["lessons"]:
            lines = []
            for x in lesson["sittings"]:
                tag = "（已补学）" if x["made_up"] else ""
                rules = ",".join(x["rules"]) or "-"
                lines.append(f"{x['session_id'][:8]} {x['verdict']}{tag} {rules} "
                             f"{(x['evidence_sha256'] or '')[:16]}")
                lines += [f"  复核 {d['decision']}: {d['reason'] or ''}" for d in x["reviews"]]
            lines += [f"  请假 {lv['reason']}" for lv in lesson["leaves"]]
            rows.append([Paragraph(f"第{lesson['seq']}课 {lesson['title'] or ''}", small),
                         Paragraph(lesson["status"], small),
                         Paragraph(f"{lesson['credited_class_hours']:g}", small),
                         Paragraph("<br/>".join(lines) or "-", small)])
        table = Table(rows, colWidths=[35 * mm, 20 * mm, 12 * mm, 110 * mm], repeatRows=1)
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font),
                                   ("FONTSIZE", (0, 0), (-1, 0), 8),
                                   ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    story += [Spacer(1, 6 * mm),
              Paragraph("本档案由 proctor 以 Ed25519 签名（分离签名 .sig）；公钥见 "
                        "/v1/archive/public-key。用 `proctor archive verify 文件` 核验。", small)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title="e-archive", author="proctor",
                      leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, invariant=1).build(story)
    return buf.getvalue()
