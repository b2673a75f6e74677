"""Domain errors carry their HTTP status and a message that names the problem.

One handler in proctor.api renders them; services raise them, never HTTPException.
"""

from __future__ import annotations


class ProctorError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(ProctorError):
    status = 422
    code = "invalid"


class MalformedRequest(ProctorError):
    status = 400
    code = "malformed"


class Unauthorized(ProctorError):
    status = 401
    code = "unauthorized"


class Forbidden(ProctorError):
    status = 403
    code = "forbidden"


class NotFound(ProctorError):
    status = 404
    code = "not_found"


class Conflict(ProctorError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ProctorError):
    status = 413
    code = "too_large"


class Gone(ProctorError):
    status = 410
    code = "gone"
