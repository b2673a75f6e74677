"""The browser SDK's size: both builds of @proctor/player, gzipped (budget 40 kB)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from proctor.bench import Section

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 40 * 1024


def run() -> Section:
    subprocess.run(["bash", str(ROOT / "scripts" / "sdk.sh")], check=True)
    dist = ROOT / "sdk" / "js" / "dist"
    sizes = {}
    for name in ("proctor-player.js", "proctor-player.iife.js"):
        data = (dist / name).read_bytes()
        sizes[name] = (len(data), len(gzip.compress(data, compresslevel=9)))
    esm, iife = sizes["proctor-player.js"], sizes["proctor-player.iife.js"]
    md = (
        "`scripts/sdk.sh` (npm ci, esbuild, minified), gzip -9:\n\n"
        "| build | bytes | gzipped | budget |\n|---|---|---|---|\n"
        f"| ESM `dist/proctor-player.js` | {esm[0]:,} | {esm[1]:,} | {BUDGET:,} |\n"
        f"| script tag `dist/proctor-player.iife.js` | {iife[0]:,} | {iife[1]:,} | {BUDGET:,} |\n\n"
        "End to end (tests/sdk/test_player_browser.py, headless Chromium, fake camera, PostgreSQL):\n"
        "a 40-second lesson with the opening liveness check and the confirm codes the service drew\n"
        "takes about 90 s of wall time on this 2-core machine (printed as `sdk_e2e_lesson_s`).\n")
    return Section("Browser SDK", {"sdk_bundle_gzip_bytes": max(esm[1], iife[1]),
                                   "sdk_bundle_esm_gzip_bytes": esm[1]}, md)
