"""roster.xlsx|csv (institution, course) and flagged.xlsx|csv (queue filters), audited."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from proctor.domain.errors import NotFound
from proctor.portal import exports, pages
from proctor.portal.deps import ViewerDep, int_or_none
from proctor.portal.templating import DISPLAY_TZ
from proctor.services import audit_log

router = APIRouter()


@router.get("/exports/{name}")
def export(request: Request, v: ViewerDep, name: str) -> Response:
    """roster.xlsx|csv (institution, course) and flagged.xlsx|csv (queue filters)."""
    kind, _, fmt = name.partition(".")
    if kind not in ("roster", "flagged") or fmt not in ("xlsx", "csv"):
        raise NotFound(pages.NOT_FOUND)
    params = dict(request.query_params)
    reveal = v.scope.sees_full_ids
    notes = {"导出时间": v.now.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M"),
             "导出人": v.user.display_name,
             "身份证号": "完整" if reveal else "已脱敏"}
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response once sent
    if kind == "roster":
        inst = pages.scoped_institution(v, int_or_none(params.get("institution", "")))
        course = pages.scoped_course(v, inst, int_or_none(params.get("course", "")))
        if course is None:
            raise NotFound("该机构还没有登记课程。")
        rows: Iterable[dict[str, Any]] = pages.roster_rows(v, inst, course)
        notes |= {"范围": f"{inst.name} · {course.title}"}
        columns, sheet = exports.ROSTER_COLUMNS, exports.ROSTER_TITLE
        title, subject = f"考试名单_{inst.name}_{course.title}", f"course:{course.id}"
    else:
        rows = pages.flagged_rows(v, params)
        notes |= {"筛选条件": urlencode({k: x for k, x in params.items() if x}) or "全部"}
        columns, sheet = exports.FLAGGED_COLUMNS, exports.FLAGGED_TITLE
        title, subject = "被标记学习会话", "queue"
    # Rows are made and written a chunk at a time (the XLSX goes to disk as it grows, the CSV
    # line by line), within this request's unit of work; the file is then streamed out.
    if fmt == "xlsx":
        count = exports.write_xlsx(out, rows, columns, sheet_title=sheet,
                                   reveal_id_numbers=reveal, notes=notes)
    else:
        count = exports.write_csv(out, rows, columns, reveal_id_numbers=reveal)
    audit_log.append(v.uow, actor=audit_log.actor_of(v.user), action=f"export.{kind}",
                     subject=subject, at=v.now,
                     payload={"format": fmt, "rows": count, "id_numbers":
                              "full" if reveal else "masked",
                              "filters": {k: x for k, x in params.items() if x}})
    media = exports.XLSX_MEDIA_TYPE if fmt == "xlsx" else exports.CSV_MEDIA_TYPE
    size = out.tell()
    out.seek(0)
    return StreamingResponse(_chunks(out), media_type=media, headers={
        "Content-Disposition": exports.content_disposition(title, fmt),
        "Content-Length": str(size)})


def _chunks(f: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    try:
        while chunk := f.read(size):
            yield chunk
    finally:
        f.close()
