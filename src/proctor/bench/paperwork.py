"""Bench section: the paperwork's documents at scale (docs/paperwork.md).

No database: what is timed is making the documents from records already read, each the median
of RUNS runs in one process.
- ``archive_json_sign_ms`` / ``archive_pdf_sign_ms``: one person's e-archive of 3 trainings x
  40 lessons (two sittings each, one made up after a leave), as canonical JSON and as the
  ReportLab PDF (WenQuanYi Zen Hei embedded), each with its Ed25519 signature, and the
  signature verified again (`services.archive`).
- ``report_xlsx_ms``: a county's monthly report workbook with its three openpyxl charts for
  ``INSTITUTIONS`` institutions and 12 rules (`services.reports.xlsx_bytes`).
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proctor.bench import Section
from proctor.config import Settings
from proctor.services import archive, reports

RUNS = 5
TRAININGS, LESSONS = 3, 40
INSTITUTIONS = 200
RULES = ("FAST_FORWARD", "MULTI_WINDOW", "LESSON_ORDER", "FACE_MISMATCH", "NO_FACE",
         "PHOTO_MISSING", "HEARTBEAT_GAP", "SPEED", "BACKGROUND_TAB", "DEVICE_SHARED",
         "IP_ROOM", "CHALLENGE_FAILED")


def _median_ms(fn: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of ``fn`` (the CPU time is this process's own:
    on a machine shared with other work it says what the document costs)."""
    wall, cpu = [], []
    for _ in range(RUNS):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _sitting(i: int, verdict: str, made_up: bool) -> dict[str, Any]:
    return {"session_id": f"{i:08x}-0000-4000-8000-000000000000",
            "started_at": "2026-11-02T01:00:00+00:00", "ended_at": "2026-11-02T01:40:00+00:00",
            "verdict": verdict, "engine_verdict": verdict,
            "rules": ["FAST_FORWARD"] if verdict == "invalid" else [],
            "evidence_sha256": hashlib.sha256(str(i).encode()).hexdigest(), "made_up": made_up,
            "reviews": []}


def _record() -> dict[str, Any]:
    trainings = []
    for t in range(TRAININGS):
        lessons = [{"lesson_id": f"L{k}", "seq": k, "title": f"第{k}课 电子商务实务",
                    "status": "valid", "class_hours": 1.0, "credited_class_hours": 1.0,
                    "sittings": [_sitting(t * 1000 + 2 * k, "invalid", True),
                                 _sitting(t * 1000 + 2 * k + 1, "valid", False)],
                    "leaves": [{"reason": "病假（书面请假单）", "recorded_by": "platform:pk",
                                "recorded_at": "2026-11-02T02:00:00+00:00"}]}
                   for k in range(1, LESSONS + 1)]
        trainings.append({
            "institution": f"培训机构{t}", "county_code": "410105",
            "course": {"id": f"c{t}", "title": "电子商务师（网店运营）", "occupation": "电子商务师",
                       "required_class_hours": float(LESSONS), "certificate_only": False,
                       "offline_practical_hours": 8.0},
            "class": {"batch": f"2026-{t + 1}", "start_date": "2026-11-01"},
            "lessons": lessons, "credited_class_hours": float(LESSONS), "practical_hours": 8.0,
            "exam": {"eligible": True, "reasons": [], "last_exam_date": None,
                     "next_window": {"starts_on": "2026-12-01", "ends_on": "2026-12-31",
                                     "label_zh": "2026年12月", "label_en": "December 2026"}}})
    return {"format": archive.FORMAT, "generated_at": "2026-12-02T00:00:00+00:00",
            "policy": "henan-2021@1",
            "person": {"real_name": "李娜", "id_number_masked": "410***********1707",
                       "id_number_sha256": "0" * 64},
            "trainings": trainings,
            "totals": {"trainings": TRAININGS, "credited_class_hours": float(TRAININGS * LESSONS)}}


def _figures() -> dict[str, Any]:
    by_inst = {f"郑州市第{i}职业培训学校": {"classes": 3, "sittings": 400 + i, "flagged": i % 37,
                                         "responses": 60, "satisfied": 50 + i % 10}
               for i in range(INSTITUTIONS)}
    return {"county_code": "410105", "period": "2026-11", "from": "2026-11-01",
            "until": "2026-12-01", "trainees": 24000, "classes": 600, "class_hours": 81000.0,
            "sittings": sum(v["sittings"] for v in by_inst.values()), "valid": 70000,
            "flagged": sum(v["flagged"] for v in by_inst.values()), "exams": 3000,
            "flagged_by_rule": {r: 100 - 7 * k for k, r in enumerate(RULES)},
            "by_institution": by_inst}


def run() -> Section:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(archive_key_file=Path(tmp) / "archive.pem")
        key = archive.public_pem(archive.signing_key(settings).public_key())
        doc = archive.Archive(_record())

        def signed(data: bytes) -> int:
            assert archive.verify(data, archive.sign(data, settings), key)
            return len(data)

        json_ms = _median_ms(lambda: signed(doc.json_bytes()))
        pdf_ms = _median_ms(lambda: signed(archive.pdf_bytes(doc, settings)))
        json_kb = len(doc.json_bytes()) / 1024
        pdf_kb = len(archive.pdf_bytes(doc, settings)) / 1024
    figures = _figures()
    xlsx_ms = _median_ms(lambda: reports.xlsx_bytes(figures))
    xlsx_kb = len(reports.xlsx_bytes(figures)) / 1024
    out: dict[str, float | int | str] = {
        "archive_json_sign_ms": round(json_ms[0], 2), "archive_json_sign_cpu_ms": round(json_ms[1], 2),
        "archive_pdf_sign_ms": round(pdf_ms[0], 1), "archive_pdf_sign_cpu_ms": round(pdf_ms[1], 1),
        "archive_pdf_kb": round(pdf_kb, 1), "report_xlsx_ms": round(xlsx_ms[0], 1),
        "report_xlsx_cpu_ms": round(xlsx_ms[1], 1), "report_xlsx_institutions": INSTITUTIONS}
    rows = [("e-archive JSON, Ed25519-signed and verified", json_ms, json_kb),
            ("e-archive PDF (ReportLab, CJK font embedded), signed and verified", pdf_ms, pdf_kb),
            (f"monthly report XLSX with 3 charts, {INSTITUTIONS} institutions", xlsx_ms, xlsx_kb)]
    table = "".join(f"| {name} | {ms[0]:.1f} ms | {ms[1]:.1f} ms | {kb:.0f} KiB |\n"
                    for name, ms, kb in rows)
    md = f"""One person's e-archive of {TRAININGS} trainings x {LESSONS} lessons (two sittings each,
one made up after a leave) and a county's monthly report for {INSTITUTIONS} institutions; no
database (the documents are made from records already read), median of {RUNS} runs. Wall clock
on the shared machine (other sessions' tests ran meanwhile) and the process's own CPU time.

| document | wall | CPU | size |
|---|---:|---:|---:|
{table}"""
    return Section("Paperwork documents (e-archive, monthly report)", out, md)
