"""Run in a fresh process by test_vision_worker.py: the API with a broker configured.

Enrols a learner and answers a photo challenge through the signed HTTP API, waits for the
vision worker's outcomes, and prints what it saw as JSON, including whether this (API)
process ever imported dlib. Usage: python -m tests.workers.vision_api_run DB_URL BROKER BLOBS
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from proctor.config import Settings
from proctor.main import create_app
from tests.face_flows import OBAMA, OBAMA2, add_challenge, enrol_photo, photo
from tests.factories import issue_key


def wait_for(fetch, done, timeout_s: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def main(database_url: str, broker: str, blobs: str) -> dict:
    settings = Settings(database_url=database_url, broker_url=broker, blob_dir=Path(blobs),
                        redis_url=None)
    out: dict = {}
    with TestClient(create_app(settings)) as client:
        platform = issue_key(settings, client, "郑州市金水区职业培训学校", "410105")
        session_id = platform.ready_session()
        r = enrol_photo(platform, "stu-1", photo(OBAMA))
        out["enrol"] = (r.status_code, r.json())
        face = wait_for(lambda: platform.api.get("/v1/learners/stu-1/face").json(),
                        lambda b: b["status"] != "pending")
        out["face"] = face
        cid = add_challenge(settings, session_id, "photo", expires_in_s=300)
        r = platform.api.upload(f"/v1/challenges/{cid}/photo", [("p.jpg", photo(OBAMA2))])
        out["photo"] = (r.status_code, r.json())
        out["challenge"] = wait_for(lambda: platform.api.get(f"/v1/challenges/{cid}").json(),
                                    lambda b: b["status"] != "pending")
        out["verdict"] = wait_for(
            lambda: platform.api.get(f"/v1/sessions/{session_id}/verdict").json(),
            lambda b: b.get("evaluated_at") is not None, timeout_s=30)
        out["session_id"] = session_id
    out["dlib_imported"] = "dlib" in sys.modules
    out["face_models_imported"] = "proctor.vision.faces" in sys.modules
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4]), default=str))
