"""Exports read in Chinese through the portal's message catalogue: the flagged sessions' evidence
is the same text the session page shows, grouped per kind; never the engine's English."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from conftest import World
from proctor.domain.policy import load_policy
from proctor.services import messages

HOME = "410105"
ENGLISH = re.compile(r"\b(seek|rate|played|jump|challenge|photo|status|lesson|hidden)\b", re.I)


@pytest.fixture
def world(shared_world: World) -> World:
    """These tests only read: one data set per backend for the whole module."""
    return shared_world


def test_flagged_xlsx_evidence_is_the_catalogue_s_chinese(world: World) -> None:
    r = world.client("reviewer").get("/portal/exports/flagged.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content))["被标记学习会话"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    evidence = header.index("违规情况")
    cells = [str(row[evidence] or "") for row in rows[1:]]
    assert cells and all(cells), "every flagged session has its evidence"
    for cell in cells:
        assert re.search(r"[\u4e00-\u9fff]", cell) and not ENGLISH.search(cell), cell
    page = world.client("reviewer").get(f"/portal/sessions/{world.flagged[HOME]}").text
    first_lines = {c.split("\n")[0].split("（共")[0] for c in cells}
    assert any(line in page for line in first_lines)  # the page says the same thing


def test_grouped_evidence_counts_repeats_and_keeps_codes_and_params() -> None:
    policy = load_policy("henan-2021")
    hidden = [{"rule": "MULTI_WINDOW", "at": 100.0 + 60 * k, "until": 130.0 + 60 * k,
               "detail": "played while hidden", "evidence": []} for k in range(3)]
    groups = messages.grouped(hidden, policy)
    assert [(g["code"], g["count"]) for g in groups] == [("MULTI_WINDOW.hidden", 3)]
    assert groups[0]["params"] == {"duration_s": 30.0}
    assert groups[0]["text_zh"] == messages.render("MULTI_WINDOW.hidden", {"duration_s": 30.0})
    assert messages.grouped_text(hidden, policy).endswith("（共 3 次）")
