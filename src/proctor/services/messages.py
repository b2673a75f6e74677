"""Evidence for people: every violation, reason and audit action as a code plus parameters,
rendered through one gettext message catalogue (Babel) in Chinese.

- ``violation_message(v, policy)`` gives a stored violation's (code, params): the code is
  ``RULE.kind`` (FAST_FORWARD.rate, MULTI_WINDOW.hidden ...), classified from the rule and its
  structured evidence, never from the English detail; params are raw numbers (seconds, epoch
  times, rates) for machines.
- ``render(code, params)`` looks the code up in locale/zh_CN/LC_MESSAGES/messages.po (compiled to
  messages.mo, checked in and kept in step by tests/portal/test_messages.py) and formats every
  parameter for a reviewer by its name: ``*_s`` durations "3 分 12 秒", ``*_pos`` media positions
  mm:ss, ``*_at`` clock times (China Standard Time), ``rate`` one decimal, ``*_share`` percent.
- the same catalogue names audit actions (``audit.review.confirm_invalid`` ...), eligibility
  reasons and challenge prompts.

It lives in the services layer (portal pages, XLSX exports and platform callbacks all render
through it); the catalogue files sit beside it in services/locale/.

Add a message: add the msgid/msgstr to messages.po and run
``python -m proctor.services.messages`` (compiles the .mo with Babel).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import NullTranslations, Translations

from proctor.domain.policy import Policy

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
PO_FILE = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")

_translations: NullTranslations | None = None


def translations() -> NullTranslations:
    global _translations
    if _translations is None:
        _translations = Translations.load(str(LOCALE_DIR), ["zh_CN"], domain="messages")
    return _translations


def has(code: str) -> bool:
    return translations().gettext(code) != code


# --- formatting parameters by name ------------------------------------------------------------

def duration_zh(seconds: float) -> str:
    """3 分 12 秒, 1 小时 5 分, 45 秒, 0.5 秒 (under 10 s one decimal)."""
    s = max(0.0, float(seconds))
    if s < 10:
        text = f"{s:.1f}".rstrip("0").rstrip(".")
        return f"{text} 秒"
    total = int(round(s))
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h} 小时 {m} 分" if m else f"{h} 小时"
    if m:
        return f"{m} 分 {sec} 秒" if sec else f"{m} 分"
    return f"{sec} 秒"


def position(seconds: float) -> str:
    total = max(0, int(round(float(seconds))))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def clock(epoch: float | datetime) -> str:
    when = epoch if isinstance(epoch, datetime) else datetime.fromtimestamp(float(epoch),
                                                                             DISPLAY_TZ)
    return when.astimezone(DISPLAY_TZ).strftime("%H:%M:%S")


def _num(value: float | int | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float | datetime):
        if name == "lessons" and isinstance(value, list | tuple):  # [{lesson_id, status}]
            return "、".join(f"{x.get('lesson_id')}（{translate_value('prior_state', str(x.get('status')))}）"
                            for x in value if isinstance(x, Mapping))
        if isinstance(value, list | tuple):
            one = name[:-1] if name.endswith("s") else name  # outcomes → outcome
            return "、".join(_fmt(one, x) for x in value)
        return translate_value(name, str(value))
    if name.endswith("_at"):
        return clock(value)
    if isinstance(value, datetime):
        return clock(value)
    if name.endswith("_s"):
        return duration_zh(_num(value))
    if name.endswith("_pos"):
        return position(_num(value))
    if name.endswith("_share"):
        return f"{_num(value) * 100:.0f}%"
    if name in ("rate", "max_rate"):
        return f"{_num(value):.1f}"
    if name in ("score", "threshold"):
        return f"{_num(value):.2f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def translate_value(name: str, value: str) -> str:
    """Codes inside parameters (a photo outcome, a challenge kind) get their Chinese name."""
    for prefix in (f"value.{name}.", "value."):
        text = translations().gettext(prefix + value)
        if text != prefix + value:
            return text
    return value


def render(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The Chinese text of ``code`` with its parameters formatted for people."""
    template = translations().gettext(code)
    shown = {k: _fmt(k, v) for k, v in (params or {}).items()}
    if template == code:  # not in the catalogue: never break a page
        return code + ("（" + "，".join(f"{k}={v}" for k, v in shown.items()) + "）"
                       if shown else "")
    try:
        return template % shown
    except (KeyError, ValueError, TypeError):
        return template


# --- violations: (code, params) from the stored result ----------------------------------------

def _first(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    return evidence[0] if evidence else {}


def violation_message(v: Mapping[str, Any], policy: Policy) -> tuple[str, dict[str, Any]]:
    """(code, params) of one stored violation ({rule, at, until, detail, evidence})."""
    rule = str(v.get("rule", ""))
    at, until = float(v.get("at", 0.0)), float(v.get("until", 0.0))
    ev = [e for e in v.get("evidence", []) if isinstance(e, dict)]
    e = _first(ev)
    detail = str(v.get("detail", ""))
    dur = max(0.0, until - at)
    if rule == "FAST_FORWARD":
        if "rate" in e:
            return "FAST_FORWARD.rate", {"rate": e["rate"], "max_rate": policy.max_rate,
                                         "duration_s": dur}
        if "furthest" in e:
            kind = "seek" if detail.startswith("seek") else "jump"
            return f"FAST_FORWARD.{kind}", {"from_pos": e.get("from"), "to_pos": e.get("to"),
                                            "furthest_pos": e.get("furthest")}
        if "lead_s" in e:
            return "FAST_FORWARD.drift", {"lead_s": e["lead_s"], "duration_s": dur}
        if "covered_s" in e:
            return "FAST_FORWARD.incomplete", {
                "covered_s": e["covered_s"], "needed_share": policy.completion_coverage}
    elif rule == "MULTI_WINDOW":
        if "other_session" in e:
            return "MULTI_WINDOW.overlap", {"overlap_s": e.get("overlap_s", dur)}
        if "unfocused_s" in e:
            return "MULTI_WINDOW.share", {"unfocused_s": e["unfocused_s"],
                                          "playback_s": e.get("playback_s")}
        if "throttled" in detail:
            return "MULTI_WINDOW.throttled", {"duration_s": dur}
        if "hidden" in detail:
            return "MULTI_WINDOW.hidden", {"duration_s": dur}
        return "MULTI_WINDOW.unfocused", {"duration_s": dur}
    elif rule == "POPUP_GAP":
        if "challenge_id" in e:
            return "POPUP_GAP.unanswered", {"kind": e.get("kind"), "issued_at": e.get("issued_at"),
                                            "expires_at": e.get("expires_at")}
        if "playback_from_s" in e:
            p0, p1 = float(e["playback_from_s"]), float(e.get("playback_to_s", 0.0))
            return "POPUP_GAP.gap", {"gap_s": p1 - p0, "max_s": policy.popup_max_gap_s,
                                     "from_pos": p0, "to_pos": p1}
    elif rule == "FACE_LIVENESS":
        if not ev:
            return "FACE_LIVENESS.no_liveness", {"grace_s": policy.liveness_open_grace_s}
        if len(ev) == 1 and detail.startswith("photo"):
            return "FACE_LIVENESS.photo", {"outcome": e.get("outcome"), "score": e.get("distance"),
                                           "threshold": policy.match_distance,
                                           "taken_at": e.get("taken_at")}
        outcomes = [str(x.get("outcome")) for x in ev]
        code = ("FACE_LIVENESS.replayed" if all(o == "near_duplicate" for o in outcomes)
                else "FACE_LIVENESS.challenge")
        return code, {"frames": len(ev), "outcomes": outcomes}
    elif rule == "LESSON_ORDER":
        return "LESSON_ORDER.order", {"lessons": [{"lesson_id": x.get("lesson_id"),
                                                   "status": x.get("status")} for x in ev]}
    elif rule == "RANDOM_PHOTO":
        return "RANDOM_PHOTO.missing", {"class_hour": e.get("class_hour"),
                                        "from_pos": e.get("playback_from_s"),
                                        "to_pos": e.get("playback_to_s")}
    elif rule == "LATE_TELEMETRY":
        return "LATE_TELEMETRY.late", {"late_s": e.get("late_playback_s", dur),
                                       "limit_s": policy.late_telemetry_s}
    return "violation.other", {"detail": detail}


def violation_text(v: Mapping[str, Any], policy: Policy) -> str:
    code, params = violation_message(v, policy)
    return render(code, params)


def grouped(violations: list[Mapping[str, Any]], policy: Policy) -> list[dict[str, Any]]:
    """Violations of one kind (code) together, in order of their first occurrence: {rule, code,
    count, first_at, params (the first one's), text_zh (the first one rendered)} — what an
    export cell or a callback carries instead of hundreds of repeats."""
    groups: dict[str, dict[str, Any]] = {}
    for v in sorted(violations, key=lambda x: float(x.get("at", 0.0))):
        code, params = violation_message(v, policy)
        g = groups.get(code)
        if g is None:
            groups[code] = {"rule": str(v.get("rule", "")), "code": code, "count": 1,
                            "first_at": float(v.get("at", 0.0)), "params": params,
                            "text_zh": render(code, params)}
        else:
            g["count"] += 1
    return list(groups.values())


def grouped_text(violations: list[Mapping[str, Any]], policy: Policy) -> str:
    """One line per kind for a spreadsheet cell: "倍速 2.0×…（共 26 次）"."""
    return "\n".join(g["text_zh"] + (f"（共 {g['count']} 次）" if g["count"] > 1 else "")
                     for g in grouped(violations, policy))


def audit_action(action: str) -> str:
    return render(f"audit.{action}") if has(f"audit.{action}") else action


def compile_catalogue() -> bytes:
    """messages.po compiled with Babel (what messages.mo must hold)."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with PO_FILE.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    out = BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def catalogue_entries(mo: bytes | None = None) -> dict[str, str]:
    """{msgid: msgstr} of the compiled catalogue (the file's, or ``mo``'s)."""
    from io import BytesIO

    from babel.messages.mofile import read_mo

    data = MO_FILE.read_bytes() if mo is None else mo
    return {str(m.id): str(m.string) for m in read_mo(BytesIO(data)) if m.id}


if __name__ == "__main__":
    MO_FILE.write_bytes(compile_catalogue())
    print(f"wrote {MO_FILE}")
