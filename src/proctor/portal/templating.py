"""The portal's Jinja2 environment: where the templates live, their filters and globals.

Phase 2 hands this environment to Starlette: `Jinja2Templates(env=make_environment())`.
Templates build links with `portal_path(...)` (so the URL scheme lives in one place, see
PORTAL_ROUTES) and format values with the filters below, so a page context carries raw values
(datetimes, seconds, codes), never pre-formatted strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import jinja2

from proctor.portal import labels
from proctor.portal.timeline import mmss
from proctor.services import messages

PORTAL_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PORTAL_DIR / "templates"
STATIC_DIR = PORTAL_DIR / "static"
DEFAULT_BASE_PATH = "/portal"
# County HR bureaus are all in Henan: times are shown in China Standard Time.
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")

# The routes the templates link to (relative to the portal's base path). Phase 2 serves these.
PORTAL_ROUTES: Mapping[str, str] = {
    "dashboard": "GET /",
    "login": "GET, POST /login",
    "logout": "POST /logout",
    "queue": "GET /queue?county=&institution=&course=&rule=&status=&date_from=&date_to=&page=",
    "session": "GET /sessions/{session_id}",
    "review": "POST /sessions/{session_id}/review",
    "learner": "GET /learners/{learner_id}",
    "institution": "GET /institutions/{institution_id}?course=",
    "exports": "GET /exports/roster.xlsx|roster.csv?institution=&course=, "
    "GET /exports/flagged.xlsx|flagged.csv?<queue filters>",
    "dead_letters": "GET /dead-letters",
    "dead_letter_retry": "POST /dead-letters/{id}/retry",
    "audit": "GET /audit?page=",
    "static": "GET /static/{path}",
}


def make_environment(*, base_path: str = DEFAULT_BASE_PATH) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html", "svg", "xml"]),
        undefined=jinja2.StrictUndefined,  # a missing context variable is a bug, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    base = base_path.rstrip("/")

    def portal_path(*parts: object, **query: object) -> str:
        """`portal_path("sessions", sid)` → /portal/sessions/<sid>, query args without Nones."""
        path = "/".join(quote(str(p), safe="") for p in parts)
        url = f"{base}/{path}" if path else f"{base}/"
        params = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{url}?{urlencode(params)}" if params else url

    def static_url(path: str) -> str:
        return f"{base}/static/{path}"

    env.globals.update(
        portal_path=portal_path,
        static_url=static_url,
        RULE_LABELS=labels.RULE_LABELS,
        STATUS_LABELS=labels.STATUS_LABELS,
        ROLE_LABELS=labels.ROLE_LABELS,
    )
    env.filters.update(
        mmss=mmss,
        local_dt=local_dt,
        local_date=local_date,
        hours=format_hours,
        pct=format_pct,
        rule_label=labels.rule_label,
        rule_colour=labels.rule_colour,
        status_label=labels.status_label,
        eligibility_label=labels.eligibility_label,
        stage_label=lambda code: labels.REVIEW_STAGE_LABELS.get(code, code),
        photo_outcome_label=labels.photo_outcome_label,
        photo_tone=lambda code: labels.PHOTO_OUTCOME_TONE.get(code, "neutral"),
        challenge_outcome_label=labels.challenge_outcome_label,
        challenge_kind_label=labels.challenge_kind_label,
        role_label=lambda code: labels.ROLE_LABELS.get(code, code),
        decision_label=lambda code: labels.REVIEW_DECISION_LABELS.get(code, code),
        pretty_json=pretty_json,
        audit_action=messages.audit_action,
        audit_key=lambda k: messages.render(f"audit.payload.{k}") if messages.has(
            f"audit.payload.{k}") else k,
        audit_value=audit_value,
        violation_text=messages.render,
    )
    return env


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(DISPLAY_TZ)
    return value.strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return local_dt(value, "%Y-%m-%d")
    return value.isoformat()


def format_hours(value: Decimal | float | int | None) -> str:
    """Class hours without float noise or trailing zeros: 12, 12.5."""
    if value is None:
        return "—"
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    number = number.quantize(Decimal("0.01")).normalize()
    return f"{number:f}"


def format_pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


def audit_value(value: Any) -> str:
    """An audit payload value for people: status and decision codes in Chinese, lists joined."""
    if isinstance(value, dict):
        return "；".join(f"{k}：{audit_value(x)}" for k, x in sorted(value.items()))
    if isinstance(value, list):
        return "、".join(audit_value(x) for x in value)
    if value is None or value == "":
        return "—"
    text = str(value)
    return (labels.REVIEW_DECISION_LABELS.get(text) or labels.STATUS_LABELS.get(text)
            or {"full": "完整", "masked": "已脱敏", "first": "初审", "second": "二审"}.get(text)
            or text)


def pretty_json(value: Any) -> str:
    # Chinese stays readable (no \uXXXX); autoescaping still escapes it for HTML.
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render outside a request (tests, static previews)."""
    return env.get_template(name).render(**context)
