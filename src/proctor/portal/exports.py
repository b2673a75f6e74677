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
from typing import IO, Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
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
    Column("learner_name", "姓名", min_width=10),
    Column("id_number", "身份证号", "id_number", 20),
    Column("phone", "手机号", min_width=13),
    Column("institution", "培训机构", min_width=26),
    Column("course", "课程", min_width=20),
    Column("occupation", "职业（工种）"),
    Column("class_name", "开班批次"),
    Column("class_start_on", "开班日期", "date", 11),
    Column("credited_hours", "认定学时", "hours"),
    Column("required_hours", "要求学时", "hours"),
    Column("practical_hours", "线下实操学时", "hours"),
    Column("eligible", "考试资格", "bool"),
    Column("reasons", "不符合原因", "list", 40),
    Column("exam_window", "考试批次"),
)

FLAGGED_COLUMNS: tuple[Column, ...] = (
    Column("session_id", "会话编号", min_width=38),
    Column("learner_name", "姓名", min_width=10),
    Column("id_number", "身份证号", "id_number", 20),
    Column("county", "县区"),
    Column("institution", "培训机构", min_width=26),
    Column("course", "课程", min_width=20),
    Column("lesson_sequence", "课时序号"),
    Column("lesson_title", "课时名称", min_width=14),
    Column("started_at", "开始时间", "datetime", 17),
    Column("ended_at", "结束时间", "datetime", 17),
    Column("rules", "违规规则", "rules", 30),
    Column("evidence", "违规情况", "list", 50),
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


# ---------------------------------------------------------------- XLSX
_HEADER_FILL = PatternFill("solid", fgColor="DCE8F5")
_HEADER_FONT = Font(bold=True, color="17457A")
_THIN = Side(style="thin", color="C5CED8")


def write_xlsx(
    out: IO[bytes],
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    sheet_title: str,
    reveal_id_numbers: bool = False,
    notes: Mapping[str, str] | None = None,
) -> int:
    """Stream one sheet into ``out`` (openpyxl write-only: rows go to disk as they come, memory
    stays flat for 100,000 rows); returns how many rows were written. A styled, frozen header
    row with an auto-filter; `notes` (e.g. 导出时间, 范围) go on a second sheet. Column widths
    are fixed up front (a streamed sheet can't be measured afterwards): each column's
    ``min_width`` or its header, whichever is wider."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title[:31])
    for col, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(
            max(_text_width(column.header) + 2, column.min_width), 60)
    ws.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(bottom=_THIN)
        header.append(cell)
    ws.row_dimensions[1].height = 22
    ws.append(header)
    styles = [_style(column) for column in columns]
    written = 0
    for row in rows:
        record = []
        for column, (number_format, alignment) in zip(columns, styles, strict=True):
            value = _cell_value(column, row.get(column.key), reveal_id_numbers=reveal_id_numbers)
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                # openpyxl turns any string starting with "=" into a formula: keep it text.
                cell.data_type = "s"
            if number_format:
                cell.number_format = number_format
            if alignment is not None:
                cell.alignment = alignment
            record.append(cell)
        ws.append(record)
        written += 1
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{written + 1}"
    if notes:
        info = wb.create_sheet("说明")
        info.column_dimensions["A"].width = 14
        info.column_dimensions["B"].width = 60
        for key, text in notes.items():
            k = WriteOnlyCell(info, value=key)
            k.font = Font(bold=True)
            v = WriteOnlyCell(info, value=text)
            v.data_type = "s"
            info.append([k, v])
    wb.properties.creator = "proctor"
    wb.properties.title = sheet_title
    wb.save(out)
    return written


def _style(column: Column) -> tuple[str | None, Alignment | None]:
    number_format = {"id_number": "@", "datetime": "yyyy-mm-dd hh:mm:ss",
                     "date": "yyyy-mm-dd"}.get(column.kind)
    wrap = column.kind in ("list", "rules") or column.key.endswith("reason")
    return number_format, (Alignment(wrap_text=True, vertical="top") if wrap else None)


def to_xlsx(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], **options: Any
            ) -> bytes:
    """`write_xlsx` into memory (for small exports and tests)."""
    out = io.BytesIO()
    write_xlsx(out, rows, columns, **options)
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


def write_csv(
    out: IO[bytes],
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    reveal_id_numbers: bool = False,
) -> int:
    """UTF-8 with BOM, CRLF, a header row of Chinese column names; streamed into ``out`` row by
    row; returns how many rows were written."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    written = 0
    for row in rows:
        record = [_cell_value(c, row.get(c.key), reveal_id_numbers=reveal_id_numbers)
                  for c in columns]
        writer.writerow(
            [_csv_text(c, v, reveal_id_numbers) for c, v in zip(columns, record, strict=True)]
        )
        written += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return written


def to_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    reveal_id_numbers: bool = False,
) -> bytes:
    """`write_csv` into memory."""
    out = io.BytesIO()
    write_csv(out, rows, columns, reveal_id_numbers=reveal_id_numbers)
    return out.getvalue()


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
