"""Exponential backoff with jitter: failures that happen together must not retry in lockstep."""

from __future__ import annotations

import random
from datetime import timedelta

_rng = random.Random()


def retry_delay(
    failures: int, *, base: float = 5.0, cap: float = 3600.0, rng: random.Random | None = None
) -> timedelta:
    """The wait after the ``failures``-th failure: between half and all of ``base·2^(failures-1)``,
    never more than ``cap`` seconds."""
    exponent = min(max(failures - 1, 0), 32)
    ceiling = min(cap, base * 2.0**exponent)
    return timedelta(seconds=ceiling / 2 + (rng or _rng).uniform(0, ceiling / 2))
