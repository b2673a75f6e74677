"""Bench section: the review portal at county scale (10,000 learners, 100,000 sessions).

Setup, in a PostgreSQL database of the bench's own (created here, dropped at the end):
`proctor demo` (the simulator's 78 sessions with real events, photos and verdicts, the five
users), then generated rows through the real tables in SQL (INSERT … SELECT over
generate_series): INSTITUTIONS institutions in the demo's two counties, one 10-lesson course
each, LEARNERS_PER learners each, one sitting per learner and lesson (100,000 sessions begun
within the last 30 days) with verdicts whose JSON is the demo's own (valid ones cover their
lesson; a quarter flagged by the engine with the demo's violations, some reviewed, some
awaiting a second review). Then `VACUUM ANALYZE`.

Measured with real HTTP requests (httpx, signed in as the admin, who sees everything) against
uvicorn serving the app in its own process: p95 ms of the queue's first page, a deep queue page
(page DEEP by keyset), the session pages of the demo's flagged sessions, the biggest
institution's page (first page and one deep keyset page), the dashboard, and roster.xlsx of one
institution's course (LEARNERS_PER learners). Beside them, in the same run, the naive peers: the
deep queue page by OFFSET (`?page=N` without the cursor) over HTTP, and in-process (no HTTP,
a head start) the old Python paths: the dashboard counting every session's facts in Python, and
the institution page / roster calling `standing()` learner by learner.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text, true

from proctor.bench import Section
from proctor.bench.ingest import Server
from proctor.config import Settings
from proctor.domain.policy import load_policy
from proctor.portal import pages
from proctor.services.standing import standing
from proctor.simulation.demo import build_demo
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.migrate import upgrade
from proctor.storage.repositories import portal as repo
from proctor.storage.tables import Course, Enrolment, Institution, Learner, SessionVerdict

PG_SERVER = os.environ.get("PROCTOR_PG_BENCH_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
INSTITUTIONS = int(os.environ.get("PROCTOR_BENCH_PORTAL_INSTITUTIONS", "20"))
LEARNERS_PER = int(os.environ.get("PROCTOR_BENCH_PORTAL_LEARNERS", "500"))
LESSONS = 10
DEEP = 400  # the deep queue page: rows 9,976–10,000
REPEATS = 20
PORT = int(os.environ.get("PROCTOR_BENCH_PORTAL_PORT", "8661"))
PASSWORD = "bench-portal-42"
SECRET = "bench-portal-secret-" * 3


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 \
        else samples[0]


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _fill(url: str, templates: dict[str, Any]) -> None:
    """The generated county: institutions, courses, lessons, learners, enrolments, sessions and
    verdicts, in SQL through the real tables."""
    n_inst, per = INSTITUTIONS, LEARNERS_PER
    with engine_for(url).begin() as c:
        c.execute(text(
            "INSERT INTO institutions (name, county_code, created_at) "
            "SELECT '郑州市第' || n || '职业技能培训学校', "
            "CASE WHEN n % 2 = 0 THEN '410105' ELSE '410223' END, now() "
            "FROM generate_series(1, :n) n"), {"n": n_inst})
        c.execute(text(
            "INSERT INTO courses (institution_id, ext_id, title, occupation, offline_practical_hours,"
            " required_class_hours, certificate_only, created_at, updated_at) "
            "SELECT id, 'bench-101', '电子商务师（网店运营）', '电子商务师', 8, :lessons, false, now(),"
            " now() "
            "FROM institutions WHERE name LIKE '郑州市第%职业技能培训学校'"), {"lessons": LESSONS})
        c.execute(text(
            "INSERT INTO lessons (course_id, ext_id, seq, title, duration_s, class_hours) "
            "SELECT c.id, 'L' || k, k, '第' || k || '课 安全用电', 2700, 1 "
            "FROM courses c CROSS JOIN generate_series(1, :lessons) k "
            "WHERE c.ext_id = 'bench-101'"), {"lessons": LESSONS})
        c.execute(text(
            "INSERT INTO learners (institution_id, ext_id, real_name, id_number, phone, "
            "created_at, updated_at) "
            "SELECT i.id, 'b-' || i.id || '-' || n, "
            "(ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + n % 10] || "
            "(ARRAY['伟','芳','娜','敏','静','强','磊','洋','勇','军'])[1 + (n / 10) % 10] || n, "
            "i.county_code || '19' || lpad(((n * 7919 + i.id) % 100000000)::text, 8, '0') || "
            "lpad((i.id % 100)::text, 2, '0'), '138' || lpad((i.id * 10000 + n)::text, 8, '0'), "
            "now(), now() "
            "FROM institutions i CROSS JOIN generate_series(1, :per) n "
            "WHERE i.name LIKE '郑州市第%职业技能培训学校'"), {"per": per})
        c.execute(text(
            "INSERT INTO enrolments (learner_id, course_id, class_batch, start_date, "
            "practical_hours, created_at) "
            "SELECT l.id, c.id, '2026-' || lpad((1 + l.id % 6)::text, 2, '0') || '期', "
            "current_date - 40, 24, now() "
            "FROM learners l JOIN courses c ON c.institution_id = l.institution_id "
            "AND c.ext_id = 'bench-101'"))
        c.execute(text(
            "INSERT INTO study_sessions (id, institution_id, learner_id, course_id, lesson_id, "
            "client, status, started_at, last_event_at, ended_at) "
            "SELECT md5('bench:' || l.id || ':' || x.id)::uuid::text, l.institution_id, l.id, "
            "x.course_id, x.id, CAST(:client AS json), 'closed', t.at, t.at + interval '46 min', "
            "t.at + interval '46 min' "
            "FROM learners l JOIN enrolments e ON e.learner_id = l.id "
            "JOIN lessons x ON x.course_id = e.course_id "
            "CROSS JOIN LATERAL (SELECT now() - interval '29 days' + "
            "((l.id * 37 + x.seq * 3) % 28) * interval '1 day' + "
            "x.seq * interval '50 min' AS at) t "
            "WHERE x.ext_id LIKE 'L%' AND e.course_id IN "
            "(SELECT id FROM courses WHERE ext_id = 'bench-101')"),
            {"client": '{"user_agent": "Mozilla/5.0 (bench)", "ip": "203.0.113.9"}'})
        # verdicts: h in 0..99 picks the kind; flagged ones take the demo's violations in turn
        flagged = templates["flagged"]
        c.execute(text(
            "CREATE TEMP TABLE bench_templates (k int, result json, rules json) ON COMMIT DROP"))
        c.execute(text("INSERT INTO bench_templates VALUES (:k, CAST(:r AS json), "
                       "CAST(:rules AS json))"),
                  [{"k": k, "r": r, "rules": rules} for k, (r, rules) in enumerate(flagged)])
        c.execute(text(
            "INSERT INTO verdicts (session_id, status, engine_status, credited_seconds, result, "
            "rules, policy_id, policy_version, revision, evaluated_at, reviewed, "
            "institution_id, session_started_at) "
            "SELECT s.id, "
            "CASE WHEN h < 75 THEN 'valid' WHEN h < 93 THEN 'invalid' WHEN h < 96 "
            "THEN 'under_review' ELSE 'valid' END, "
            "CASE WHEN h < 75 THEN 'valid' ELSE 'invalid' END, "
            "CASE WHEN h < 75 THEN 2700 ELSE 0 END, "
            "CASE WHEN h < 75 THEN CAST(:valid AS json) ELSE b.result END, "
            "CASE WHEN h < 75 THEN CAST('[]' AS json) ELSE b.rules END, "
            ":policy_id, :policy_version, 1, s.ended_at, h >= 85, s.institution_id, "
            "s.started_at "
            "FROM (SELECT id, ended_at, institution_id, started_at, abs(hashtext(id)) % 100 AS h, "
            "abs(hashtext(id || 'k')) % :kinds AS k FROM study_sessions "
            "WHERE id NOT IN (SELECT session_id FROM verdicts)) s "
            "JOIN bench_templates b ON b.k = s.k"),
            {"valid": templates["valid"], "policy_id": templates["policy_id"],
             "policy_version": templates["policy_version"], "kinds": len(flagged)})
    with engine_for(url).connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))


def _templates(url: str) -> dict[str, Any]:
    """Verdict JSON from the demo: one per flagged kind; a valid one made to cover its lesson."""
    import json

    with session_factory(engine_for(url))() as s:
        rows = list(s.scalars(select(SessionVerdict)))
    flagged: dict[str, tuple[str, str]] = {}
    valid = None
    for v in rows:
        if v.engine_status == "invalid" and v.result.get("violations"):
            key = ",".join(v.rules or [])
            # a light one per rule set: the heavy demo sessions are measured on their own pages
            if key not in flagged or len(v.result["violations"]) < len(
                    json.loads(flagged[key][0])["violations"]):
                flagged[key] = (json.dumps(v.result), json.dumps(v.rules or []))
        elif v.status == "valid" and valid is None:
            valid = v
    assert flagged and valid is not None
    result = {**valid.result, "status": "valid", "credited_seconds": 2700.0,
              "covered": [[0.0, 2700.0]], "played_seconds": 2700.0, "photos_kept": 1,
              "violations": [], "completed": True}
    return {"flagged": list(flagged.values()), "valid": json.dumps(result),
            "policy_id": valid.policy_id, "policy_version": valid.policy_version}


def _sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    html = client.get("/portal/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    r = client.post("/portal/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1), "next": ""})
    assert r.status_code == 303, r.status_code
    return client


def _get(client: httpx.Client, path: str) -> httpx.Response:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return r


def run() -> Section:
    name = f"proctor_bench_portal_{os.getpid()}"
    url = f"{PG_SERVER}/{name}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _run(url, Path(tmp))
    finally:
        engine_for(url).dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(url: str, blobs: Path) -> Section:
    t0 = time.perf_counter()
    upgrade(url)
    policy = load_policy("henan-2021")
    settings = Settings(database_url=url, blob_dir=blobs, broker_url=None, redis_url=None,
                        secret_key=SECRET)
    now = utcnow()
    with unit_of_work(session_factory(engine_for(url))) as uow:
        build_demo(uow, settings=settings, policy=policy, now=now,
                   passwords=dict.fromkeys(("admin", "reviewer", "reviewer2", "staff",
                                            "auditor"), PASSWORD))
    _fill(url, _templates(url))
    factory = session_factory(engine_for(url))
    with factory() as s:
        sessions = s.scalar(text("SELECT count(*) FROM study_sessions"))
        learners = s.scalar(text("SELECT count(*) FROM learners"))
        flagged_n = s.scalar(text("SELECT count(*) FROM verdicts WHERE engine_status = "
                                  "'invalid' OR status IN ('invalid', 'under_review')"))
        demo = ("FROM study_sessions s JOIN verdicts v ON v.session_id = s.id "
                "JOIN institutions i ON i.id = s.institution_id "
                "WHERE i.name NOT LIKE '郑州市第%职业技能培训学校'")
        demo_sessions = list(s.scalars(text(f"SELECT s.id {demo} ORDER BY s.started_at")))
        demo_flagged = list(s.scalars(text(f"SELECT s.id {demo} AND v.engine_status = 'invalid' "
                                           "ORDER BY s.started_at")))
        inst = s.scalar(select(Institution).where(Institution.name.like("郑州市第%"))
                        .order_by(Institution.id).limit(1))
        assert inst is not None
        course = s.scalar(select(Course).where(Course.institution_id == inst.id))
        assert course is not None
        inst_id, course_id = inst.id, course.id
        # the deep page's keyset cursor: the last row of page DEEP - 1, as the app writes it
        _, filters = pages.queue_filters({})
        rows, _ = repo.queue(s, lambda _c: true(), filters,
                             offset=(DEEP - 1) * pages.PAGE_SIZE - 1, limit=1)
        cursor = pages._cursor_text(repo.cursor_of(rows[0], filters))
    setup_s = time.perf_counter() - t0

    load_before = os.getloadavg()[0]
    server = Server(url, port=PORT, env={"PROCTOR_SECRET_KEY": SECRET,
                                         "PROCTOR_BLOB_DIR": str(blobs)})
    try:
        client = _sign_in(server.url, "admin")
        figures: dict[str, list[float]] = {}
        figures["queue"] = _timed(lambda: _get(client, "/portal/queue"), REPEATS)
        deep_keyset = f"/portal/queue?page={DEEP}&after={cursor}"
        deep_rows = _get(client, deep_keyset).text
        assert f"第 {DEEP}/" in deep_rows, "the deep page is not the page it says"
        figures["queue_deep"] = _timed(lambda: _get(client, deep_keyset), REPEATS)
        figures["queue_deep_offset"] = _timed(
            lambda: _get(client, f"/portal/queue?page={DEEP}"), REPEATS)
        sizes = {}
        for sid in demo_sessions:
            sizes[sid] = len(_get(client, f"/portal/sessions/{sid}").content)
        session_ms: list[float] = []
        for sid in demo_flagged * 2:
            t1 = time.perf_counter()
            _get(client, f"/portal/sessions/{sid}")
            session_ms.append((time.perf_counter() - t1) * 1000)
        figures["session"] = session_ms
        inst_path = f"/portal/institutions/{inst_id}?course={course_id}"
        first = _get(client, inst_path).text
        figures["institution"] = _timed(lambda: _get(client, inst_path), REPEATS)
        deep_inst = first
        for _ in range(5):  # five pages in, by the page's own next links (keyset)
            link = re.search(r'href="([^"]+)" rel="next"', deep_inst)
            assert link, "no next page on the institution page"
            next_path = link.group(1).replace("&amp;", "&")
            deep_inst = _get(client, next_path).text
        figures["institution_deep"] = _timed(lambda: _get(client, next_path), REPEATS)
        figures["institution_search"] = _timed(
            lambda: _get(client, inst_path + "&q=王"), REPEATS)
        figures["dashboard"] = _timed(lambda: _get(client, "/portal/"), REPEATS)
        roster = f"/portal/exports/roster.xlsx?institution={inst_id}&course={course_id}"
        roster_bytes = len(_get(client, roster).content)
        figures["roster"] = _timed(lambda: _get(client, roster), 5)
    finally:
        server.stop()

    load_after = os.getloadavg()[0]
    # the naive peers, in-process (no HTTP: a head start)
    today = datetime.now().date()
    with factory() as s:
        def old_dashboard() -> None:
            since = utcnow() - timedelta(days=30)
            facts = repo.session_facts(s, lambda _c: true(), since)
            Counter(status or "pending" for _, _, status, _, _ in facts)
            Counter(rule for f in facts if f[3] == "invalid" for rule in (f[4] or []))
            Counter(f[0] for f in facts)
            Counter(f[1].date() for f in facts)

        course_row = s.get(Course, course_id)
        assert course_row is not None
        enrolled = list(s.scalars(select(Learner).join(Enrolment, Enrolment.learner_id == Learner.id)
                                  .where(Enrolment.course_id == course_id)))

        def old_roster() -> None:
            for learner in enrolled:
                standing(s, learner=learner, course=course_row, policy=policy, settings=settings,
                         today=today)
                repo.latest_session_by_lesson(s, learner.id, course_id)

        naive_dashboard = _timed(old_dashboard, 3)
        naive_roster = _timed(old_roster, 1)

    p95 = {k: round(_p95(v), 1) for k, v in figures.items()}
    pages_p95 = {k: p95[k] for k in ("queue", "queue_deep", "session", "institution",
                                     "institution_deep", "institution_search", "dashboard")}
    worst = max(pages_p95, key=lambda k: pages_p95[k])
    heaviest = max(sizes.values())
    out: dict[str, float | int | str] = {
        "portal_p95_ms_100k_sessions": pages_p95[worst],
        "portal_p95_worst_page": worst,
        "portal_session_page_bytes_max": heaviest,
        "portal_sessions": int(sessions or 0),
        "portal_learners": int(learners or 0),
        "portal_queue_p95_ms": p95["queue"],
        "portal_queue_deep_p95_ms": p95["queue_deep"],
        "portal_queue_deep_offset_p95_ms": p95["queue_deep_offset"],
        "portal_queue_deep_offset_over_keyset": round(p95["queue_deep_offset"]
                                                      / p95["queue_deep"], 2),
        "portal_session_p95_ms": p95["session"],
        "portal_institution_p95_ms": p95["institution"],
        "portal_institution_deep_p95_ms": p95["institution_deep"],
        "portal_institution_search_p95_ms": p95["institution_search"],
        "portal_dashboard_p95_ms": p95["dashboard"],
        "portal_dashboard_python_loop_ms": round(statistics.median(naive_dashboard), 1),
        "portal_roster_xlsx_p95_ms": p95["roster"],
        "portal_roster_xlsx_bytes": roster_bytes,
        "portal_roster_per_learner_standing_ms": round(naive_roster[0], 1),
        "portal_load_average": round(max(load_before, load_after), 1),
    }
    off, ratio = p95["queue_deep_offset"], out["portal_queue_deep_offset_over_keyset"]
    loop, one_by_one = out["portal_dashboard_python_loop_ms"], out[
        "portal_roster_per_learner_standing_ms"]
    md = f"""
{int(learners or 0):,} learners, **{int(sessions or 0):,} sessions** ({int(flagged_n or 0):,}
flagged) in PostgreSQL: `proctor demo` (real events, photos, verdicts) plus {INSTITUTIONS}
generated institutions × {LEARNERS_PER} learners × {LESSONS} lessons inserted in SQL through the
real tables, verdict JSON taken from the demo's (setup {setup_s:.0f} s). Real HTTP requests to
uvicorn in its own process, signed in as the admin (everything in scope); p95 of {REPEATS}
requests (session pages: each demo flagged session twice; roster: 5).

| page | p95 ms | naive peer, same run |
|---|---|---|
| queue, first page | {p95['queue']} | |
| queue, page {DEEP} (keyset `after=`) | {p95['queue_deep']} | OFFSET (`?page={DEEP}`): {off} ms ({ratio}×) |
| session page (demo's flagged sessions) | {p95['session']} | |
| institution page, first 50 learners | {p95['institution']} | |
| institution page, 6th page (keyset) | {p95['institution_deep']} | |
| institution page, learner search | {p95['institution_search']} | |
| dashboard (GROUP BY) | {p95['dashboard']} | facts counted in Python¹: {loop} ms |
| roster.xlsx, {LEARNERS_PER} learners | {p95['roster']} | `standing()` one by one¹: {one_by_one} ms |

¹ in-process, no HTTP and (roster) no workbook: a head start for the old path.

Slowest page: **{worst}, {pages_p95[worst]} ms p95** (target ≤ 300 ms; the roster is an export,
reported apart). Heaviest demo session page: **{heaviest / 1000:.0f} kB** (target ≤ 300 kB),
the roster.xlsx {roster_bytes / 1000:.0f} kB. The machine's 1-minute load average was
{load_before:.1f} when the requests began and {load_after:.1f} when they ended (2 cores, shared
with other work: absolute times scale with it, the ratios beside them less so). The bench's
database is its own (`proctor_bench_portal_<pid>`), dropped at the end.
"""
    return Section(title="Portal at 100,000 sessions", figures=out, markdown=md)
