from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from proctor.portal.exports import (
    FLAGGED_COLUMNS,
    ROSTER_COLUMNS,
    content_disposition,
    flagged_csv,
    flagged_xlsx,
    mask_id_number,
    roster_csv,
    roster_xlsx,
)

ID = "41010519900307123X"
ROSTER = [
    {
        "learner_name": "张伟",
        "id_number": ID,
        "phone": "13800005678",
        "institution": "中原电工技能培训中心",
        "course": "低压电工作业",
        "occupation": "电工",
        "class_name": "2025年第2期",
        "class_start_on": date(2025, 2, 10),
        "credited_hours": Decimal("10.5"),
        "required_hours": 10,
        "practical_hours": 8,
        "eligible": True,
        "reasons": [],
        "exam_window": "2025年4月",
    },
    {
        "learner_name": '=HYPERLINK("http://evil.example","点我")',
        "id_number": "410105198811112345",
        "institution": "金水区阳光职业培训学校",
        "course": "养老护理员（初级）",
        "occupation": "养老护理员",
        "credited_hours": 7,
        "required_hours": 40,
        "practical_hours": 0,
        "eligible": False,
        "reasons": ["第7课 学习判定无效", "已认定学时 7，未达到要求的 40 学时"],
        "exam_window": "2025年4月",
    },
]
FLAGGED = [
    {
        "session_id": "S100",
        "learner_name": "王芳",
        "id_number": ID,
        "county": "金水区",
        "institution": "中原电工技能培训中心",
        "course": "低压电工作业",
        "lesson_sequence": 3,
        "lesson_title": "安全用电",
        "started_at": datetime(2025, 3, 3, 1, 12, 5, 123456, tzinfo=UTC),
        "rules": ["FAST_FORWARD", "MULTI_WINDOW"],
        "status": "under_review",
        "review_reason": "+1 网络故障",
    }
]


def read_xlsx(data: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in ws.iter_rows(values_only=True)]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    assert b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_mask_format() -> None:
    assert mask_id_number(ID) == "410***********123X"
    assert mask_id_number("12345") == "*****"


def test_roster_xlsx_reads_back_with_chinese_headers_and_masked_ids() -> None:
    rows = read_xlsx(roster_xlsx(ROSTER))
    assert rows[0] == [c.header for c in ROSTER_COLUMNS]
    assert rows[0][:2] == ["姓名", "身份证号"]
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["身份证号"] == "410***********123X"
    assert first["认定学时"] == 10.5
    assert first["考试资格"] == "可报考"
    assert first["开班日期"] == datetime(2025, 2, 10)
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["考试资格"] == "暂不可报考"
    assert second["不符合原因"] == "第7课 学习判定无效；已认定学时 7，未达到要求的 40 学时"
    assert ID not in str(rows)


def test_xlsx_layout_header_frozen_filter_widths() -> None:
    wb = load_workbook(io.BytesIO(roster_xlsx(ROSTER, notes={"导出范围": "金水区"})))
    ws = wb["考试名单"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.auto_filter.ref == "A1:N3"
    # the institution column is wide enough for its Chinese names
    assert ws.column_dimensions["D"].width >= 2 * len("金水区阳光职业培训学校")
    assert wb["说明"]["B1"].value == "金水区"


def test_xlsx_never_writes_formulas_from_platform_text() -> None:
    data = roster_xlsx(ROSTER)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    rows = read_xlsx(data)
    assert rows[2][0] == '=HYPERLINK("http://evil.example","点我")'


def test_revealed_ids_stay_text() -> None:
    wb = load_workbook(io.BytesIO(roster_xlsx(ROSTER, reveal_id_numbers=True)))
    cell = wb.active["B2"]
    assert cell.value == ID
    assert cell.data_type == "s"
    assert cell.number_format == "@"
    rows = read_csv(roster_csv(ROSTER, reveal_id_numbers=True))
    assert rows[1][1] == "\t" + ID  # Excel keeps a tab-led cell as text


def test_roster_csv_reads_back() -> None:
    rows = read_csv(roster_csv(ROSTER))
    assert rows[0] == [c.header for c in ROSTER_COLUMNS]
    assert rows[1][0] == "张伟"
    assert rows[1][1] == "410***********123X"
    assert rows[1][7] == "2025-02-10"
    assert rows[1][8] == "10.5"
    assert rows[2][0].startswith("'=HYPERLINK")  # formula defused
    assert rows[2][2] == ""  # missing key: empty cell


def test_flagged_exports() -> None:
    xrows = read_xlsx(flagged_xlsx(FLAGGED))
    record = dict(zip(xrows[0], xrows[1], strict=True))
    assert xrows[0] == [c.header for c in FLAGGED_COLUMNS]
    assert record["开始时间"] == datetime(2025, 3, 3, 9, 12, 5)  # Henan time, whole seconds
    assert record["违规规则"] == "FAST_FORWARD 快进播放；MULTI_WINDOW 多窗口学习"
    assert record["状态"] == "待二审"  # under_review: a second reviewer is awaited
    assert record["身份证号"] == "410***********123X"
    crows = read_csv(flagged_csv(FLAGGED))
    crecord = dict(zip(crows[0], crows[1], strict=True))
    assert crecord["开始时间"] == "2025-03-03 09:12:05"
    assert crecord["复核理由"] == "'+1 网络故障"


@pytest.mark.parametrize("export", [roster_xlsx, flagged_xlsx])
def test_empty_xlsx_has_only_the_header(export) -> None:
    assert len(read_xlsx(export([]))) == 1


def test_content_disposition_carries_the_chinese_name() -> None:
    value = content_disposition("考试名单", "xlsx")
    assert 'filename="export.xlsx"' in value
    assert "filename*=UTF-8''%E8%80%83%E8%AF%95%E5%90%8D%E5%8D%95.xlsx" in value
