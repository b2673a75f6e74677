"""The plans' paperwork (docs/paperwork.md): one router gathering its endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from proctor.api.routes import makeup

router = APIRouter()
router.include_router(makeup.router)
