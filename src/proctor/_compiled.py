"""Which form of the rule engine runs: the C that mypyc compiled from the modules listed in
``domain/COMPILED`` (setup.py), or those modules' Python sources.

The compiled form runs only while it was built from the very sources beside it: the build
records their SHA-256 (``domain/_compiled.json``). After an edit, without a build, or with
``PROCTOR_PURE_PYTHON=1``, every listed module is loaded from its source instead. All of them
or none: compiled modules call each other directly, so a mix would run stale code.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the proctor package
LIST = _ROOT / "proctor" / "domain" / "COMPILED"
STAMP = _ROOT / "proctor" / "domain" / "_compiled.json"


def listed() -> dict[str, Path]:
    """The modules the build compiles: name -> source file."""
    out: dict[str, Path] = {}
    for line in LIST.read_text(encoding="utf-8").splitlines():
        rel = line.strip()
        if rel and not rel.startswith("#"):
            parts = rel.removesuffix(".py").split("/")
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = _ROOT / rel
    return out


class _SourcesFirst(MetaPathFinder):
    """Finds the listed modules at their source files (before the extension-module finder)."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        package = [str(source.parent)] if source.name == "__init__.py" else None
        return spec_from_file_location(fullname, source, submodule_search_locations=package)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_stamp(*, compiled: bool) -> None:
    """The build's record (setup.py): the SHA-256 of each listed source it compiles (none when
    it compiles nothing)."""
    modules = {name: [str(source.relative_to(_ROOT)), digest(source)]
               for name, source in listed().items()} if compiled else {}
    STAMP.write_text(json.dumps({"compiled": compiled, "modules": modules}, indent=1) + "\n",
                     encoding="utf-8")


def _built() -> dict[str, str]:
    """name -> SHA-256 of the source each module was compiled from (empty: none compiled)."""
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {name: sha for name, (_rel, sha) in stamp.get("modules", {}).items()}


def _current(name: str, source: Path, built: dict[str, str]) -> bool:
    """Compiled from this very source, and the compiled module is there."""
    if not any(source.with_name(source.stem + suffix).exists() for suffix in EXTENSION_SUFFIXES):
        return False
    try:
        return digest(source) == built.get(name)
    except FileNotFoundError:
        return False


def choose() -> bool:
    """Decided once, before any listed module is imported; True when the compiled form runs."""
    sources = listed()
    built = _built()
    stale = sorted(name for name, source in sources.items() if not _current(name, source, built))
    if not stale and os.environ.get("PROCTOR_PURE_PYTHON") != "1":
        return True
    if built and stale:
        warnings.warn(f"proctor: the compiled rule engine does not match its sources "
                      f"({', '.join(stale)}): running the sources instead (`make install` "
                      "compiles them again)", RuntimeWarning, stacklevel=2)
    sys.meta_path.insert(0, _SourcesFirst(sources))
    return False
