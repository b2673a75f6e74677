"""Revision 0005_scale moves every stored event into the narrow layout and back."""

from __future__ import annotations

from sqlalchemy import text

from proctor.config import Settings
from proctor.storage.db import engine_for
from proctor.storage.migrate import downgrade, upgrade
from tests.factories import Platform, heartbeats, ts


def test_events_survive_the_move_both_ways(platform: Platform, settings: Settings) -> None:
    sid = platform.ready_session()
    events = heartbeats(sid, 30)
    events += [
        {"id": "s1", "session_id": sid, "seq": 31, "ts": ts(), "type": "seek", "from": 1.5,
         "to": 9.25},
        {"id": "f1", "session_id": sid, "seq": 32, "ts": ts(), "type": "focus", "state": "blur",
         "player": {"v": "3.2"}},
        {"id": "end", "session_id": sid, "seq": 33, "ts": ts(), "type": "session.end"},
    ]
    assert platform.api.post("/v1/events", {"events": events}).status_code == 200
    before = platform.api.get(f"/v1/sessions/{sid}/events").json()
    url = settings.database_url
    engine_for(url).dispose()
    downgrade(url, "0005_faces")
    with engine_for(url).connect() as conn:
        old = conn.execute(text("SELECT count(*), min(institution_id) FROM events")).one()
    assert old[0] == 33 and old[1] is not None
    engine_for(url).dispose()
    upgrade(url)
    after = platform.api.get(f"/v1/sessions/{sid}/events").json()
    assert after == before
    # idempotency holds on the moved rows: a re-send is a duplicate
    r = platform.api.post("/v1/events", {"events": events[:5]})
    assert r.json()["duplicates"] == 5 and r.json()["accepted"] == 0
