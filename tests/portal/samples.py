"""Sample view-models and page contexts: the data the templates and the timeline are tested with.

They also document, by example, what phase 2 must put into each template's context.
"""

from __future__ import annotations

from base64 import b64encode
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup

from proctor.domain.eligibility import next_exam_window
from proctor.portal.timeline import (
    ChallengeMark,
    PhotoMark,
    PlayerPoint,
    SeekMark,
    TimelineView,
    ViolationBand,
    describe,
    render_timeline_svg,
)


def sample_timeline() -> TimelineView:
    """A 45-minute lesson studied with most of the tricks the rules look for."""
    points: list[PlayerPoint] = []

    def play(t0: float, t1: float, pos0: float, rate: float = 1.0, **state: bool) -> float:
        t = t0
        while t < t1:
            points.append(PlayerPoint(t, pos0 + (t - t0) * rate, True, rate, **state))
            t += 10
        return pos0 + (t1 - t0) * rate

    pos = play(0, 420, 0)  # 7 min normal
    points.append(PlayerPoint(420, pos, False))  # pause 3 min
    pos = play(600, 900, pos)  # 5 min
    seek_forward_from = pos  # then a seek forward to 25:00
    pos = play(900, 1080, 1500, rate=2.0)  # 3 min at 2x
    pos = play(1080, 1380, pos, visible=False, focused=False)  # hidden 5 min
    pos = play(1380, 1500, pos, visible=True, focused=False)  # blurred 2 min
    seek_back_from = pos  # seek back at 1500 to 1200
    pos = play(1500, 2100, 1200)
    points.append(PlayerPoint(2100, 1800, False))
    return TimelineView(
        media_duration=2700,
        points=points,
        wall_span=2160,
        seeks=[SeekMark(900, seek_forward_from, 1500), SeekMark(1500, seek_back_from, 1200)],
        challenges=[
            ChallengeMark(5, "liveness", "passed", answered_t=12),
            ChallengeMark(250, "confirm", "passed", answered_t=255),
            ChallengeMark(700, "confirm", "expired"),
            ChallengeMark(1200, "photo", "failed", answered_t=1230),
            ChallengeMark(1900, "confirm", "passed", answered_t=1904),
        ],
        photos=[
            PhotoMark(12, "match", 0.38),
            PhotoMark(1230, "mismatch", 0.71),
            PhotoMark(1700, "no_face"),
            PhotoMark(2000, "match", 0.41),
        ],
        violations=[
            ViolationBand(
                "FAST_FORWARD", 900, 1080, "向前拖动 10:00，超过已观看位置；2 倍速播放 3 分钟"
            ),
            ViolationBand("MULTI_WINDOW", 1080, 1500, "页面隐藏时继续播放 5 分钟"),
            ViolationBand("POPUP_GAP", 255, 1200, "连续 15:45 无通过的弹窗"),
            ViolationBand("FACE_LIVENESS", 1230, 1230, "照片与报名照片不是同一人"),
        ],
        title="学习过程时间线：第3课 低压电工作业安全",
    )


# ---------------------------------------------------------------- page contexts


T0 = datetime(2025, 3, 3, 1, 12, 5, tzinfo=UTC)  # 09:12 in Henan
CSRF = "csrf-sample-token"


def face_photo(tint: str, *, faces: int = 1, label: str = "") -> str:
    """A drawn stand-in for a webcam frame (the gallery needs images, not real faces)."""
    heads = "".join(
        f'<circle cx="{80 + 90 * i - 45 * (faces - 1)}" cy="62" r="26" fill="#e8c9a8"/>'
        f'<path d="M{40 + 90 * i - 45 * (faces - 1)} 120 q40 -60 80 0z" fill="#5c6b7a"/>'
        for i in range(faces)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120">'
        f'<rect width="160" height="120" fill="{tint}"/>{heads}'
        f'<text x="6" y="114" font-size="10" fill="#fff" font-family="sans-serif">{label}</text>'
        "</svg>"
    )
    return "data:image/svg+xml;base64," + b64encode(svg.encode()).decode()


USER_REVIEWER = {
    "username": "jinshui.li",
    "display_name": "李敏",
    "role": "county_reviewer",
    "scope_label": "金水区 410105",
}


def base_context(active: str, user: dict | None = None) -> dict:
    return {
        "user": user or USER_REVIEWER,
        "active": active,
        "csrf_token": CSRF,
        "messages": [],
        "nav_institution_id": None,
    }


def login_context(error: str | None = None) -> dict:
    return {
        "csrf_token": CSRF,
        "username": "jinshui.li" if error else "",
        "next": "",
        "error": error,
    }


def dashboard_context() -> dict:
    rules = [
        ("FAST_FORWARD", 41),
        ("MULTI_WINDOW", 63),
        ("POPUP_GAP", 18),
        ("FACE_LIVENESS", 27),
        ("LESSON_ORDER", 9),
        ("RANDOM_PHOTO", 12),
    ]
    institutions = [
        ("I1", "金水区阳光职业培训学校", 52, 620),
        ("I2", "郑州华信技工培训中心", 38, 410),
        ("I3", "河南安康家政服务培训学校", 9, 388),
        ("I4", "中原电工技能培训中心", 61, 301),
    ]
    return base_context("dashboard") | {
        "scope_label": "金水区",
        "period_label": "近 30 天（2025-02-02 至 2025-03-03）",
        "stats": {
            "sessions": 1719,
            "valid": 1466,
            "invalid": 121,
            "under_review": 39,
            "pending": 93,
            "flagged_rate": 160 / 1719,
        },
        "by_rule": [{"rule": r, "flagged": n, "total": 1719} for r, n in rules],
        "by_institution": [
            {"institution_id": i, "name": name, "flagged": f, "total": t}
            for i, name, f, t in institutions
        ],
        "daily": [
            {
                "label": (date(2025, 2, 2) + timedelta(days=d)).strftime("%m-%d"),
                "total": 40 + (d * 37) % 35,
                "flagged": 2 + (d * 13) % 9,
            }
            for d in range(30)
        ],
        "queue_count": 39,
    }


def queue_context() -> dict:
    names = ["张伟", "王芳", "刘洋", "陈静", "杨帆", "赵磊"]
    rules = [
        ["FAST_FORWARD", "MULTI_WINDOW"],
        ["FACE_LIVENESS"],
        ["POPUP_GAP"],
        ["RANDOM_PHOTO", "FACE_LIVENESS"],
        ["LESSON_ORDER"],
        ["MULTI_WINDOW"],
    ]
    rows = [
        {
            "session_id": f"S{100 + i}",
            "learner_id": f"L{i}",
            "learner_name": name,
            "id_number": f"410***********{1000 + 37 * i}"[:14] + f"{1000 + 37 * i}"[-4:],
            "institution": "中原电工技能培训中心" if i % 2 else "金水区阳光职业培训学校",
            "course": "低压电工作业" if i % 2 else "养老护理员（初级）",
            "lesson_sequence": 3 + i,
            "lesson_title": "安全用电基础",
            "started_at": T0 - timedelta(hours=5 * i),
            "rules": rules[i],
            "status": "under_review" if i != 4 else "invalid",
            "stage": "awaiting" if i < 3 else "second" if i != 4 else "reviewed",
            "reviewed_by": None if i != 4 else "李敏",
        }
        for i, name in enumerate(names)
    ]
    return base_context("queue") | {
        "filters": {
            "county": "410105",
            "institution": "",
            "course": "",
            "rule": "",
            "status": "",
            "date_from": "2025-02-01",
            "date_to": "",
            "q": "",
            "sort": "",
        },
        "options": {
            "counties": [{"code": "410105", "name": "金水区"}],
            "institutions": [
                {"id": "I1", "name": "金水区阳光职业培训学校"},
                {"id": "I4", "name": "中原电工技能培训中心"},
            ],
            "courses": [
                {"id": "C1", "title": "低压电工作业"},
                {"id": "C2", "title": "养老护理员（初级）"},
            ],
            "rules": [
                "FAST_FORWARD",
                "MULTI_WINDOW",
                "POPUP_GAP",
                "FACE_LIVENESS",
                "LESSON_ORDER",
                "RANDOM_PHOTO",
            ],
            "statuses": ["awaiting", "second", "reviewed"],
            "sorts": [("", "待处理优先"), ("newest", "最新在前"), ("oldest", "最早在前")],
        },
        "can_review": True,
        "rows": rows,
        "page": {
            "number": 1,
            "pages": 3,
            "total": 39,
            "prev_url": None,
            "next_url": "/portal/queue?page=2",
        },
        "export_query": {"county": "410105", "date_from": "2025-02-01"},
    }


def session_context(*, mode: str | None = "first", form_error: str | None = None) -> dict:
    view = sample_timeline()
    return base_context("queue") | {
        "session": {
            "id": "S100",
            "started_at": T0,
            "ended_at": T0 + timedelta(minutes=36),
            "county_name": "金水区",
            "learner": {"id": "L0", "name": "张伟", "id_number": "410***********123X"},
            "institution": {"id": "I4", "name": "中原电工技能培训中心"},
            "course": {"id": "C1", "title": "低压电工作业", "occupation": "电工"},
            "lesson": {
                "sequence": 3,
                "title": "低压电工作业安全",
                "duration_seconds": 2700,
                "class_hours": 1,
            },
            "client": {
                "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0",
                "ip": "171.8.23.145",
                "device_id": "dev-7f3a9c",
            },
        },
        "next_session_url": "/portal/sessions/S101",
        "timeline_svg": Markup(render_timeline_svg(view)),
        "timeline_summary": describe(view),
        "verdict": {
            "status": "under_review",
            "credited_seconds": 0,
            "policy_version": "henan-2021.1",
            "evaluated_at": T0 + timedelta(minutes=37),
            "violation_count": 28,
            "groups": [
                {"code": "FAST_FORWARD.seek", "rule": "FAST_FORWARD", "count": 1,
                 "anchor": "ev-FAST_FORWARD", "more": 0,
                 "summary": "拖动进度条从 15:00 跳到 25:00，超过已看过的最远位置 15:00",
                 "rows": [{"text": "拖动进度条从 15:00 跳到 25:00，超过已看过的最远位置 15:00",
                           "at": 900.0, "until": 900.0, "clock": "10:20:00",
                           "photo_url": None}]},
                {"code": "FACE_LIVENESS.photo", "rule": "FACE_LIVENESS", "count": 26,
                 "anchor": "ev-FACE_LIVENESS", "more": 16,
                 "summary": "26 次照片比对未通过，首次 10:25:30",
                 "rows": [{"text": f"抓拍照片 10:{25 + k}:30：非本人（比对值 0.71，阈值 0.60）",
                           "at": 1230.0 + 60 * k, "until": 1230.0 + 60 * k,
                           "clock": f"10:{25 + k}:30",
                           "photo_url": face_photo("#7a4b4b", label="20:30")}
                          for k in range(10)]},
                {"code": "MULTI_WINDOW.hidden", "rule": "MULTI_WINDOW", "count": 1,
                 "anchor": "ev-MULTI_WINDOW", "more": 0,
                 "summary": "页面隐藏（切到其他窗口或标签页）时继续播放 3 分 12 秒",
                 "rows": [{"text": "页面隐藏（切到其他窗口或标签页）时继续播放 3 分 12 秒",
                           "at": 1500.0, "until": 1692.0, "clock": "10:30:00",
                           "photo_url": None}]},
            ],
        },
        "threshold": 0.6,
        "photo_summary": [{"outcome": "match", "count": 2}, {"outcome": "mismatch", "count": 1},
                          {"outcome": "no_face", "count": 1}],
        "photo_page": {"number": 1, "pages": 1, "total": 4, "prev_url": None,
                       "next_url": None},
        "reference_photo_url": face_photo("#4b6a88", label="enrol"),
        "photos": [
            {
                "url": face_photo("#4b6a88", label="00:12"),
                "thumb_url": face_photo("#4b6a88", label="00:12"),
                "taken_at": T0,
                "at_seconds": 12,
                "kind": "liveness",
                "outcome": "match",
                "score": 0.38,
            },
            {
                "url": face_photo("#7a4b4b", label="20:30"),
                "thumb_url": face_photo("#7a4b4b", label="20:30"),
                "taken_at": T0,
                "at_seconds": 1230,
                "kind": "photo",
                "outcome": "mismatch",
                "score": 0.71,
            },
            {
                "url": face_photo("#555", faces=0, label="28:20"),
                "thumb_url": face_photo("#555", faces=0, label="28:20"),
                "taken_at": T0,
                "at_seconds": 1700,
                "kind": "random",
                "outcome": "no_face",
                "score": None,
            },
            {
                "url": face_photo("#4b6a88", label="33:20"),
                "thumb_url": face_photo("#4b6a88", label="33:20"),
                "taken_at": T0,
                "at_seconds": 2000,
                "kind": "random",
                "outcome": "match",
                "score": 0.41,
            },
        ],
        "review": {
            "mode": mode,
            "closed_reason": None if mode else "该会话判定有效，无需复核。",
            "history": []
            if mode != "second"
            else [
                {
                    "decision": "overturn",
                    "reason": "学员提供了网络故障证明，拖动为断线重连所致。",
                    "by": "李敏",
                    "at": T0 + timedelta(days=1),
                }
            ],
            "second_review_required": True,
            "form_error": form_error,
            "decision_value": "overturn" if form_error else "",
            "reason_value": "",
        },
    }


def learner_context() -> dict:
    lessons = ["valid"] * 6 + ["invalid", "under_review", "valid", "not_studied", "not_studied"]
    return base_context("queue") | {
        "learner": {
            "id": "L0",
            "name": "张伟",
            "id_number": "410***********123X",
            "id_number_masked": True,
            "phone": "138****5678",
            "county_name": "金水区",
            "institution": {"id": "I4", "name": "中原电工技能培训中心"},
            "enrolment_photo_url": face_photo("#4b6a88", label="enrol"),
            "platform_id": "stu-2025-0042",
        },
        "enrolments": [
            {
                "course": {"id": "C1", "title": "低压电工作业", "occupation": "电工"},
                "class_name": "2025年第2期",
                "start_date": date(2025, 2, 10),
                "credited_hours": 7,
                "required_hours": 11,
                "practical_hours": 4,
                "needs_practical": True,
                "eligibility": {
                    "eligible": False,
                    "reasons": [
                        {"code": "LESSON_INVALID", "message_zh": "第7课 学习判定无效"},
                        {
                            "code": "LESSON_UNDER_REVIEW",
                            "message_zh": "第8课 正在人工复核，复核结束前不能报考",
                        },
                        {
                            "code": "CLASS_HOURS_SHORT",
                            "message_zh": "已认定学时 7，未达到要求的 11 学时",
                        },
                        {
                            "code": "PRACTICAL_HOURS_SHORT",
                            "message_zh": "电工须线下实操不少于 8 学时，机构登记 4 学时",
                        },
                    ],
                    "next_exam_window": next_exam_window(date(2025, 3, 3), (4, 8, 12)).as_dict(),
                },
                "lessons": [
                    {
                        "sequence": i,
                        "title": f"第{i}课",
                        "status": s,
                        "url": None if s == "not_studied" else f"/portal/sessions/S{i}",
                    }
                    for i, s in enumerate(lessons, start=1)
                ],
            }
        ],
    }


def institution_context() -> dict:
    names = ["张伟", "王芳", "刘洋", "陈静", "杨帆", "赵磊", "孙丽", "周强"]
    window = next_exam_window(date(2025, 3, 3), (4, 8, 12)).as_dict()
    rows = []
    for i, name in enumerate(names):
        statuses = ["valid"] * 10
        if i % 3 == 1:
            statuses[6] = "invalid"
        if i % 4 == 2:
            statuses[8] = "under_review"
        if i == 5:
            statuses[9:] = ["not_studied"]
        ok = all(s == "valid" for s in statuses) and i % 2 == 0
        rows.append(
            {
                "learner": {"id": f"L{i}", "name": name, "id_number": f"410***********{2300 + i}"},
                "class_name": "2025年第2期",
                "cells": [
                    {
                        "status": s,
                        "url": None if s == "not_studied" else f"/portal/sessions/S{i}{k}",
                        "title": None,
                    }
                    for k, s in enumerate(statuses)
                ],
                "credited_hours": sum(1 for s in statuses if s == "valid"),
                "practical_hours": 8 if i % 2 == 0 else 5,
                "eligibility": {
                    "eligible": ok,
                    "next_exam_window": window,
                    "reasons": [] if ok else [{"code": "X", "message_zh": "第7课 学习无效"}],
                },
            }
        )
    return base_context("institution") | {
        "institution": {"id": "I4", "name": "中原电工技能培训中心", "county_name": "金水区"},
        "courses": [{"id": "C1", "title": "低压电工作业"}, {"id": "C3", "title": "高压电工作业"}],
        "course": {
            "id": "C1",
            "title": "低压电工作业",
            "occupation": "电工",
            "required_hours": 10,
            "needs_practical": True,
        },
        "lessons": [{"sequence": k, "title": f"第{k}课"} for k in range(1, 11)],
        "rows": rows,
        "q": "",
        "page": {"number": 1, "pages": 1, "total": len(rows), "prev_url": None,
                 "next_url": None},
        "summary": {
            "learners": len(rows),
            "studied": len(rows),
            "all_valid": sum(r["eligibility"]["eligible"] for r in rows),
            "with_invalid": 3,
            "under_review": 2,
        },
        "next_exam_window": window,
    }


def dead_letters_context() -> dict:
    return base_context(
        "dead_letters",
        USER_REVIEWER | {"role": "admin", "display_name": "管理员", "scope_label": "全部县区"},
    ) | {
        "items": [
            {
                "id": "D1",
                "platform": "中原电工技能培训中心",
                "event_type": "verdict.changed",
                "subject": "session:S100",
                "url": "https://learn.zydg.example.cn/hooks/proctor",
                "attempts": 8,
                "last_status": 502,
                "last_error": "Bad Gateway",
                "first_attempt_at": T0,
                "last_attempt_at": T0 + timedelta(hours=6),
            },
            {
                "id": "D2",
                "platform": "金水区阳光职业培训学校",
                "event_type": "eligibility.changed",
                "subject": "enrolment:L3/C2",
                "url": "https://yg.example.cn/api/callback",
                "attempts": 8,
                "last_status": None,
                "last_error": "连接超时（10 秒）",
                "first_attempt_at": T0,
                "last_attempt_at": T0 + timedelta(hours=7),
            },
        ],
        "page": {"number": 1, "pages": 1, "total": 2, "prev_url": None, "next_url": None},
    }


def audit_context(broken_seq: int | None = None) -> dict:
    from proctor.domain.audit import AuditEntry, seal

    chain = []
    actions = [
        ("user:7 李敏", "user.login", "user:7", {}),
        (
            "user:7 李敏",
            "review.overturn",
            "session:S100",
            {"reason": "网络故障证明", "from": "invalid", "to": "under_review"},
        ),
        (
            "user:2 王主任",
            "review.approve_overturn",
            "session:S100",
            {"from": "under_review", "to": "valid"},
        ),
        ("system", "callback.dead_letter", "session:S100", {"attempts": 8}),
        ("user:1 管理员", "callback.retry", "dead_letter:D1", {}),
    ]
    for i, (actor, action, subject, payload) in enumerate(actions, start=1):
        entry = AuditEntry(i, T0 + timedelta(minutes=7 * i), actor, action, subject, payload)
        chain.append(seal(entry, chain[-1] if chain else None))
    return base_context(
        "audit",
        USER_REVIEWER | {"role": "auditor", "display_name": "赵审计", "scope_label": "全市"},
    ) | {
        "verification": {
            "ok": broken_seq is None,
            "checked": len(chain),
            "broken_seq": broken_seq,
            "head": chain[-1].hash,
        },
        "entries": [
            {
                "seq": s.seq,
                "at": s.entry.at,
                "actor": s.entry.actor,
                "action": s.entry.action,
                "subject": s.entry.subject,
                "payload": dict(s.entry.payload),
                "hash": s.hash,
            }
            for s in reversed(chain)
        ],
        "page": {"number": 1, "pages": 1, "total": len(chain), "prev_url": None, "next_url": None},
    }


def error_context() -> dict:
    return base_context("") | {"status_code": 404, "message": "该页面不存在或不在您的管辖范围内。"}


PAGES = {
    "login.html": login_context,
    "dashboard.html": dashboard_context,
    "queue.html": queue_context,
    "session.html": session_context,
    "learner.html": learner_context,
    "institution.html": institution_context,
    "dead_letters.html": dead_letters_context,
    "audit.html": audit_context,
    "error.html": error_context,
}
