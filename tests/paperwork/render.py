"""Open an XLSX as a spreadsheet user would: LibreOffice Calc headless prints it to PDF, poppler
draws the pages (Debian libreoffice-calc and poppler-utils, installed by scripts/paperwork.sh).

A test that needs them skips, naming what is missing, only when they are not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image


def tools() -> tuple[str, str]:
    office = shutil.which("libreoffice") or shutil.which("soffice")
    pdftoppm = shutil.which("pdftoppm")
    if office is None or pdftoppm is None:
        pytest.skip("LibreOffice Calc or pdftoppm is not installed (scripts/paperwork.sh installs "
                    "Debian libreoffice-calc and poppler-utils; it needs apt and root)")
    return office, pdftoppm


def pages(xlsx: Path, workdir: Path, *, dpi: int = 60) -> list[Image.Image]:
    """The workbook printed by LibreOffice, one RGB image per PDF page, in order."""
    office, pdftoppm = tools()
    out = workdir / xlsx.stem
    out.mkdir(parents=True, exist_ok=True)
    # a profile of its own: parallel test workers never share (or lock) one
    profile = (workdir / "lo-profile").resolve().as_uri()
    subprocess.run([office, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
                   check=True, capture_output=True, timeout=240)
    pdf = out / f"{xlsx.stem}.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF-"), f"LibreOffice made no {pdf}"
    subprocess.run([pdftoppm, "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True,
                   capture_output=True, timeout=120)
    return [Image.open(p).convert("RGB") for p in sorted(out.glob("page-*.png"))]


def coloured_pixels(img: Image.Image) -> int:
    """Pixels with a clear hue: chart bars and legend keys, never the black/grey cell text, the
    white paper or the grey grid."""
    hsv = img.convert("HSV")
    return sum(1 for _, s, v in hsv.getdata() if s > 80 and v > 40)
