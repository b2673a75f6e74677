"""One person, one identity (1:N at enrolment) and the operator's face commands, through the
signed API and the CLI, with real photos and real PostgreSQL/SQLite."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from proctor.cli import app
from proctor.config import Settings
from proctor.domain.policy import load_policy
from proctor.services.faces import identity_holds, resolve_hold
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import FaceEnrolment, FaceTemplate, Learner
from proctor.vision.models import DLIB_MODEL, SFACE_MODEL
from tests.face_flows import BIDEN, OBAMA, OBAMA2, enrol_photo, photo
from tests.factories import Platform, resident_id

pytestmark = pytest.mark.face
# the policy's SFace threshold (derived on data, docs/faces.md): never pinned here
THRESHOLD = load_policy("henan-2021").match_distance


def uow_for(settings: Settings):  # type: ignore[no-untyped-def]
    return unit_of_work(session_factory(engine_for(settings.database_url)))


def enrol(platform: Platform, data: bytes, learner: str):  # type: ignore[no-untyped-def]
    return enrol_photo(platform, learner, data)


def test_one_face_under_two_id_numbers_is_held_for_the_county(
        platform: Platform, other_platform: Platform, settings: Settings) -> None:
    """Obama enrols at a Zhengzhou school, then again at a Kaifeng school under another ID
    number: the second enrolment is held (same province, other institution), its template
    is not in force, and the reviewer sees both people with both photos."""
    first_id, second_id = resident_id(seq=11), resident_id(region="410223", seq=12)
    platform.learner("stu-1", id_number=first_id)
    other_platform.learner("stu-7", id_number=second_id)
    assert enrol(platform, photo(OBAMA), "stu-1").json()["status"] == "enrolled"
    r = enrol(other_platform, photo(OBAMA2), "stu-7")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "held" and not body["enrolled"]
    assert body["reasons"] == ["identity_review:same_face_other_id"]
    with uow_for(settings) as uow:
        views = identity_holds(uow, ["410105"])
        assert len(views) == 1
        v = views[0]
        assert (v.kind, v.scope, v.status) == ("same_face_other_id", "province", "open")
        assert (v.new.learner_id, v.other.learner_id) == ("stu-7", "stu-1")
        assert v.new.photo_blob_key and v.other.photo_blob_key
        assert v.new.photo_blob_key != v.other.photo_blob_key
        assert "*" in v.new.id_number_masked and second_id not in v.new.id_number_masked
        assert v.distance <= THRESHOLD
        stu7 = uow.session.scalar(select(Learner).where(Learner.ext_id == "stu-7"))
        assert stu7 is not None
        held = uow.session.scalars(select(FaceTemplate)
                                   .where(FaceTemplate.learner_id == stu7.id)).all()
        assert {t.model for t in held} == {SFACE_MODEL, DLIB_MODEL}
        assert not any(t.active for t in held)
        # the reviewer of the other county sees it too; an unrelated county does not
        assert identity_holds(uow, ["410223"]) and not identity_holds(uow, ["110101"])
        resolve_hold(uow, v.hold_id, decision="confirmed", user_id=1, now=datetime.now(UTC))
    status = other_platform.api.get("/v1/learners/stu-7/face").json()
    assert status["status"] == "rejected" and not status["enrolled"]
    assert "identity_confirmed:same_face_other_id" in status["reasons"]


def test_another_face_under_an_enrolled_id_number_is_held(
        platform: Platform, other_platform: Platform, settings: Settings) -> None:
    same_id = resident_id(seq=21)
    platform.learner("stu-1", id_number=same_id)
    other_platform.learner("stu-8", id_number=same_id)
    assert enrol(platform, photo(OBAMA), "stu-1").json()["status"] == "enrolled"
    body = enrol(other_platform, photo(BIDEN), "stu-8").json()
    assert body["status"] == "held"
    assert body["reasons"] == ["identity_review:other_face_same_id"]
    with uow_for(settings) as uow:
        (v,) = identity_holds(uow, ["410223"])
        assert v.kind == "other_face_same_id" and v.distance > THRESHOLD
        # cleared (e.g. the first enrolment was the impostor): the new templates take force
        resolve_hold(uow, v.hold_id, decision="cleared", user_id=1, now=datetime.now(UTC))
    assert other_platform.api.get("/v1/learners/stu-8/face").json()["status"] == "enrolled"


def test_the_same_learner_re_enrolling_is_not_held(platform: Platform) -> None:
    platform.learner("stu-1", id_number=resident_id(seq=31))
    assert enrol(platform, photo(OBAMA), "stu-1").json()["status"] == "enrolled"
    assert enrol(platform, photo(OBAMA2), "stu-1").json()["status"] == "enrolled"


def test_reenrol_adds_sface_templates_and_lists_who_no_longer_passes(
        platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates made before SFace (dlib only) are rebuilt from the stored photo; a learner
    whose stored photo is gone is listed, and keeps the old template."""
    platform.learner("stu-1", id_number=resident_id(seq=41))
    platform.learner("stu-2", id_number=resident_id(seq=42))
    assert enrol(platform, photo(OBAMA), "stu-1").json()["status"] == "enrolled"
    assert enrol(platform, photo(BIDEN), "stu-2").json()["status"] == "enrolled"
    with uow_for(settings) as uow:  # back to round 1: dlib templates only
        for row in uow.session.scalars(select(FaceEnrolment)):
            row.template_id = uow.session.scalar(select(FaceTemplate.id).where(
                FaceTemplate.learner_id == row.learner_id, FaceTemplate.model == DLIB_MODEL))
        uow.session.flush()
        for t in uow.session.scalars(select(FaceTemplate)
                                     .where(FaceTemplate.model == SFACE_MODEL)):
            uow.session.delete(t)
        stu2 = uow.session.scalar(select(Learner).where(Learner.ext_id == "stu-2"))
        assert stu2 is not None
        for t in uow.session.scalars(select(FaceTemplate)
                                     .where(FaceTemplate.learner_id == stu2.id)):
            t.blob_key = None  # its photo was purged
    monkeypatch.setenv("PROCTOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCTOR_BLOB_DIR", str(settings.blob_dir))
    from proctor.config import get_settings
    get_settings.cache_clear()
    out = CliRunner().invoke(app, ["faces", "reenrol", "--json"])
    get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    report = json.loads(out.output.strip().splitlines()[-1])
    assert report["learners"] == 2 and report["rebuilt"] == 1
    assert report["failed"] == [{"institution": platform.institution, "learner_id": "stu-2",
                                 "reasons": ["enrolment_photo_missing"]}]
    with uow_for(settings) as uow:
        models = {(t.learner_id, t.model) for t in uow.session.scalars(
            select(FaceTemplate).where(FaceTemplate.active.is_(True)))}
        assert len(models) == 3  # stu-1: both models; stu-2: dlib only, kept


def test_evaluate_a_folder_it_has_never_seen(tmp_path: Path) -> None:
    """A folder laid out by an operator: renamed copies of real photos, a file that is not an
    image and a photo without a face; figures through the service's pipeline."""
    from proctor.bench._faces_data import faces_dir

    johns = faces_dir() / "dlib" / "examples" / "johns"
    people = sorted(d for d in johns.iterdir() if d.is_dir())[:3]
    for i, person in enumerate(people):
        target = tmp_path / f"person-{i}"
        target.mkdir()
        for j, f in enumerate(sorted(person.glob("*.jpg"))[:3]):
            shutil.copy(f, target / f"{j}.JPG")
    (tmp_path / "person-0" / "notes.png").write_bytes(b"not a png")
    shutil.copy(faces_dir() / "dlib" / "examples" / "faces" / "dogs.jpg",
                tmp_path / "person-1" / "dog.jpg")
    out = CliRunner().invoke(app, ["faces", "evaluate", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    figures = json.loads(out.output.strip().splitlines()[-1])
    assert figures["people"] == 3 and figures["photos"] == 11
    assert figures["refused"] >= 2
    assert {"unsupported_format", "no_face"} <= set(figures["refused_reasons"])
    n = figures["enrolled"]
    per = [sum(1 for f in figures["refused_files"] if f["file"].startswith(f"person-{i}/"))
           for i in range(3)]
    assert figures["genuine_pairs"] + figures["impostor_pairs"] == n * (n - 1) // 2
    assert figures["genuine_pairs"] == sum(
        (k := 3 + (i == 0) + (i == 1) - per[i]) * (k - 1) // 2 for i in range(3))
    assert figures["threshold"] == THRESHOLD
    for key in ("fnmr", "fmr", "threshold_fmr_0_1pct"):
        assert key in figures
    assert 0 <= figures["fmr"] <= 1 and 0 <= figures["fnmr"] <= 1
    bad = CliRunner().invoke(app, ["faces", "evaluate", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "not a folder" in bad.output
