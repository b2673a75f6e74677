"""Face verification on the real shared photos: accuracy at the policy threshold, and each
outcome code produced by a real image that causes it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from proctor.bench import _attacks as attacks
from proctor.bench._faces_data import grouped_photos, identity_photos
from proctor.vision import passive
from proctor.vision.decode import decode_image
from proctor.vision.faces import (
    MatchPolicy,
    Outcome,
    cosine_distance,
    template_from_bytes,
    template_to_bytes,
)
from proctor.vision.models import DLIB_MODEL, SFACE_MODEL, Matcher
from tests.vision.conftest import load

pytestmark = pytest.mark.face
POLICY = MatchPolicy()


@pytest.fixture(scope="session")
def obama_template(engine) -> np.ndarray:
    enrolment = engine.enrol(load("ageitgey/examples/obama.jpg"))
    assert enrolment.ok, enrolment.reasons
    return enrolment.templates


@pytest.fixture(scope="session")
def encodings(engine):
    """(person, encoding) of every identity photo; the largest face for LFW's crowded crops."""
    out = []
    for photo in identity_photos():
        rgb = decode_image(photo.path.read_bytes(), max_bytes=64 * 1024 * 1024).rgb
        faces = engine.detect(rgb, POLICY)
        assert faces, f"no face found in {photo.path}"
        out.append((photo.person, engine.encode_sface(rgb, faces[0])))
    return out


def _d(a: np.ndarray, b: np.ndarray) -> float:
    return cosine_distance(a, b)


def test_genuine_pairs_match_and_impostors_do_not(encodings):
    genuine, impostor = [], []
    for (p1, e1), (p2, e2) in itertools.combinations(encodings, 2):
        (genuine if p1 == p2 else impostor).append(_d(e1, e2))
    genuine_arr, impostor_arr = np.array(genuine), np.array(impostor)
    assert len(genuine) > 400
    assert len(impostor) > 4000
    fnmr = float((genuine_arr > POLICY.match_distance).mean())
    fmr = float((impostor_arr <= POLICY.match_distance).mean())
    assert fnmr <= 0.01, f"false non-match rate {fnmr:.2%}"
    assert fmr <= 0.001, f"false match rate {fmr:.3%}"


def test_chinese_faces_stay_apart(encodings):
    """Yao Ming and Zhao Wei: the only East Asian identities in the data (10 photos)."""
    yao = [e for p, e in encodings if p == "Yao_Ming"]
    zhao = [e for p, e in encodings if p == "Vicki_ZhaoWei"]
    cross = [_d(a, b) for a in yao for b in zhao]
    within = [_d(a, b) for a, b in itertools.combinations(yao, 2)]
    assert min(cross) > POLICY.match_distance
    assert np.mean(np.array(within) <= POLICY.match_distance) >= 0.95


def test_match(engine, obama_template):
    result = engine.verify(load("ageitgey/examples/obama2.jpg"), obama_template)
    assert result.outcome is Outcome.MATCH
    assert result.distance is not None
    assert result.distance < POLICY.match_distance
    assert result.live_score is not None


def test_mismatch_is_another_person(engine, obama_template):
    result = engine.verify(load("ageitgey/examples/biden.jpg"), obama_template)
    assert result.outcome is Outcome.MISMATCH
    assert result.distance > POLICY.match_distance
    assert result.reasons[0].startswith("distance_above_threshold")


def test_no_face_in_a_dog_photo(engine, obama_template):
    result = engine.verify(load("dlib/examples/faces/dogs.jpg"), obama_template)
    assert result.outcome is Outcome.NO_FACE
    assert result.distance is None


def test_no_face_in_a_crop_without_face(engine, obama_template):
    rgb = load("ageitgey/examples/obama.jpg")
    result = engine.verify(np.ascontiguousarray(rgb[700:, :]), obama_template)  # suit and desk
    assert result.outcome is Outcome.NO_FACE


@pytest.mark.parametrize(
    "photo",
    [
        "ageitgey/examples/knn_examples/test/obama_and_biden.jpg",
        "ageitgey/examples/knn_examples/test/kit_with_rose.jpg",
        "ageitgey/examples/two_people.jpg",
    ],
)
def test_multiple_faces_in_group_photos(engine, obama_template, photo):
    result = engine.verify(load(photo), obama_template)
    assert result.outcome is Outcome.MULTIPLE_FACES
    assert len(result.faces) >= 2


@pytest.mark.parametrize("spoil", [attacks.blurred, attacks.darkened])
def test_poor_quality_blurred_or_dark(engine, obama_template, spoil):
    rgb = load("ageitgey/examples/obama-480p.jpg")
    assert engine.verify(rgb, obama_template).outcome is Outcome.MATCH  # the original is fine
    result = engine.verify(spoil(rgb), obama_template)
    assert result.outcome is Outcome.POOR_QUALITY
    assert set(result.reasons) & {"too_blurry", "too_dark", "low_contrast"}


def earlier_photo(rgb: np.ndarray, phash: int, *, kept: bool = True) -> passive.EarlierPhoto:
    """An earlier photo as the service hands it over; ``kept=False``: its file was purged."""
    return passive.EarlierPhoto(phash, ref="earlier", pixels=lambda: rgb if kept else None)


def test_spoof_replayed_still(engine, obama_template):
    """A learner who sends, as a new snapshot, a re-encoded copy of an earlier accepted photo."""
    earlier = load("ageitgey/examples/obama-480p.jpg")
    first = engine.verify(earlier, obama_template)
    assert first.outcome is Outcome.MATCH
    assert first.phash is not None
    other_rgb = load("ageitgey/examples/obama2.jpg")
    other = engine.verify(other_rgb, obama_template)
    history = [earlier_photo(other_rgb, other.phash), earlier_photo(earlier, first.phash)]
    replay = attacks.reencoded(earlier, quality=60, scale=0.8)
    result = engine.verify(replay, obama_template, earlier=history)
    assert result.outcome is Outcome.SPOOF
    assert result.reasons[0].startswith("replayed_still:hamming=")
    assert result.replay is not None and result.replay.residual is not None
    assert result.replay.residual <= POLICY.replay.max_residual
    # the identity is still recorded, so reviewers see whom the replay showed
    assert result.distance is not None
    assert result.distance < POLICY.match_distance
    # and a different genuine photo of the same person is not taken for a replay
    fresh = engine.verify(other_rgb, obama_template, earlier=history[1:])
    assert fresh.outcome is Outcome.MATCH


def test_byte_identical_resend_is_a_spoof_without_looking_at_pixels(engine, obama_template):
    rgb = load("ageitgey/examples/obama-480p.jpg")
    phash = passive.perceptual_hash(rgb)
    gone = passive.EarlierPhoto(phash, sha256="ab" * 32, ref="earlier", pixels=lambda: None)
    result = engine.verify(rgb, obama_template, earlier=[gone], sha256="ab" * 32)
    assert result.outcome is Outcome.SPOOF
    assert "identical_bytes" in result.reasons[0]


def test_close_to_a_purged_photo_is_a_near_duplicate_not_a_spoof(engine, obama_template):
    """The earlier file is gone (retention): the hashes alone cannot prove a re-send."""
    earlier = load("ageitgey/examples/obama-480p.jpg")
    phash = passive.perceptual_hash(earlier)
    again = attacks.reencoded(earlier, quality=80, scale=1.0)
    result = engine.verify(again, obama_template, earlier=[earlier_photo(earlier, phash,
                                                                         kept=False)])
    assert result.outcome is Outcome.NEAR_DUPLICATE
    assert result.reasons == ("near_duplicate:hamming=0,pixels=unavailable,of=earlier",)
    assert result.distance is not None and result.distance < POLICY.match_distance
    # with the file kept, the same photo is proven a re-send
    kept = engine.verify(again, obama_template, earlier=[earlier_photo(earlier, phash)])
    assert kept.outcome is Outcome.SPOOF


def test_another_person_outranks_near_duplicate(engine, obama_template):
    biden = load("ageitgey/examples/biden.jpg")
    phash = passive.perceptual_hash(biden)
    again = attacks.reencoded(biden, quality=80, scale=1.0)
    result = engine.verify(again, obama_template, earlier=[earlier_photo(biden, phash,
                                                                         kept=False)])
    assert result.outcome is Outcome.MISMATCH
    assert result.reasons[0].startswith("distance_above_threshold")
    assert result.reasons[1].startswith("near_duplicate:hamming=0")


def test_spoof_by_antispoof_model_when_policy_enables_it(engine, obama_template):
    rgb = load("ageitgey/examples/obama-480p.jpg")
    live = engine.verify(rgb, obama_template).live_score
    strict = MatchPolicy(min_live_score=min(1.0, live + 0.01))
    result = engine.verify(rgb, obama_template, strict)
    assert result.outcome is Outcome.SPOOF
    assert result.reasons[0].startswith("recapture_suspected")


def test_enrol_refuses_unusable_photos(engine):
    assert engine.enrol(load("dlib/examples/faces/dogs.jpg")).reasons == ("no_face",)
    multi = engine.enrol(load("ageitgey/examples/knn_examples/test/obama_and_biden.jpg"))
    assert not multi.ok
    assert multi.reasons[0].startswith("multiple_faces")
    small = engine.enrol(load("ageitgey/examples/obama-240p.jpg"))
    assert not small.ok
    assert "face_too_small" in small.reasons
    blurred = engine.enrol(attacks.blurred(load("ageitgey/examples/obama-480p.jpg")))
    assert "too_blurry" in blurred.reasons


def test_template_round_trips_through_bytes(obama_template):
    vector = obama_template[SFACE_MODEL]
    data = template_to_bytes(vector)
    assert len(data) == 1024
    assert np.array_equal(template_from_bytes(data), vector)
    with pytest.raises(ValueError, match="128"):
        template_from_bytes(data[:-8])


def test_a_template_of_another_model_is_never_compared(engine, obama_template):
    """A learner enrolled with dlib only has no SFace template: the SFace matcher refuses to
    compare the dlib vector (both are 128 floats) instead of judging with it."""
    dlib_only = {DLIB_MODEL: obama_template[DLIB_MODEL]}
    with pytest.raises(KeyError, match="sface"):
        engine.verify(load("ageitgey/examples/obama2.jpg"), dlib_only, POLICY)
    dlib = MatchPolicy(matcher=Matcher.DLIB, match_distance=0.6)
    assert engine.verify(load("ageitgey/examples/obama2.jpg"), dlib_only, dlib).passed


def test_dlib_can_only_veto_in_the_fusion(engine, obama_template):
    rgb = load("ageitgey/examples/obama2.jpg")
    fused = MatchPolicy(matcher=Matcher.SFACE_DLIB_VETO, dlib_veto_distance=0.6)
    ok = engine.verify(rgb, obama_template, fused)
    assert ok.passed and set(ok.distances) == {SFACE_MODEL, DLIB_MODEL}
    veto = MatchPolicy(matcher=Matcher.SFACE_DLIB_VETO,
                       dlib_veto_distance=ok.distances[DLIB_MODEL] - 0.01)
    vetoed = engine.verify(rgb, obama_template, veto)
    assert vetoed.outcome is Outcome.MISMATCH
    assert vetoed.reasons[0].startswith("dlib_veto:")


def test_chinese_learners_are_told_apart_at_the_policy_threshold(engine):
    """east-asian/ (13 Chinese identities) + Yao Ming + Zhao Wei: the default matcher at the
    policy threshold accepts no more than 0.1% of impostor pairs and at least 97% of genuine
    pairs, per photo (the issue's "Done when"). Before the alignment points were refined on
    the face crop it refused 2 of 64 (3.1%) and this failed (docs/faces.md)."""
    embs = []
    for p in grouped_photos()["east_asian"]:
        try:
            rgb = decode_image(p.path.read_bytes(), max_bytes=64 * 1024 * 1024).rgb
        except ValueError:
            continue  # a BMP named .jpg: the service refuses it too
        e = engine.enrol(rgb, POLICY, models=(SFACE_MODEL,))
        if e.ok:
            embs.append((p.person, e.templates[SFACE_MODEL]))
    gen, imp = [], []
    for (p1, e1), (p2, e2) in itertools.combinations(embs, 2):
        (gen if p1 == p2 else imp).append(_d(e1, e2))
    assert len(embs) >= 45 and len(imp) > 1000
    fmr = float(np.mean(np.array(imp) <= POLICY.match_distance))
    fnmr = float(np.mean(np.array(gen) > POLICY.match_distance))
    assert fmr <= 0.001, f"false match rate {fmr:.3%}"
    assert fnmr <= 0.03, f"false non-match rate {fnmr:.2%}"


def test_refined_points_stay_on_the_face_and_fall_back_without_one(engine):
    """The SFace alignment points are found again on the face crop: on a large photo they move
    by a few pixels at most (the same face), and where the crop shows no face the detector's
    first points are kept."""
    rgb = load("ageitgey/examples/obama.jpg")
    (face,) = engine.significant_faces(engine.detect(rgb, POLICY), POLICY)
    refined = engine.refine_points(rgb, face)
    shift = np.abs(refined.points - face.points).max()
    assert 0 < shift < 0.1 * face.box[2]
    blank = np.full_like(rgb, 128)
    assert engine.refine_points(blank, face) is face


def test_a_downscaled_replay_under_the_size_gate_still_leaves_its_trace(engine, obama_template):
    """A learner's earlier photo, shrunk until its face is under the size gate and re-encoded:
    the replay check runs before the quality gate, so it is not a mere poor_quality retry."""
    earlier = load("ageitgey/examples/obama-480p.jpg")
    phash = passive.perceptual_hash(earlier)
    small = attacks.reencoded(earlier, quality=70, scale=0.25)
    alone = engine.verify(small, obama_template)
    assert alone.outcome is Outcome.POOR_QUALITY and "face_too_small" in alone.reasons
    result = engine.verify(small, obama_template, earlier=[earlier_photo(earlier, phash)])
    assert result.replay is not None
    assert result.outcome in (Outcome.SPOOF, Outcome.POOR_QUALITY)
    assert any(r.startswith(("replayed_still", "near_duplicate")) for r in result.reasons)
