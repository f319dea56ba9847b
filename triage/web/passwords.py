"""Staff passwords: argon2id hashes and the policy of security.md §2 (ASVS V6).

At least 8 characters (15 recommended), up to 256 accepted, no composition rules, and none of
the commonest passwords. argon2-cffi's defaults are argon2id above OWASP's floor; a hash made
with older parameters is replaced at the next successful login (``needs_rehash``).
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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

_HASHER: Final = PasswordHasher()
# A real hash verified when the name is unknown, so both cases take the same time.
_DUMMY_HASH: Final = _HASHER.hash("not a password of anyone")


class WeakPassword(ValueError):
    """The password breaks the policy; the message says which rule."""


def check_policy(password: str, *, name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters (15 or more recommended)")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password may have at most {MAX_LENGTH} characters")
    if password.lower() in COMMON or (name and password.lower() == name.lower()):
        raise WeakPassword("this password is among the commonest ones; choose another")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown user) a dummy is checked, then False."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
