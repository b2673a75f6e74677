"""One place that turns errors into clear JSON: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as KombuOperationalError
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, OperationalError

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


def _json(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers or None)


def install(app: FastAPI) -> None:
    """Handlers of the API app; a mounted app's unhandled errors reach them too (the portal)."""

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # a value the column cannot hold (an integer beyond BIGINT, text with NUL, ...)
        return _json(400, "out_of_range", "a value is out of range for where it is stored: "
                     f"{str(exc.orig).splitlines()[0] if exc.orig else 'refused'}")

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return _json(400, "out_of_range", f"a number is out of range: {exc}")

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        return _json(503, "unavailable", "the database is unavailable; retry later",
                     **{"Retry-After": "5"})

    @app.exception_handler(RedisError)
    async def _redis_down(_: Request, exc: RedisError) -> JSONResponse:
        return _json(503, "unavailable", "the replay store or broker is unavailable; retry later",
                     **{"Retry-After": "5"})

    @app.exception_handler(KombuOperationalError)
    async def _broker_down(_: Request, exc: KombuOperationalError) -> JSONResponse:
        return _json(503, "unavailable", "the task broker is unavailable; retry later",
                     **{"Retry-After": "5"})

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
