"""The county's thresholds in force: the [county] table of the configured policy file."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from proctor.config import Settings
from proctor.domain.county.policy import CountyPolicy, county_policy_from_mapping


@lru_cache(maxsize=8)
def _load(path: str) -> CountyPolicy:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return county_policy_from_mapping(raw, source=path)


def county_policy_for(settings: Settings) -> CountyPolicy:
    name = settings.policy
    path = Path(name) if name.endswith(".toml") else settings.policy_dir / f"{name}.toml"
    return _load(str(path.resolve()))
