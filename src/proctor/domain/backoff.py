"""Retry delays: exponential backoff with jitter (pure: the random draw is an argument)."""

from __future__ import annotations


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, draw: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...).

    "Equal jitter": half of base·2^(attempt-1) (capped) is kept, the other half is drawn, so retries
    from many callbacks that failed together (a platform outage) spread out instead of all
    hitting the platform again at the same moment, yet none comes back almost at once.
    ``draw`` is uniform in [0, 1).
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if not 0.0 <= draw < 1.0:
        raise ValueError("draw must be in [0, 1)")
    ceiling = min(cap_s, base_s * 2.0 ** (attempt - 1))
    return ceiling / 2.0 + draw * ceiling / 2.0
