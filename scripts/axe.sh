#!/usr/bin/env bash
# axe-core (npm) vendored for the portal's browser tests: tests/portal/vendor/axe.min.js is
# committed; run this to move to another release: bash scripts/axe.sh [version]
set -euo pipefail
VERSION="${1:-4.14.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "axe-core@${VERSION}" >/dev/null && tar xzf "axe-core-${VERSION}.tgz")
cp "$TMP/package/axe.min.js" "$ROOT/tests/portal/vendor/axe.min.js"
echo "axe-core ${VERSION}" > "$ROOT/tests/portal/vendor/AXE_VERSION"
