"""The rule engine compiled by mypyc (setup.py) judges exactly as its Python sources do, runs
whenever the build made it, and never runs once its sources have changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import proctor
from proctor import _compiled
from proctor.domain import engine
from proctor.domain.makeup import superseded_sittings
from proctor.domain.model import Lesson, SessionRecord
from proctor.domain.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
BUILT_COMPILED = bool(_compiled._built())  # the build's record names what it compiled


def judged_corpus() -> list[Any]:
    """Verdicts of simulated sittings (honest ones and two of every cheat the simulator
    knows), and the lessons they make up, as plain JSON values."""
    from proctor.simulation.engine_driver import run_simulation

    policy = load_policy("henan-2021")
    results = run_simulation(honest=24, cheats=2, seed=23, policy=policy)
    out: list[Any] = [r.verdict.to_dict() for r in results]
    lesson = Lesson("L1", 1, 2400.0, 1.0)
    for start in range(0, len(results), 3):  # sittings of one lesson, three at a time
        records = [SessionRecord(f"s{start + i}", 1_700_000_000.0 + 3000 * i,
                                 1_700_000_000.0 + 3000 * i + 2500, r.verdict)
                   for i, r in enumerate(results[start:start + 3])]
        for mode in ("after_leave", "always", "never"):
            out.append(engine.aggregate_lesson(
                lesson, records, policy, superseded_sittings(records, mode, (1.0,))).to_dict())
    return out


def _in_subprocess(code: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


@pytest.mark.skipif(not BUILT_COMPILED or os.environ.get("PROCTOR_PURE_PYTHON") == "1",
                    reason="built as plain Python on purpose (PROCTOR_PURE_PYTHON=1)")
def test_the_compiled_engine_runs_when_built() -> None:
    assert proctor.COMPILED_ENGINE
    for name in _compiled.listed():
        assert sys.modules[name].__file__.endswith(".so"), name  # type: ignore[union-attr]


@pytest.mark.skipif(not proctor.COMPILED_ENGINE, reason="the sources run here: nothing to compare")
def test_compiled_and_sources_judge_alike() -> None:
    code = ("import json, proctor; from tests.domain.test_compiled import judged_corpus; "
            "assert not proctor.COMPILED_ENGINE; print(json.dumps(judged_corpus()))")
    pure = _in_subprocess(code, {"PROCTOR_PURE_PYTHON": "1",
                                 "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"})
    assert pure.returncode == 0, pure.stderr
    # through JSON both ways: floats compared to the last bit, as stored
    assert json.loads(json.dumps(judged_corpus())) == json.loads(pure.stdout)


@pytest.mark.skipif(not proctor.COMPILED_ENGINE, reason="nothing compiled to go stale")
def test_an_edited_source_runs_instead_of_the_stale_compiled_module(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "proctor", copy / "proctor",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "docs_static"))
    for lib in (ROOT / "src").glob("proctor_domain__mypyc*"):
        shutil.copy2(lib, copy / lib.name)
    code = ("import proctor, proctor.domain.timeline as t, proctor.domain.engine as e; "
            "print(proctor.COMPILED_ENGINE, t.__file__, e.__file__, t.EDITED)")
    timeline = copy / "proctor" / "domain" / "timeline.py"
    timeline.write_text(timeline.read_text() + "\nEDITED = 'yes'\n")
    ran = _in_subprocess(code, {"PYTHONPATH": str(copy)}, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    compiled, timeline_file, engine_file, edited = ran.stdout.split()
    # the edited module and every other compiled one: all from their sources
    assert (compiled, edited) == ("False", "yes")
    assert timeline_file.endswith("timeline.py") and engine_file.endswith("engine.py")
    assert "does not match its sources (proctor.domain.timeline)" in ran.stderr
