"""What each liveness cue catches at enrolment, on attack bursts built from the shared photos.

Sources: obama.jpg, the real clip's frame 150 and the first photo of east-asian cn101, cn103,
cn105, cn108. Attacks per source: a frozen burst (the still re-encoded 8 ways) and three
screen/print recaptures (`_attacks.recapture_burst`: held with hand shake, the sheet tilted,
tilted back); plus a live clip burst sent again (replay). Genuine: 8-frame bursts of the real
clip (0.2 s apart), for each cue's false alarms.

Cues, each on its own (the service combines them: `liveness.check_active` + the replay check):
* ``frozen``: `passive.is_static_burst` at the policy's `min_motion`;
* ``action``: `liveness.action_seen` fails for every enrolment action (turn_left, turn_right,
  open_mouth) — the drawn action cannot be shown, whichever it is;
* ``minifasnet``: mean MiniFASNet live score of the burst's faces below 0.5 (and 0.2);
* ``moire``: mean `passive.moire_score` above the 95th percentile of the live frames
  (a 5% false-alarm cut, set on the genuine bursts of this run);
* ``replay``: a frame proven a re-send of an earlier photo (`passive.find_replay`).
A burst with no face in any frame counts as caught by no cue (it is refused as ``no_face``).

Run: `python -m proctor.bench face_enrolment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from proctor.bench import Section
from proctor.bench import _attacks as attacks
from proctor.bench._faces_data import clip_frames, faces_dir
from proctor.domain.policy import load_policy
from proctor.services.face_checks import match_policy
from proctor.services.faces import ENROLMENT_ACTIONS
from proctor.vision import passive
from proctor.vision.decode import DecodeError, decode_image
from proctor.vision.faces import FaceEngine
from proctor.vision.liveness import Action, Landmarker, LivenessPolicy, action_seen, frame_signals
from proctor.vision.models import SFACE_MODEL

SOURCES = ("ageitgey/examples/obama.jpg", "clip:150", "east-asian/cn101", "east-asian/cn103",
           "east-asian/cn105", "east-asian/cn108")
ATTACKS = ("frozen", "recapture_held", "recapture_tilted", "recapture_tilted_back")
CUES = ("frozen", "action", "minifasnet", "moire", "replay")
LIVE_STARTS = (84, 96, 108, 120, 132)


@dataclass
class Burst:
    name: str
    kind: str  # an ATTACKS entry, "replay" or "live"
    frames: list[np.ndarray]


def _source(rel: str) -> np.ndarray:
    if rel.startswith("clip:"):
        return np.ascontiguousarray(clip_frames()[int(rel[5:])])
    path = faces_dir() / rel
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg")) \
        if path.is_dir() else [path]
    for f in files:  # the first photo the service decodes (one "jpg" of cn-folders is a BMP)
        try:
            return decode_image(f.read_bytes(), max_bytes=64 << 20).rgb
        except DecodeError:
            continue
    raise DecodeError("unsupported_format", f"no JPEG/PNG in {rel}")


def _decoded(frames: list[np.ndarray]) -> list[np.ndarray]:
    """As the service sees them: each frame JPEG-encoded by the client, then decoded."""
    return [decode_image(attacks.jpeg_bytes(f, 90)).rgb for f in frames]


def _bursts() -> list[Burst]:
    clip = clip_frames()
    out = []
    for rel in SOURCES:
        rgb = _source(rel)
        out.append(Burst(rel, "frozen", [decode_image(attacks.jpeg_bytes(rgb, 80 + i)).rgb
                                         for i in range(8)]))
        for motion in ("held", "tilted", "tilted_back"):
            out.append(Burst(rel, f"recapture_{motion}",
                             _decoded(attacks.recapture_burst(rgb, motion))))
    for start in LIVE_STARTS:
        out.append(Burst(f"clip:{start}", "live",
                         _decoded([np.ascontiguousarray(clip[i])
                                   for i in range(start, start + 48, 6)])))
    return out


def run() -> Section:
    policy = load_policy("henan-2021")
    lpol = LivenessPolicy(match=match_policy(policy))
    engine = FaceEngine()
    landmarker = Landmarker(engine.models_dir)
    rows: dict[str, list[dict[str, float | bool]]] = {k: [] for k in (*ATTACKS, "replay",
                                                                      "live")}
    live_moire: list[float] = []
    first_live: list[np.ndarray] = []
    for b in _bursts():
        faces = [engine.significant_faces(engine.detect(f, lpol.match), lpol.match)
                 for f in b.frames]
        with_face = [(f, fs[0]) for f, fs in zip(b.frames, faces, strict=True) if len(fs) == 1]
        if not with_face:
            rows[b.kind].append({"no_face": True})
            continue
        template = {SFACE_MODEL: engine.encode_sface(*with_face[0])}
        signals = [frame_signals(engine, landmarker, f, template, lpol) for f in b.frames]
        live = float(np.mean([engine.live_score(f, face) for f, face in with_face]))
        moire = float(np.mean([passive.moire_score(f, face.box) for f, face in with_face]))
        if b.kind == "live":
            live_moire += [passive.moire_score(f, face.box) for f, face in with_face]
            if not first_live:
                first_live = b.frames
        row: dict[str, float | bool] = {
            "no_face": False,
            "frozen": passive.is_static_burst(b.frames, lpol.min_motion),
            "action": not any(action_seen(Action(a), signals, lpol) for a in ENROLMENT_ACTIONS),
            "live_score": live, "minifasnet": live < 0.5, "minifasnet_0_2": live < 0.2,
            "replay": False}
        rows[b.kind].append(row)
        row["moire_value"] = moire
    # replay: the first live burst sent again (re-encoded by the client), against its frames
    earlier = [passive.EarlierPhoto(phash=passive.perceptual_hash(f), ref=str(i),
                                    pixels=partial(np.asarray, f))
               for i, f in enumerate(first_live)]
    resent = _decoded(first_live)
    found = [passive.find_replay(f, passive.perceptual_hash(f), earlier,
                                 match_policy(policy).replay) for f in resent]
    rows["replay"].append({"no_face": False, "frozen": passive.is_static_burst(
        resent, lpol.min_motion), "action": False, "minifasnet": False, "minifasnet_0_2": False,
        "replay": any(x is not None and x.kind is passive.ReplayKind.RESENT for x in found)})
    moire_cut = float(np.percentile(live_moire, 95))
    for burst_rows in rows.values():
        for r in burst_rows:
            if not r["no_face"] and "moire_value" in r:
                r["moire"] = float(r["moire_value"]) > moire_cut
    figures: dict[str, float | int | str] = {"face_enrol_moire_cut": round(moire_cut, 3)}
    lines = ["| burst (n) | no face | " + " | ".join(CUES) + " | any cue |",
             "|---|---|" + "---|" * (len(CUES) + 1)]
    for kind, burst_rows in rows.items():
        n = len(burst_rows)
        judged = [r for r in burst_rows if not r["no_face"]]
        figures[f"face_enrol_bursts_{kind}"] = n
        figures[f"face_enrol_no_face_{kind}"] = n - len(judged)
        cells = []
        for cue in CUES:
            if kind == "replay" and cue in ("action", "minifasnet", "moire"):
                cells.append("—")
                continue
            share = float(np.mean([bool(r.get(cue)) for r in judged])) if judged else 0.0
            tag = "false_alarm" if kind == "live" else "caught"
            figures[f"face_enrol_{cue}_{tag}_{kind}"] = round(share, 3)
            cells.append(f"{share:.0%}")
        anyc = float(np.mean([any(bool(r.get(c)) for c in CUES) for r in judged])) \
            if judged else 0.0
        figures[f"face_enrol_any_cue_{kind}"] = round(anyc, 3)
        scores = [float(r["live_score"]) for r in judged if "live_score" in r]
        if scores:
            figures[f"face_enrol_minifasnet_mean_{kind}"] = round(float(np.mean(scores)), 3)
            figures[f"face_enrol_minifasnet_0_2_caught_{kind}"] = round(float(np.mean(
                [bool(r["minifasnet_0_2"]) for r in judged])), 3)
        lines.append(f"| {kind} ({n}) | {n - len(judged)} | " + " | ".join(cells)
                     + f" | {anyc:.0%} |")
    md = ("Share of bursts each cue refuses on its own (live: false alarms). Sources: "
          + ", ".join(SOURCES) + f"; live: clip bursts at {', '.join(map(str, LIVE_STARTS))}. "
          f"MiniFASNet cut 0.5; moiré cut {moire_cut:.3f} (95th percentile of live frames).\n\n"
          + "\n".join(lines) + "\n")
    return Section("Enrolment liveness cues on attacks built from the shared photos", figures, md)
