"""Names of the face models and matchers, importable without loading any model (no dlib).

A template stores the model that made it (name + version); vectors of two models are never
compared. The API process reads these names; only vision workers load the models.
"""

from __future__ import annotations

from enum import StrEnum

SFACE_MODEL = "sface_2021dec_int8bq/yunet_2026may"
DLIB_MODEL = "dlib_resnet_v1/yunet_2026may"
ALL_MODELS = (SFACE_MODEL, DLIB_MODEL)


class Matcher(StrEnum):
    SFACE = "sface"
    DLIB = "dlib"
    SFACE_DLIB_VETO = "sface+dlib_veto"

    @property
    def models(self) -> tuple[str, ...]:
        """The template models this matcher compares with (the first one decides)."""
        return {Matcher.SFACE: (SFACE_MODEL,), Matcher.DLIB: (DLIB_MODEL,),
                Matcher.SFACE_DLIB_VETO: (SFACE_MODEL, DLIB_MODEL)}[self]

    @property
    def deciding_model(self) -> str:
        return self.models[0]
