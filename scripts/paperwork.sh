#!/usr/bin/env bash
# Debian packages the paperwork needs (docs/paperwork.md): a TrueType Chinese font that ReportLab
# can embed in the e-archive PDF, poppler-utils (pdftoppm) for the report screenshots, and
# LibreOffice Calc (headless) so that a test can open the monthly report XLSX and see its charts.
set -euo pipefail
need=()
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v libreoffice >/dev/null || need+=(libreoffice-calc)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "paperwork: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
