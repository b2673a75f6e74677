"""Chinese (and English) names for the codes the portal shows: rules, statuses, outcomes, roles.

One place, so that the timeline, the templates and the exports say the same thing.
Unknown codes fall back to the code itself: a new rule must never break a page.
"""

from __future__ import annotations

from typing import Final

RULE_LABELS: Final[dict[str, str]] = {
    "FAST_FORWARD": "快进播放",
    "MULTI_WINDOW": "多窗口学习",
    "POPUP_GAP": "连续5分钟内无弹窗管控",
    "FACE_LIVENESS": "无法进行人脸活体比对",
    "LESSON_ORDER": "未按内容先后顺序学习",
    "RANDOM_PHOTO": "每课时无随机保留影像照片",
    "LATE_TELEMETRY": "学习记录迟到",
}

# Colours per rule, used by the timeline shading and the dashboard bars (colour-blind safe-ish
# and never the only cue: the rule code is always written next to it).
RULE_COLOURS: Final[dict[str, str]] = {
    "FAST_FORWARD": "#e8590c",
    "MULTI_WINDOW": "#7048e8",
    "POPUP_GAP": "#d9a400",
    "FACE_LIVENESS": "#e03131",
    "LESSON_ORDER": "#0c8599",
    "RANDOM_PHOTO": "#c2255c",
}
DEFAULT_RULE_COLOUR: Final = "#868e96"

REVIEW_STAGE_LABELS: Final[dict[str, str]] = {
    "awaiting": "待复核",
    "second": "待二审",
    "reviewed": "已复核",
}

STATUS_LABELS: Final[dict[str, str]] = {
    "pending": "待评估",
    "valid": "有效",
    "invalid": "无效",
    "under_review": "待二审",
    "not_studied": "未学习",
    "incomplete": "未学完",
}

# Exam eligibility, one word everywhere (pages, exports): "暂" because it changes as lessons do.
ELIGIBILITY_LABELS: Final[dict[bool, str]] = {True: "可报考", False: "暂不可报考"}

CHALLENGE_KIND_LABELS: Final[dict[str, str]] = {
    "confirm": "确认弹窗",
    "photo": "随机拍照",
    "liveness": "活体检测",
    "random": "随机抓拍",
}

CHALLENGE_OUTCOME_LABELS: Final[dict[str, str]] = {
    "passed": "通过",
    "failed": "未通过",
    "expired": "超时未答",
    "pending": "等待作答",
}

PHOTO_OUTCOME_LABELS: Final[dict[str, str]] = {
    "match": "人脸比对一致",
    "mismatch": "非本人",
    "no_face": "未检测到人脸",
    "multiple_faces": "多张人脸",
    "spoof": "疑似翻拍/静态图片",
    "not_live": "活体检测未通过",
    "poor_quality": "照片质量不足",
    "near_duplicate": "疑似重复照片（需重拍）",
    "no_enrolment": "未登记人脸",
    "pending": "待比对",
}

# Which photo outcomes count as good, bad or merely doubtful (drawn green / red / amber).
PHOTO_OUTCOME_TONE: Final[dict[str, str]] = {
    "match": "good",
    "mismatch": "bad",
    "spoof": "bad",
    "not_live": "bad",
    "no_face": "warn",
    "multiple_faces": "warn",
    "poor_quality": "warn",
    "near_duplicate": "warn",
    "no_enrolment": "warn",
    "pending": "neutral",
}

ROLE_LABELS: Final[dict[str, str]] = {
    "admin": "系统管理员",
    "county_reviewer": "县级复核员",
    "institution_staff": "培训机构",
    "auditor": "审计员",
}

REVIEW_DECISION_LABELS: Final[dict[str, str]] = {
    "confirm_invalid": "维持无效",
    "overturn": "改判有效",
    "second_review": "待二次复核",
    "approve_overturn": "同意改判（二次复核）",
    "reject_overturn": "驳回改判（二次复核）",
}


def rule_label(code: str) -> str:
    return RULE_LABELS.get(code, code)


def rule_colour(code: str) -> str:
    return RULE_COLOURS.get(code, DEFAULT_RULE_COLOUR)


def status_label(code: str) -> str:
    return STATUS_LABELS.get(code, code)


def eligibility_label(eligible: bool) -> str:
    return ELIGIBILITY_LABELS[bool(eligible)]


def photo_outcome_label(code: str) -> str:
    return PHOTO_OUTCOME_LABELS.get(code, code)


def challenge_outcome_label(code: str) -> str:
    return CHALLENGE_OUTCOME_LABELS.get(code, code)


def challenge_kind_label(code: str) -> str:
    return CHALLENGE_KIND_LABELS.get(code, code)


VIOLATION_KIND_LABELS: Final[dict[str, str]] = {
    "FAST_FORWARD.rate": "倍速播放",
    "FAST_FORWARD.seek": "向前拖动进度",
    "FAST_FORWARD.jump": "进度跳转（无拖动事件）",
    "FAST_FORWARD.drift": "播放进度超前",
    "FAST_FORWARD.incomplete": "未看完即标记学完",
    "MULTI_WINDOW.hidden": "页面隐藏时播放",
    "MULTI_WINDOW.throttled": "后台标签页播放",
    "MULTI_WINDOW.unfocused": "窗口失焦时播放",
    "MULTI_WINDOW.share": "隐藏或失焦占比过高",
    "MULTI_WINDOW.overlap": "多会话同时播放",
    "POPUP_GAP.gap": "长时间无弹窗确认",
    "POPUP_GAP.unanswered": "弹窗未作答",
    "FACE_LIVENESS.no_liveness": "开始时未做活体检测",
    "FACE_LIVENESS.photo": "照片比对未通过",
    "FACE_LIVENESS.challenge": "拍照均未比对一致",
    "FACE_LIVENESS.replayed": "照片重复（疑似翻拍）",
    "LESSON_ORDER.order": "未按顺序学习",
    "RANDOM_PHOTO.missing": "学时内无随机照片",
    "LATE_TELEMETRY.late": "记录迟到",
}


def violation_kind_label(code: str) -> str:
    return VIOLATION_KIND_LABELS.get(code) or RULE_LABELS.get(code.split(".")[0], code)
