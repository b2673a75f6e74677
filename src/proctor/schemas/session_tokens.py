"""Browser session tokens (CONTRACT §6, docs/sdk.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SessionTokenOut(BaseModel):
    session_id: str
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    token_type: str = "Bearer"
    expires_at: datetime
    expires_in: int = Field(description="seconds until it expires")
