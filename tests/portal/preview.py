"""A tiny Starlette app that serves the portal templates with the sample contexts.

For the browser tests (and for looking at the pages by hand before the database is wired):
    /work/main/.venv/bin/python -m uvicorn --app-dir tests/portal preview:app --port 8010
then open http://127.0.0.1:8010/preview/session.html
"""

from __future__ import annotations

import samples
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from proctor.portal.templating import STATIC_DIR, make_environment, render


def create_preview_app() -> Starlette:
    env = make_environment()

    async def page(request: Request) -> HTMLResponse:
        name = request.path_params["name"]
        factory = samples.PAGES.get(name)
        if factory is None:
            return HTMLResponse("no such sample page", status_code=404)
        return HTMLResponse(render(env, name, factory()))

    return Starlette(
        routes=[
            Route("/preview/{name}", page),
            Mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    )


app = create_preview_app()
