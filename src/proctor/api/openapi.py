"""The OpenAPI document as the API really answers: one `Error` schema for every error status,
and every JSON request body declared (routes read their body as bytes, for the signature, so
FastAPI cannot see it: `json_body(Model)` declares it).

What a route may answer besides its success: 400 (body not JSON, a value out of range), 401
(signature, key, replay), 403 (a session token used beyond its session), 404, 413 (the body
limit, before anything else runs), 422 (a field named), 503 (a dependency is down), and on
writes 409; routes add their own (410, 429) with ``responses=``. tests/fuzz holds the document to this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

REF = "#/components/schemas/{model}"
_REQUEST_MODELS: dict[str, type[BaseModel]] = {}

# every route of the platform API may answer these; /healthz and /readyz are outside it
COMMON_ERRORS: dict[int, str] = {
    400: "malformed request: the body is not JSON, or a value cannot be stored",
    401: "not authenticated: signature, key, timestamp or replay refused",
    403: "authenticated, not allowed (a session token used beyond its session)",
    404: "not found (for this institution)",
    413: "the body is over the limit",
    422: "a field is invalid (named in `field`)",
    503: "a dependency (database, broker, replay store) is down; retry after `Retry-After`",
}
# and every write (PUT, POST) may conflict with what is stored
WRITE_ERRORS: dict[int, str] = {409: "conflicts with what is stored (named in `message`)"}
ROUTE_ERRORS: dict[int, str] = {410: "gone (expired)", 429: "too many requests"}


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. `reasons`, `submission_id` of a refused photo

    code: str = Field(description="machine-readable: invalid, malformed, not_found, ...")
    message: str = Field(description="names the problem, for a person")
    field: str | None = Field(default=None, description="the field at fault, when one is")
    details: list[ErrorDetail] | None = Field(default=None,
                                              description="every invalid field (validation)")


class Error(BaseModel):
    """The body of every error answer."""

    error: ErrorInfo


def json_body(model: type[BaseModel], description: str | None = None) -> dict[str, Any]:
    """`openapi_extra` declaring a route's JSON request body (the route parses it itself)."""
    _REQUEST_MODELS[model.__name__] = model
    body: dict[str, Any] = {"required": True, "content": {"application/json": {
        "schema": {"$ref": REF.format(model=model.__name__)}}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def _add_schema(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components[model.__name__] = schema


def honest_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error answer of every platform route references `Error` (anyOf the route's own
    model where it has one, e.g. the 422 of POST /v1/events naming each rejected event)."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    _add_schema(components, Error)
    for model in _REQUEST_MODELS.values():
        _add_schema(components, model)
    for path, ops in spec.get("paths", {}).items():
        platform_route = path.startswith("/v1/")
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            wanted = {str(s): d for s, d in COMMON_ERRORS.items()} if platform_route else {}
            if platform_route and method in ("put", "post"):
                wanted.update({str(s): d for s, d in WRITE_ERRORS.items()})
            for status in list(responses):
                if int(status) >= 400:
                    wanted.setdefault(status, ROUTE_ERRORS.get(int(status), "error"))
            for status, description in wanted.items():
                entry = responses.setdefault(status, {"description": description})
                own = (entry.get("content", {}).get("application/json", {}).get("schema"))
                if own and own.get("$ref", "").endswith("/HTTPValidationError"):
                    own = None
                schema = ({"anyOf": [own, {"$ref": REF.format(model="Error")}]} if own
                          else {"$ref": REF.format(model="Error")})
                entry["content"] = {"application/json": {"schema": schema}}
                if entry.get("description") in (None, "", "Validation Error"):
                    entry["description"] = description
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and unused not in _referenced(spec, unused):
            del components[unused]
    return spec


def _referenced(spec: dict[str, Any], name: str) -> str:
    import json

    text = json.dumps({k: v for k, v in spec.items() if k != "components"})
    text += json.dumps({k: v for k, v in spec["components"]["schemas"].items() if k != name})
    return name if f'/{name}"' in text else ""


def install(app: FastAPI) -> None:
    """app.openapi() builds (once) the document with honest errors and declared bodies."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = honest_errors(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, openapi_version=app.openapi_version))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
