"""proctor: integrity monitor for subsidised online vocational training."""

from proctor import _compiled

__version__ = "0.1.0"
# whether the rule engine runs as the C mypyc compiled (setup.py) or as its Python sources
COMPILED_ENGINE = _compiled.choose()
