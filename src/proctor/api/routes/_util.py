"""Helpers for routes whose body was already read (and signed) as bytes."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Path
from pydantic import BaseModel

from proctor.api.deps import parse_json

M = TypeVar("M", bound=BaseModel)

ExtIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="the platform's id")]


def parse_model(body: bytes, model: type[M]) -> M:
    """Parse JSON, then validate; errors become 400 (not JSON) or 422 (naming the field)."""
    return model.model_validate(parse_json(body))
