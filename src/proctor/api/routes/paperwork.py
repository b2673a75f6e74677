"""The plans' paperwork (docs/paperwork.md): one router gathering its endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from proctor.api.routes import archive, classes, makeup, notices
from proctor.portal import paperwork_public

router = APIRouter()
router.include_router(makeup.router)
router.include_router(archive.router)
router.include_router(classes.router)
router.include_router(notices.router)
router.include_router(paperwork_public.router)
