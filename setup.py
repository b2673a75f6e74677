"""Build: the rule engine's hot modules (src/proctor/domain/COMPILED) compiled to C by mypyc.

The same sources run either way: compiled when built here (the default: a C compiler and
Python's headers, as on this project's machines and in docker/), as plain Python with
``PROCTOR_PURE_PYTHON=1``. The build records the SHA-256 of each source it compiled
(domain/_compiled.json); at import, proctor runs the compiled form only while the sources
still match it (proctor/_compiled.py). Everything else about the package is in pyproject.toml.
"""

import hashlib
import json
import os
from pathlib import Path

from setuptools import setup

SRC = Path(__file__).resolve().parent / "src"
LISTED = [line.strip() for line in (SRC / "proctor/domain/COMPILED").read_text().splitlines()
          if line.strip() and not line.startswith("#")]


def module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ext_modules() -> list:
    stamp = SRC / "proctor/domain/_compiled.json"
    if os.environ.get("PROCTOR_PURE_PYTHON") == "1":
        stamp.write_text(json.dumps({"compiled": False, "modules": {}}) + "\n")
        return []
    from mypyc.build import mypycify

    digests = {module_name(rel): [rel, hashlib.sha256((SRC / rel).read_bytes()).hexdigest()]
               for rel in LISTED}
    stamp.write_text(json.dumps({"compiled": True, "modules": digests}, indent=1) + "\n")
    return mypycify(["--config-file", "mypyc.ini", *(f"src/{rel}" for rel in LISTED)],
                    opt_level="3", group_name="proctor_domain")


setup(ext_modules=ext_modules())
