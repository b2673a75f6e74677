"""Field types reused across the API."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# IDs are the platform's own strings: 1-64 chars of [A-Za-z0-9._:-] (CONTRACT §2).
ExtId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
