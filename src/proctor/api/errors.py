"""One place that turns errors into clear JSON: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from proctor.domain.errors import ProctorError


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts)


def validation_error_body(errors: list) -> dict:
    first = errors[0]
    name = _field(tuple(first["loc"]))
    msg = "missing" if first["type"] == "missing" else first["msg"]
    if first["type"] == "json_invalid":
        return {"error": {"code": "malformed", "message": "body is not valid JSON"}}
    return {
        "error": {
            "code": "invalid",
            "message": f"{name}: {msg}" if name else msg,
            "field": name or None,
            "details": [
                {"field": _field(tuple(e["loc"])), "problem": e["msg"]} for e in errors[:20]
            ],
        }
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(ProctorError)
    async def _domain(_: Request, exc: ProctorError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Standard-Webhooks"} if exc.status == 401 else None
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        body = validation_error_body(list(exc.errors()))
        status = 400 if body["error"]["code"] == "malformed" else 422
        return JSONResponse(body, status_code=status)

    @app.exception_handler(ValidationError)
    async def _model(_: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(exc.errors(include_url=False)), status_code=422)
