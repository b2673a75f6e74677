"""The portal's routers, one module per area, registered in order by portal/app.py.

To add pages (another helper's area): write ``portal/routes/<area>.py`` (or your own package)
with ``router = APIRouter()`` using ``portal.deps`` (ViewerDep, page, redirect, require_csrf),
put its templates under ``templates/<area>/``, and add ONE line to ROUTERS below.
"""

from __future__ import annotations

from fastapi import APIRouter

from proctor.portal.county import router as county_router
from proctor.portal.routes import admin, auth, exports, paperwork, reviewing, views

ROUTERS: list[APIRouter] = [
    auth.router,
    views.router,
    reviewing.router,
    exports.router,
    admin.router,
    county_router,  # the county's view (issue 14), portal/county/
    paperwork.router,
]
