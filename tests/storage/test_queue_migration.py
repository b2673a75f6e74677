"""Revision 0013_queue gives stored verdicts their session's institution and start, and the
stored ``awaiting`` column, both ways."""

from __future__ import annotations

from sqlalchemy import text

from proctor.config import Settings
from proctor.storage.db import engine_for
from proctor.storage.migrate import downgrade, upgrade
from tests.factories import Platform, heartbeats, ts


def test_stored_verdicts_get_their_session_facts(platform: Platform, settings: Settings) -> None:
    sid = platform.ready_session()
    events = [*heartbeats(sid, 5),
              {"id": "end", "session_id": sid, "seq": 6, "ts": ts(), "type": "session.end"}]
    assert platform.api.post("/v1/events", {"events": events}).status_code == 200
    url = settings.database_url
    with engine_for(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar_one() == 1
    engine_for(url).dispose()
    downgrade(url, "0012_faces3")
    with engine_for(url).begin() as conn:
        # one flagged and awaiting a first decision, as a reviewer's queue would hold it
        conn.execute(text("UPDATE verdicts SET engine_status = 'invalid', status = 'invalid', "
                          "reviewed = :no"), {"no": False})
    engine_for(url).dispose()
    upgrade(url)
    with engine_for(url).connect() as conn:
        row = conn.execute(text(
            "SELECT v.institution_id = s.institution_id, v.session_started_at = s.started_at, "
            "v.awaiting FROM verdicts v JOIN study_sessions s ON s.id = v.session_id")).one()
    assert tuple(bool(x) for x in row) == (True, True, True)
