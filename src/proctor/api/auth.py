"""Platform authentication: Standard Webhooks signatures, timestamp tolerance, replay refusal."""

from __future__ import annotations

from dataclasses import dataclass

from standardwebhooks.webhooks import WebhookVerificationError

from proctor.domain.errors import Unauthorized
from proctor.signing import BytesWebhook
from proctor.storage.db import UnitOfWork
from proctor.storage.replay import ReplayGuard
from proctor.storage.repositories import registry as repo


@dataclass(frozen=True)
class Platform:
    """The authenticated caller: a key, scoped to exactly one institution."""

    key_id: str
    institution_id: int
    # set when the caller is a learner's browser holding a session token (api/session_auth.py):
    # it may reach this one study session and nothing else
    session_id: str | None = None


def authenticate(uow: UnitOfWork, guard: ReplayGuard, *, headers: dict[str, str],
                 body: bytes) -> Platform:
    """Verify the request or raise 401. The webhook-id is claimed only after the signature holds."""
    key_id = headers.get("x-proctor-key")
    if not key_id:
        raise Unauthorized("missing X-Proctor-Key header")
    key = repo.signing_key(uow.session, key_id)
    if key is None:
        raise Unauthorized("unknown or revoked platform key")
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name):
            raise Unauthorized(f"missing {name} header")
    try:
        BytesWebhook(key.secret).verify_bytes(body, headers)  # multipart JPEGs are not UTF-8
    except WebhookVerificationError as exc:
        reason = str(exc)
        if "too old" in reason or "too new" in reason:
            raise Unauthorized(f"webhook-timestamp is more than 5 minutes off ({reason})") from None
        raise Unauthorized("signature does not match") from None
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("malformed webhook-signature header or body") from None
    if not guard.claim(uow, key.key_id, headers["webhook-id"]):
        raise Unauthorized("webhook-id was already used (replay refused)")
    return Platform(key_id=key.key_id, institution_id=key.institution_id)
