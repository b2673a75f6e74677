"""The OpenAPI document tells the truth a fuzzer (and a platform's developer) relies on: every
error answer has the one `Error` schema the API really sends, and every route that reads a
body declares it (routes read bytes for the signature, so FastAPI cannot see the model)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from proctor.api.deps import read_body
from proctor.api.uploads import read_upload_body
from proctor.config import Settings, get_settings
from proctor.main import create_app
from proctor.workers import celery_app as celery_module


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    yield create_app(Settings(database_url="sqlite://", broker_url=None, redis_url=None,
                              embedded_beat_s=0))
    celery_module.configure(get_settings())


def _reads_body(route: APIRoute) -> bool:
    """It takes the body (every signed route does, for the signature) and parses it."""
    def calls(dep: Any) -> set[Any]:
        return {dep.call}.union(*(calls(d) for d in dep.dependencies))

    source = inspect.getsource(route.endpoint)
    parses = any(f in source for f in ("parse_model(", "parse_json(", "image_parts(", "_one_image("))
    return parses and bool(calls(route.dependant) & {read_body, read_upload_body})


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):  # an included router
            out += _api_routes(r.original_router.routes)
    return out


def test_every_route_that_reads_a_body_declares_it(app: Any) -> None:
    spec = app.openapi()
    readers = [r for r in _api_routes(app.routes) if r.include_in_schema
               and _reads_body(r) and not {"GET"} >= r.methods]
    missing = [f"{m} {r.path}" for r in readers for m in r.methods
               if "requestBody" not in spec["paths"][r.path][m.lower()]]
    assert readers and missing == []
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    events = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "events" in events["required"]


def test_every_error_answer_references_the_error_schema(app: Any) -> None:
    spec = app.openapi()
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
            if path.startswith("/v1/"):
                assert {"400", "401", "404", "413", "422", "503"} <= set(errors), (method, path)
            if path.startswith("/v1/") and method in ("put", "post"):
                # a write may conflict with what is stored (the fuzzer found PUT /v1/courses'
                # 409 for a lesson with sessions, and the answer route's for a liveness check)
                assert "409" in errors, (method, path)
            for status, r in errors.items():
                schema = r["content"]["application/json"]["schema"]
                refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("anyOf", [])]
                assert "#/components/schemas/Error" in refs, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_an_error_the_api_sends_is_what_the_schema_says(app: Any) -> None:
    """The document's `Error` against real answers: a 401, a 422 naming fields, a 400."""
    import jsonschema

    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Error", "components": {"schemas": schemas}})
    with TestClient(app) as client:
        answers = [client.put("/v1/courses/c1", json={}),
                   client.get("/v1/sessions/x/verdict"),
                   client.post("/v1/events", content=b"{not json")]
    assert [a.status_code for a in answers] == [401, 401, 401]
    for a in answers:
        validator.validate(a.json())
