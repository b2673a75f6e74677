"""proctor: integrity monitor for subsidised online vocational training."""

__version__ = "0.1.0"
