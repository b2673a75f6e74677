"""docs/sdk.md's backend walkthrough (step 2) runs as written, against the real app."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date

import httpx

from proctor.client import ProctorClient
from proctor.config import PROJECT_ROOT
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work

DOC = PROJECT_ROOT / "docs" / "sdk.md"
ORIGIN = "https://learn.example.cn"  # the origin the example registers


def example() -> str:
    match = re.search(r"<!-- example: sdk-backend -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/sdk.md has no sdk-backend example"
    return match.group(1)


def test_the_backend_walkthrough_mints_a_token_for_the_page(serve: Callable[..., str],
                                                           database_url: str) -> None:
    base = serve()
    with unit_of_work(session_factory(engine_for(database_url))) as uow:
        key = issue_platform_key(uow, institution="文档示例培训学校", county_code="410105")
    platform = ProctorClient(base, key_id=key.key_id, secret=key.secret)
    # what the walkthrough takes as done: the course, the learner and the enrolment
    assert platform.put("/v1/courses/elec-101", {
        # an annex-3 occupation (config/occupations.toml) with its 8 offline practical hours
        "title": "电子商务师（网店运营）", "occupation": "电子商务师", "offline_practical_hours": 8,
        "required_class_hours": 1,
        "lessons": [{"id": "L1", "seq": 1, "duration_s": 2400, "class_hours": 1}]}).status_code == 200
    assert platform.put("/v1/learners/stu-1", {"real_name": "张伟",
                                               "id_number": "11010519491231002X"}).status_code == 200
    assert platform.put("/v1/enrolments/stu-1/elec-101", {
        "class_batch": "2026-A", "start_date": date.today().isoformat()}).status_code == 200

    out = subprocess.run([sys.executable, "-c", example()], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PROCTOR_URL": base, "KEY_ID": key.key_id,
                              "SECRET": key.secret})
    assert out.returncode == 0, out.stderr
    page, fresh = (json.loads(line) for line in out.stdout.strip().splitlines())
    # what goes into the page: the session, the learner and tokens; never the secret or key id
    assert set(page) == {"session_id", "token", "expires_at", "learner_id"}
    assert key.secret not in out.stdout and key.key_id not in out.stdout

    for token in (page["token"], fresh["token"]):
        # from the registered origin the browser reaches its session's challenge
        r = httpx.get(f"{base}/v1/sessions/{page['session_id']}/challenge",
                      headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN})
        assert r.status_code == 200, r.text
        assert r.headers.get("access-control-allow-origin") == ORIGIN
    # a page of another origin is refused
    r = httpx.get(f"{base}/v1/sessions/{page['session_id']}/challenge",
                  headers={"Authorization": f"Bearer {fresh['token']}",
                           "Origin": "https://other.example.cn"})
    assert r.status_code == 403, r.text
