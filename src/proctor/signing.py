"""Standard Webhooks signatures over raw bytes, for bodies that are not UTF-8 (multipart JPEGs).

The `standardwebhooks` package signs ``"{id}.{timestamp}.{body}"`` but takes the body as a
``str`` and decodes bytes as strict UTF-8, so a multipart upload carrying a JPEG cannot be
signed or verified with it as is. The scheme itself is over the raw body bytes; this subclass
keeps the package's secret handling, header parsing and timestamp tolerance, and only builds
the signed message from bytes. For a UTF-8 body the signature is the package's, bit for bit.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from math import floor

from standardwebhooks import Webhook
from standardwebhooks.webhooks import hmac_data

# Bytes that are not UTF-8 survive a decode/encode round trip through lone surrogates.
_BYTES_AS_STR = "surrogateescape"


class BytesWebhook(Webhook):
    """``Webhook`` whose sign/verify accept any body bytes."""

    def sign(self, msg_id: str, timestamp: datetime, data: str | bytes) -> str:
        body = data if isinstance(data, bytes) else data.encode("utf-8", _BYTES_AS_STR)
        stamp = str(floor(timestamp.replace(tzinfo=UTC).timestamp()))
        digest = hmac_data(self._whsecret, f"{msg_id}.{stamp}.".encode() + body)
        return f"v1,{base64.b64encode(digest).decode()}"

    def verify_bytes(self, body: bytes, headers: dict[str, str]) -> None:
        """Raise ``WebhookVerificationError`` unless the headers sign exactly ``body``."""
        # the package's verify keeps a str as is and hands it to our sign(), which turns it
        # back into the very same bytes
        self.verify(body.decode("utf-8", _BYTES_AS_STR), headers, json_parse=False)
