"""Build: the rule engine's hot modules (src/proctor/domain/COMPILED) compiled to C by mypyc.

The same sources run either way: compiled when built here (the default: a C compiler and
Python's headers, as on this project's machines and in docker/), as plain Python with
``PROCTOR_PURE_PYTHON=1``. The build records the SHA-256 of each source it compiled
(domain/_compiled.json); at import, proctor runs the compiled form only while the sources
still match it. Both the list and the record are proctor/_compiled.py's, loaded here from its
file (the package itself is not importable before it is built). Everything else about the
package is in pyproject.toml.
"""

import os
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

from setuptools import setup

ROOT = Path(__file__).resolve().parent


def _compiled_module() -> ModuleType:
    spec = spec_from_file_location("proctor_build_compiled", ROOT / "src/proctor/_compiled.py")
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ext_modules() -> list:
    compiled = _compiled_module()
    if os.environ.get("PROCTOR_PURE_PYTHON") == "1":
        compiled.write_stamp(compiled=False)
        return []
    from mypyc.build import mypycify

    compiled.write_stamp(compiled=True)
    sources = [str(path.relative_to(ROOT)) for path in compiled.listed().values()]
    return mypycify(["--config-file", "mypyc.ini", *sources], opt_level="3",
                    group_name="proctor_domain")


setup(ext_modules=ext_modules())
