"""The policy in force, loaded once per (directory, name)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from proctor.config import Settings
from proctor.domain.policy import Policy, load_policy


@lru_cache(maxsize=16)
def _load(path: str) -> Policy:
    return load_policy(Path(path))


def policy_for(settings: Settings, name: str | None = None) -> Policy:
    """`config/policies/<name>.toml`; the name defaults to the configured policy."""
    name = name or settings.policy
    path = Path(name) if name.endswith(".toml") else settings.policy_dir / f"{name}.toml"
    return _load(str(path.resolve()))
