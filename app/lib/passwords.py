"""argon2id password hashing, run in threads with a cap on concurrent hashes (64 MiB each)."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_default = PasswordHasher()
# Far cheaper parameters, only for the test suite (settings refuse this in production).
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_limiter = anyio.CapacityLimiter(4)

MIN_LENGTH = 10


class PasswordHasherBox:
    def __init__(self, *, fast: bool) -> None:
        self._hasher = _fast if fast else _default

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=_limiter)

    async def verify(self, stored: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=_limiter)

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def password_problem(password: str) -> str | None:
    """A reason the password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 1024:
        return "That password is too long."
    return None
