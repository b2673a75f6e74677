"""Run the benchmark sections and write docs/benchmarks.{md,json}."""

from __future__ import annotations

import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

import proctor.bench as bench_pkg

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _sections(names: list[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if not m.name.startswith("_"))
    return [n for n in found if not names or n in names]


def main(argv: list[str]) -> int:
    names = _sections(argv)
    json_path, md_path = DOCS / "benchmarks.json", DOCS / "benchmarks.md"
    figures: dict = json.loads(json_path.read_text()) if json_path.exists() else {}
    parts: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"proctor.bench.{name}")
        if not hasattr(module, "run"):
            continue
        print(f"bench: {name} …", flush=True)
        t0 = time.perf_counter()
        section = module.run()
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f} s: {section.figures}", flush=True)
        figures.update(section.figures)
        parts[name] = f"## {section.title}\n\n{section.markdown.strip()}\n"
    figures["machine"] = f"{platform.machine()} {platform.python_version()}, 2 cores"
    figures["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    DOCS.mkdir(exist_ok=True)
    json_path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    _write_markdown(md_path, parts)
    print(f"bench: wrote {md_path} and {json_path}")
    return 0


def _write_markdown(md_path: Path, parts: dict[str, str]) -> None:
    """Replace the named sections in benchmarks.md, keeping the others from an earlier run."""
    old: dict[str, str] = {}
    if md_path.exists():
        current = None
        for line in md_path.read_text().splitlines(keepends=True):
            if line.startswith("<!-- section: "):
                current = line.strip()[len("<!-- section: "):-len(" -->")]
                old[current] = ""
            elif current is not None:
                old[current] += line
    old.update(parts)
    head = (
        "# Benchmarks\n\nProduced by `make bench` (`python -m proctor.bench [section …]`) on this\n"
        "2-core machine; every ratio is measured side by side in one run. Machine-readable figures:\n"
        "`docs/benchmarks.json`.\n\n"
    )
    body = "".join(f"<!-- section: {k} -->\n{v.rstrip()}\n\n" for k, v in sorted(old.items()))
    md_path.write_text(head + body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
