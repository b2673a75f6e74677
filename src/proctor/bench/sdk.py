"""The browser SDK: both builds of @proctor/player gzipped (budget 40 kB), and a real lesson in
headless Chromium end to end (tests/sdk/test_player_browser.py, run here: the example page,
Debian's Chromium, the fake camera, the real face pipeline, PostgreSQL)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from proctor.bench import Section

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 40 * 1024
E2E_TESTS = ("tests/sdk/test_player_browser.py::test_a_lesson_played_to_the_end_is_valid[postgresql]",
             "tests/sdk/test_player_browser.py::test_an_offline_minute_is_delivered_afterwards")


def bundle_sizes() -> tuple[tuple[int, int], tuple[int, int]]:
    subprocess.run(["bash", str(ROOT / "scripts" / "sdk.sh")], check=True)
    dist = ROOT / "sdk" / "js" / "dist"
    sizes = {}
    for name in ("proctor-player.js", "proctor-player.iife.js"):
        data = (dist / name).read_bytes()
        sizes[name] = (len(data), len(gzip.compress(data, compresslevel=9)))
    return sizes["proctor-player.js"], sizes["proctor-player.iife.js"]


def end_to_end() -> dict[str, float | int | str]:
    """Run the browser tests that measure (they write their figures to $PROCTOR_SDK_FIGURES)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = {**os.environ, "PROCTOR_SDK_FIGURES": str(out),
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
                        *E2E_TESTS], cwd=ROOT, env=env, check=True)
        figures: dict[str, float | int | str] = json.loads(out.read_text())
    return figures


def run() -> Section:
    esm, iife = bundle_sizes()
    e2e = end_to_end()
    md = (
        "`scripts/sdk.sh` (npm ci, esbuild, minified), gzip -9:\n\n"
        "| build | bytes | gzipped | budget |\n|---|---|---|---|\n"
        f"| ESM `dist/proctor-player.js` | {esm[0]:,} | {esm[1]:,} | {BUDGET:,} |\n"
        f"| script tag `dist/proctor-player.iife.js` | {iife[0]:,} | {iife[1]:,} | {BUDGET:,} |\n\n"
        "End to end, measured by the browser tests this section runs (tests/sdk, headless Debian\n"
        "Chromium, the example page /demo/player, a fake camera fed from the phone clip, the real\n"
        "face pipeline, PostgreSQL; on this shared 2-core machine):\n\n"
        "| figure | value |\n|---|---|\n"
        f"| a {e2e['sdk_e2e_lesson_media_s']}-s lesson studied to `valid`: wall time (page open → "
        f"verdict) | {e2e['sdk_e2e_lesson_wall_s']} s |\n"
        f"| its challenges | {e2e['sdk_e2e_challenges']} |\n"
        f"| events the SDK made / stored / lost / duplicated | {e2e['sdk_e2e_events_made']} / "
        f"{e2e['sdk_e2e_events_stored']} / {e2e['sdk_e2e_events_lost']} / "
        f"{e2e['sdk_e2e_events_duplicated']} |\n"
        f"| video's end → verdict on the page (flush, evaluation, poll every 1 s) | "
        f"{e2e['sdk_e2e_end_to_verdict_s']} s |\n"
        + "".join(f"| {kind}: the learner's answer → popup closed, passed (median; photos include "
                  f"the SDK's 0.6-s 核验通过 notice) | {e2e[key]} s |\n"
                  for kind in ("liveness", "photo", "confirm")
                  if (key := f"sdk_e2e_{kind}_answer_to_passed_s") in e2e)
        + f"| offline minute (a 20-s lesson ended offline): events made / stored / lost / "
          f"duplicated | {e2e['sdk_offline_events_made']} / {e2e['sdk_offline_events_stored']} / "
          f"{e2e['sdk_offline_events_lost']} / {e2e['sdk_offline_events_duplicated']} |\n"
        f"| … of which queued while offline / stored > 40 s after they happened | "
        f"{e2e['sdk_offline_events_queued']} / {e2e['sdk_offline_events_late']} |\n\n"
        "A reload is covered by the SDK's unit tests (sdk/js/test/queue.test.ts: the queue and the\n"
        "seq counter survive it, the same ids are sent again), not by a browser figure here.\n")
    return Section("Browser SDK", {"sdk_bundle_gzip_bytes": max(esm[1], iife[1]),
                                   "sdk_bundle_esm_gzip_bytes": esm[1],
                                   "sdk_bundle_iife_gzip_bytes": iife[1], **e2e}, md)
