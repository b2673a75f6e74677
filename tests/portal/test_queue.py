"""The queue at county scale: what each row awaits, search, keyset pages, bulk 维持无效, 下一条."""

from __future__ import annotations

import re

from conftest import World, csrf_of
from proctor.storage.db import engine_for, session_factory
from proctor.storage.tables import AuditEntry, Learner, SessionVerdict

HOME = "410105"


def _learner(world: World) -> Learner:
    with session_factory(engine_for(world.settings.database_url))() as s:
        learner = s.get(Learner, world.learner[HOME])
        assert learner is not None
        s.expunge(learner)
        return learner


def test_search_by_name_and_full_id_number_only(world: World) -> None:
    client = world.client("reviewer")
    learner = _learner(world)
    everyone = client.get("/portal/queue").text
    found = client.get("/portal/queue", params={"q": learner.real_name}).text
    assert learner.real_name in found and "待复核" in found
    assert found.count("data-queue-row") <= everyone.count("data-queue-row")
    by_id = client.get("/portal/queue", params={"q": learner.id_number}).text
    assert by_id.count("data-queue-row") == found.count("data-queue-row") >= 1
    partial = client.get("/portal/queue", params={"q": learner.id_number[:17]}).text
    assert "data-queue-row" not in partial  # never a partial ID number match
    # staff (masked IDs) still find a learner by the full number, and see it masked
    staff = world.client("staff").get("/portal/queue", params={"q": learner.id_number})
    assert staff.status_code in (200, 404)
    nobody = client.get("/portal/queue", params={"q": "没有这个人"}).text
    assert "没有符合条件的会话" in nobody


def test_rule_names_statuses_and_page_clamped(world: World) -> None:
    html = world.client("reviewer").get("/portal/queue", params={"page": "999"}).text
    assert "第 999/" not in html and "第 1/1 页" in html
    assert "多窗口学习" in html  # Chinese rule names visible, not only in a tooltip
    assert 'value="needs_review"' not in html and ">待二审<" in html


def test_bulk_confirm_with_one_reason_then_next(world: World) -> None:
    client = world.client("reviewer")
    page = client.get("/portal/queue", params={"status": "awaiting"})
    ids = re.findall(r'name="session_ids" value="([^"]+)"', page.text)
    assert ids
    missing = client.post("/portal/queue/bulk-review",
                          data={"session_ids": ids, "reason": "", "csrf_token": csrf_of(page.text)})
    assert missing.status_code == 422
    done = client.post("/portal/queue/bulk-review",
                       data={"session_ids": ids, "reason": "证据确凿，维持无效",
                             "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and f"n={len(ids)}" in done.headers["location"]
    shown = client.get(done.headers["location"]).text
    assert f"已批量维持无效 {len(ids)} 条" in shown
    with session_factory(engine_for(world.settings.database_url))() as s:
        for sid in ids:
            v = s.get(SessionVerdict, sid)
            assert v is not None and v.reviewed and v.status == "invalid"
        reasons = [e.payload.get("reason") for e in s.query(AuditEntry)
                   if e.action == "review.confirm_invalid"]
        assert reasons.count("证据确凿，维持无效") == len(ids)
    again = client.get("/portal/queue", params={"status": "awaiting"}).text
    assert "name=\"session_ids\"" not in again
    # staff can't use it: no form, and the POST is refused
    staff = world.client("staff")
    staff_page = staff.get(f"/portal/sessions/{ids[0]}")
    assert "bulk-review" not in staff.get("/portal/queue").text
    refused = staff.post("/portal/queue/bulk-review",
                         data={"session_ids": ids, "reason": "x",
                               "csrf_token": csrf_of(staff_page.text)})
    assert refused.status_code in (403, 404)
