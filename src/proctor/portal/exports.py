"""Exam roster and flagged-session exports as XLSX (openpyxl) and CSV, from plain row dicts.

Both formats are made for county staff who open them in Excel or WPS:
- Chinese headers, a frozen header row, an auto-filter and column widths that fit CJK text;
- CSV in UTF-8 with a BOM (without it Excel reads the Chinese as mojibake) and CRLF lines;
- resident ID numbers masked (410***********123X) unless the caller's role may see them;
  unmasked ones are kept as text so that Excel doesn't turn them into 4.10105E+17;
- text that would start a formula (=, +, -, @) is stored as text in XLSX and prefixed with
  an apostrophe in CSV: names and titles come from platforms and must never execute.

Row dicts: see ROSTER_COLUMNS and FLAGGED_COLUMNS for the keys; missing keys export empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from proctor.domain.ids import mask_id_number
from proctor.portal.labels import eligibility_label, rule_label, status_label
from proctor.portal.templating import DISPLAY_TZ

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text / id_number / datetime / date / hours / bool / rules / status / list
    min_width: int = 8


ROSTER_COLUMNS: tuple[Column, ...] = (
    Column("learner_name", "姓名"),
    Column("id_number", "身份证号", "id_number", 20),
    Column("phone", "手机号", min_width=13),
    Column("institution", "培训机构", min_width=16),
    Column("course", "课程", min_width=14),
    Column("occupation", "职业（工种）"),
    Column("class_name", "开班批次"),
    Column("class_start_on", "开班日期", "date", 11),
    Column("credited_hours", "认定学时", "hours"),
    Column("required_hours", "要求学时", "hours"),
    Column("practical_hours", "线下实操学时", "hours"),
    Column("eligible", "考试资格", "bool"),
    Column("reasons", "不符合原因", "list", 30),
    Column("exam_window", "考试批次"),
)

FLAGGED_COLUMNS: tuple[Column, ...] = (
    Column("session_id", "会话编号", min_width=12),
    Column("learner_name", "姓名"),
    Column("id_number", "身份证号", "id_number", 20),
    Column("county", "县区"),
    Column("institution", "培训机构", min_width=16),
    Column("course", "课程", min_width=14),
    Column("lesson_sequence", "课时序号"),
    Column("lesson_title", "课时名称", min_width=14),
    Column("started_at", "开始时间", "datetime", 17),
    Column("ended_at", "结束时间", "datetime", 17),
    Column("rules", "违规规则", "rules", 24),
    Column("status", "状态", "status"),
    Column("reviewed_by", "复核人"),
    Column("review_decision", "复核结论"),
    Column("review_reason", "复核理由", min_width=24),
)

ROSTER_TITLE = "考试名单"
FLAGGED_TITLE = "被标记学习会话"


# ---------------------------------------------------------------- cell values
def _cell_value(column: Column, value: Any, *, reveal_id_numbers: bool) -> Any:
    """The value as it should appear in a spreadsheet cell (typed where Excel can use it)."""
    if value is None:
        return None
    kind = column.kind
    if kind == "id_number":
        return str(value) if reveal_id_numbers else mask_id_number(str(value))
    if kind == "datetime" and isinstance(value, datetime):
        # Excel has no time zones: show Henan time, as the portal does.
        local = value.astimezone(DISPLAY_TZ) if value.tzinfo else value
        return local.replace(tzinfo=None, microsecond=0)
    if kind == "date" and isinstance(value, date):
        return value
    if kind == "hours":
        return float(value) if isinstance(value, Decimal) else value
    if kind == "bool":
        return eligibility_label(bool(value))
    if kind == "rules":
        return "；".join(f"{code} {rule_label(code)}" for code in value)
    if kind == "status":
        return status_label(str(value))
    if kind == "list":
        return "；".join(str(v) for v in value) if not isinstance(value, str) else value
    return value


def _text_width(value: Any) -> int:
    text = _as_text(value)
    # CJK characters are about twice as wide as Latin ones in Excel's width unit.
    return max(
        (sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in text.split("\n")), default=0
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], reveal_id_numbers: bool
) -> list[list[Any]]:
    return [
        [_cell_value(c, row.get(c.key), reveal_id_numbers=reveal_id_numbers) for c in columns]
        for row in rows
    ]


# ---------------------------------------------------------------- XLSX
_HEADER_FILL = PatternFill("solid", fgColor="DCE8F5")
_HEADER_FONT = Font(bold=True, color="17457A")
_THIN = Side(style="thin", color="C5CED8")


def to_xlsx(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    sheet_title: str,
    reveal_id_numbers: bool = False,
    notes: Mapping[str, str] | None = None,
) -> bytes:
    """One sheet with a styled header row; `notes` (e.g. 导出时间, 范围) go on a second sheet."""
    values = _rows(rows, columns, reveal_id_numbers)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title[:31]
    for col, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=col, value=column.header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(bottom=_THIN)
    for r, record in enumerate(values, start=2):
        for col, (column, value) in enumerate(zip(columns, record, strict=True), start=1):
            cell = ws.cell(row=r, column=col)
            cell.value = value
            if isinstance(value, str):
                # openpyxl turns any string starting with "=" into a formula: keep it text.
                cell.data_type = "s"
            if column.kind == "id_number":
                cell.number_format = "@"
            elif column.kind == "datetime":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            if column.kind in ("list", "rules") or column.key.endswith("reason"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, column in enumerate(columns, start=1):
        widest = max(
            [_text_width(column.header), *(_text_width(record[col - 1]) for record in values)]
        )
        ws.column_dimensions[get_column_letter(col)].width = min(
            max(widest + 2, column.min_width), 60
        )
    ws.row_dimensions[1].height = 22
    ws.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(len(values) + 1, 1)}"
    if notes:
        info = wb.create_sheet("说明")
        for r, (key, text) in enumerate(notes.items(), start=1):
            info.cell(row=r, column=1, value=key).font = Font(bold=True)
            info.cell(row=r, column=2, value=text).data_type = "s"
        info.column_dimensions["A"].width = 14
        info.column_dimensions["B"].width = 60
    wb.properties.creator = "proctor"
    wb.properties.title = sheet_title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- CSV
def _csv_text(column: Column, value: Any, reveal_id_numbers: bool) -> str:
    text = _as_text(value)
    if column.kind == "id_number" and reveal_id_numbers and text:
        # A leading tab keeps Excel from reading 18 digits as a number (and losing 3 of them).
        return "\t" + text
    if text.startswith(FORMULA_PREFIXES) and not _is_number(value):
        return "'" + text
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def to_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    reveal_id_numbers: bool = False,
) -> bytes:
    """UTF-8 with BOM, CRLF, a header row of Chinese column names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for record in _rows(rows, columns, reveal_id_numbers):
        writer.writerow(
            [_csv_text(c, v, reveal_id_numbers) for c, v in zip(columns, record, strict=True)]
        )
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- the two exports
def roster_xlsx(
    rows: Iterable[Mapping[str, Any]],
    *,
    reveal_id_numbers: bool = False,
    notes: Mapping[str, str] | None = None,
) -> bytes:
    return to_xlsx(
        rows,
        ROSTER_COLUMNS,
        sheet_title=ROSTER_TITLE,
        reveal_id_numbers=reveal_id_numbers,
        notes=notes,
    )


def roster_csv(rows: Iterable[Mapping[str, Any]], *, reveal_id_numbers: bool = False) -> bytes:
    return to_csv(rows, ROSTER_COLUMNS, reveal_id_numbers=reveal_id_numbers)


def flagged_xlsx(
    rows: Iterable[Mapping[str, Any]],
    *,
    reveal_id_numbers: bool = False,
    notes: Mapping[str, str] | None = None,
) -> bytes:
    return to_xlsx(
        rows,
        FLAGGED_COLUMNS,
        sheet_title=FLAGGED_TITLE,
        reveal_id_numbers=reveal_id_numbers,
        notes=notes,
    )


def flagged_csv(rows: Iterable[Mapping[str, Any]], *, reveal_id_numbers: bool = False) -> bytes:
    return to_csv(rows, FLAGGED_COLUMNS, reveal_id_numbers=reveal_id_numbers)


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def content_disposition(filename_zh: str, extension: str) -> str:
    """Header value for a download with a Chinese file name (RFC 6266 / 5987)."""
    return (
        f'attachment; filename="export.{extension}"; '
        f"filename*=UTF-8''{quote(filename_zh + '.' + extension)}"
    )
