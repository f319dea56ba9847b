"""Staff passwords: argon2id hashes and the policy of security.md §2 (ASVS V6).

At least 8 characters (15 recommended), up to 256 accepted, no composition rules, and none of
the commonest passwords. The hash parameters are argon2-cffi's defaults (argon2id, RFC 9106's
low-memory profile, above OWASP's floor) unless ``TRIAGE_ARGON2`` names others (``t=2,m=19456,
p=1`` is OWASP's floor, for small machines); a hash made with other parameters than the current
ones is replaced at the next successful login (``needs_rehash``).
"""

from __future__ import annotations

import functools
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from triage.errors import ConfigError

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 256

# The commonest passwords of the public breach lists (and the desk's own obvious words).
COMMON: Final = frozenset(
    {
        "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwertyui",
        "qwerty123", "11111111", "00000000", "iloveyou", "abc12345", "1q2w3e4r", "sunshine",
        "princess", "football", "baseball", "welcome1", "passw0rd", "letmein1", "admin123",
        "administrator", "qwertyuiop", "asdfghjk", "zaq12wsx", "triage123", "support1",
    }
)  # fmt: skip

# OWASP's floor for argon2id: 19 MiB, 2 passes, 1 lane.
FLOOR: Final = (2, 19456, 1)


class WeakPassword(ValueError):
    """The password breaks the policy; the message says which rule."""


def check_policy(password: str, *, name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters (15 or more recommended)")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    if password.lower() in COMMON or (name and password.lower() == name.lower()):
        raise WeakPassword("this password is among the commonest ones; choose another")


def parse_parameters(raw: str) -> tuple[int, int, int] | None:
    """``t=2,m=19456,p=1`` -> (time cost, memory KiB, lanes); "" -> None (the library's defaults)."""
    if not raw.strip():
        return None
    values: dict[str, int] = {}
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or key not in {"t", "m", "p"} or not value.isdigit():
            raise ConfigError(f"TRIAGE_ARGON2 must look like t=2,m=19456,p=1, not {raw!r}")
        values[key] = int(value)
    if set(values) != {"t", "m", "p"}:
        raise ConfigError(f"TRIAGE_ARGON2 needs t, m and p, not {raw!r}")
    return values["t"], values["m"], values["p"]


class Passwords:
    """Hashing and checking with one set of parameters."""

    def __init__(self, parameters: tuple[int, int, int] | None = None) -> None:
        if parameters is None:
            self._hasher = PasswordHasher()
        else:
            time_cost, memory_cost, parallelism = parameters
            self._hasher = PasswordHasher(
                time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
            )
        # A real hash checked when the name is unknown, so both cases take the same time.
        self._dummy = self._hasher.hash("not the password of anyone")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash (unknown user) the dummy is checked."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


@functools.cache
def passwords(parameters: tuple[int, int, int] | None = None) -> Passwords:
    """One :class:`Passwords` per parameter set (building one hashes the dummy once)."""
    return Passwords(parameters)
