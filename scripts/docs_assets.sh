#!/usr/bin/env bash
# Swagger UI and ReDoc served by the app itself (/docs, /redoc work offline): the files in
# src/proctor/docs_static/ are committed, taken from the npm packages swagger-ui-dist and redoc.
# Run this only to move to other releases: bash scripts/docs_assets.sh [swagger-ver] [redoc-ver]
set -euo pipefail
SWAGGER="${1:-5.35.0}"
REDOC="${2:-2.5.2}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/src/proctor/docs_static"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
(cd "$TMP" && npm pack --silent "swagger-ui-dist@${SWAGGER}" "redoc@${REDOC}" >/dev/null \
  && mkdir s r && tar xzf "swagger-ui-dist-${SWAGGER}.tgz" -C s && tar xzf "redoc-${REDOC}.tgz" -C r)
cp "$TMP/s/package/swagger-ui-bundle.js" "$TMP/s/package/swagger-ui.css" \
   "$TMP/s/package/favicon-32x32.png" "$OUT/"
cp "$TMP/r/package/bundles/redoc.standalone.js" "$OUT/"
printf 'swagger-ui-dist %s\nredoc %s\n' "$SWAGGER" "$REDOC" > "$OUT/VERSIONS"
