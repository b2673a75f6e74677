from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from proctor.domain.policy import Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy("henan-2021")


# Property tests draw from a fixed seed unless HYPOTHESIS_PROFILE says otherwise: CI and every
# run of `make test` see the same examples (a failure is reproducible), `dev` explores anew.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
