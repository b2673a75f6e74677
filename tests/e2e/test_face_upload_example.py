"""The curl upload recipe in docs/API.md signs multipart bytes correctly, against a real server."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from proctor.client import ProctorClient
from tests.e2e.conftest import LiveServer
from tests.e2e.test_docs_examples import _env, _example
from tests.face_flows import OBAMA
from tests.factories import resident_id

pytestmark = pytest.mark.face


def test_curl_upload_recipe_enrols_a_face(live_server: LiveServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = _env(live_server)
    api = ProctorClient(key_id=env["KEY_ID"], secret=env["SECRET"],
                        http=httpx.Client(base_url=live_server.url, timeout=60))
    r = api.put("/v1/learners/stu-9", {"real_name": "王芳", "id_number": resident_id()})
    assert r.status_code == 200, r.text
    from proctor.bench._faces_data import faces_dir

    script = _example("bash-upload") + f'\nupload /v1/learners/stu-9/face "{faces_dir() / OBAMA}"\n'
    env["REVIEWED_BY"] = "王老师（教务处）"  # henan-2021 takes one photo only staff-reviewed
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["status"] == "enrolled", answer
    got = api.get("/v1/learners/stu-9/face").json()
    assert got["enrolled"] is True and got["source"] == "staff_reviewed"
