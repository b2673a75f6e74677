"""The e-archive: JSON and PDF, signed (Ed25519, detached), verified over HTTP and by the CLI,
and refused after one byte is changed."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proctor.cli import app as cli
from proctor.services import archive
from tests.api.sitting import FakeClock, Sitting
from tests.factories import Platform
from tests.paperwork.conftest import ARTIFACTS

DURATION = 600.0


def _studied(platform: Platform, client: TestClient, clock: FakeClock) -> tuple[str, str]:
    platform.course(lessons=2, duration_s=DURATION, class_hours=0.25)
    platform.learner(name="李娜")
    platform.enrol()
    good = Sitting.open(platform, client, clock)
    good.start()
    good.finish(DURATION)
    clock.advance(600)
    bad = Sitting.open(platform, client, clock, lesson_id="L2")
    bad.start()
    bad.play(60)
    bad.event("seek", **{"from": bad.pos, "to": bad.pos + 300})
    bad.pos += 300
    bad.finish(DURATION)
    return good.session_id, bad.session_id


def _verify_cli(file: Path, key: Path) -> int:
    return CliRunner().invoke(cli, ["archive", "verify", str(file), "--public-key", str(key)]
                              ).exit_code


def _flip_one_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_archive_json_and_pdf_verify_and_fail_after_one_byte(
        platform: Platform, app_client: TestClient, clock: FakeClock, tmp_path: Path) -> None:
    good, bad = _studied(platform, app_client, clock)
    key = app_client.get("/v1/archive/public-key")
    assert key.status_code == 200 and key.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    key_file = tmp_path / "archive.pub.pem"
    key_file.write_bytes(key.content)

    r = platform.api.get("/v1/learners/stu-1/archive")
    assert r.status_code == 200, r.text
    record = json.loads(r.content)
    assert record["person"]["real_name"] == "李娜"
    assert "*" in record["person"]["id_number_masked"]
    [training] = record["trainings"]
    assert training["course"]["id"] == "elec-101" and training["class"]["batch"] == "2026-11-A"
    l1, l2 = training["lessons"]
    assert l1["status"] == "valid" and l1["credited_class_hours"] == 0.25
    assert l2["status"] == "invalid" and "FAST_FORWARD" in l2["sittings"][0]["rules"]
    assert [x["session_id"] for x in l1["sittings"]] == [good]
    assert len(l2["sittings"][0]["evidence_sha256"]) == 64
    assert training["exam"]["eligible"] is False

    sig = r.headers["X-Proctor-Signature"]
    assert archive.verify(r.content, sig, key.content)
    file = tmp_path / "archive.json"
    file.write_bytes(r.content)
    (tmp_path / "archive.json.sig").write_text(sig)
    assert _verify_cli(file, key_file) == 0
    file.write_bytes(_flip_one_byte(r.content, len(r.content) // 2))
    assert _verify_cli(file, key_file) == 1
    assert not archive.verify(file.read_bytes(), sig, key.content)

    p = platform.api.get("/v1/learners/stu-1/archive?format=pdf")
    assert p.status_code == 200 and p.content.startswith(b"%PDF-"), p.text[:200]
    pdf = tmp_path / "archive.pdf"
    pdf.write_bytes(p.content)
    (tmp_path / "archive.pdf.sig").write_text(p.headers["X-Proctor-Signature"])
    assert _verify_cli(pdf, key_file) == 0
    pdf.write_bytes(_flip_one_byte(p.content, 100))
    assert _verify_cli(pdf, key_file) == 1
    # a made-up signature does not verify either
    assert not archive.verify(p.content, base64.b64encode(b"x" * 64).decode(), key.content)

    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        good_pdf = tmp_path / "good.pdf"
        good_pdf.write_bytes(p.content)
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(good_pdf),
                        str(ARTIFACTS / "archive-pdf")], check=True)


def test_another_institution_cannot_read_the_archive(
        platform: Platform, other_platform: Platform, app_client: TestClient,
        clock: FakeClock) -> None:
    platform.course(lessons=1, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    r = other_platform.api.get("/v1/learners/stu-1/archive")
    assert r.status_code == 404 and "stu-1" in r.text
