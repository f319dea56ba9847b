"""Encryption at rest (security.md §3): raw mail and case values sealed with AES-256-GCM.

Keys come from ``TRIAGE_ENCRYPTION_KEYS`` (triage.config), newest first: values are sealed with
the first key and opened with whichever key sealed them, so a key rotates by putting a new one in
front, re-encrypting (``triage keys rotate``), then dropping the old one. Each sealed value
carries the 4-byte id of its key (the first bytes of a SHA-256 over the key, so no key is ever
named in the database) and a fresh 96-bit nonce. The associated data is the table and column
(``inbound_messages.raw``): a sealed value copied into another column does not open.

The keyring belongs to an engine (:func:`attach_keyring`, done by ``make_engine``); the column
types below find it through the dialect they are given, so there is no global key state and an
engine made without keys reads and writes plain values exactly as before.

Stored forms, told apart by a prefix that a plain value is escaped from:

| column kind | sealed | plain value that starts like a prefix |
| --- | --- | --- |
| bytes (``raw``) | ``\\x00TE1`` + key id + nonce + ciphertext | ``\\x00TP1`` + the bytes |
| text (``written``, ``body``) | ``~te1~`` + base64url(key id + nonce + ciphertext) | ``~tp1~`` + the text |
| JSON (``value``) | the JSON string ``~te1~...`` of the value's JSON text | ``~tp1~`` + the string |

Empty values (``b""``, ``""``, None) are stored as they are: a purged value stays visibly empty.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Dialect, Engine

from triage.errors import ConfigError, TriageError

KEY_BYTES: Final = 32  # AES-256
KEY_ID_BYTES: Final = 4
NONCE_BYTES: Final = 12
_KEYRING_ATTRIBUTE: Final = "triage_keyring"

SEALED_BYTES: Final = b"\x00TE1"
PLAIN_BYTES: Final = b"\x00TP1"
SEALED_TEXT: Final = "~te1~"
PLAIN_TEXT: Final = "~tp1~"


class DecryptError(TriageError):
    """A sealed value cannot be opened: no keys, an unknown key, or the wrong key."""


def new_key() -> str:
    """A fresh random key as TRIAGE_ENCRYPTION_KEYS takes it (URL-safe base64, 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_keys(text: str, name: str = "TRIAGE_ENCRYPTION_KEYS") -> tuple[bytes, ...]:
    """``"NEW,OLD"`` -> the keys' bytes, newest first; :class:`ConfigError` names what is wrong.

    The error never quotes a key: it says which one (1st, 2nd ...) is malformed.
    """
    keys: list[bytes] = []
    for position, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{name}: key {position} is not URL-safe base64") from exc
        if len(key) != KEY_BYTES:
            raise ConfigError(
                f"{name}: key {position} is {len(key)} bytes, not {KEY_BYTES} (`triage keys new` makes one)"
            )
        keys.append(key)
    ids = [key_id(key) for key in keys]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{name}: the same key is listed twice")
    return tuple(keys)


def key_id(key: bytes) -> bytes:
    """The 4 bytes that name ``key`` in a sealed value (not enough to learn anything of it)."""
    return hashlib.sha256(b"triage key id\x00" + key).digest()[:KEY_ID_BYTES]


class Keyring:
    """AES-256-GCM keys, newest first: seal with the first, open with the one named."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._aeads = {key_id(key): AESGCM(key) for key in keys}
        self.current_id = key_id(keys[0])

    def __repr__(self) -> str:  # never a key
        return f"<Keyring current={self.current_id.hex()} keys={len(self._aeads)}>"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """key id + nonce + ciphertext-and-tag of ``plaintext``, bound to ``context``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self.current_id].encrypt(nonce, plaintext, context.encode("ascii"))
        return self.current_id + nonce + sealed

    def unseal(self, token: bytes, context: str) -> bytes:
        """The plaintext of a :meth:`seal` result; :class:`DecryptError` in one line otherwise."""
        ident = token[:KEY_ID_BYTES]
        aead = self._aeads.get(ident)
        if aead is None:
            raise DecryptError(
                f"{context} is encrypted with key {ident.hex()}, which TRIAGE_ENCRYPTION_KEYS does not hold"
            )
        nonce = token[KEY_ID_BYTES : KEY_ID_BYTES + NONCE_BYTES]
        try:
            return aead.decrypt(nonce, token[KEY_ID_BYTES + NONCE_BYTES :], context.encode("ascii"))
        except InvalidTag as exc:
            raise DecryptError(
                f"{context}: a value sealed with key {ident.hex()} does not open (damaged or moved)"
            ) from exc


def attach_keyring(engine: Engine, keys: Sequence[bytes]) -> None:
    """Give ``engine`` its keys (none: values are written plain, sealed ones cannot be read)."""
    setattr(engine.dialect, _KEYRING_ATTRIBUTE, Keyring(keys) if keys else None)


def keyring_of(dialect: Dialect) -> Keyring | None:
    found = getattr(dialect, _KEYRING_ATTRIBUTE, None)
    return found if isinstance(found, Keyring) else None


def _no_keys(context: str) -> DecryptError:
    return DecryptError(f"{context} is encrypted, but TRIAGE_ENCRYPTION_KEYS is not set")


# --- codecs: a value <-> its stored form (also used by `triage keys rotate` on stored forms) ---


def encode_bytes(value: bytes, keyring: Keyring | None, context: str) -> bytes:
    if not value:
        return value
    if keyring is not None:
        return SEALED_BYTES + keyring.seal(value, context)
    if value.startswith((SEALED_BYTES, PLAIN_BYTES)):
        return PLAIN_BYTES + value
    return value


def decode_bytes(stored: bytes, keyring: Keyring | None, context: str) -> bytes:
    if stored.startswith(SEALED_BYTES):
        if keyring is None:
            raise _no_keys(context)
        return keyring.unseal(stored[len(SEALED_BYTES) :], context)
    if stored.startswith(PLAIN_BYTES):
        return stored[len(PLAIN_BYTES) :]
    return stored


def encode_text(value: str, keyring: Keyring | None, context: str) -> str:
    if not value:
        return value
    if keyring is not None:
        token = keyring.seal(value.encode("utf-8"), context)
        return SEALED_TEXT + base64.urlsafe_b64encode(token).decode("ascii")
    if value.startswith((SEALED_TEXT, PLAIN_TEXT)):
        return PLAIN_TEXT + value
    return value


def decode_text(stored: str, keyring: Keyring | None, context: str) -> str:
    if stored.startswith(SEALED_TEXT):
        if keyring is None:
            raise _no_keys(context)
        token = base64.urlsafe_b64decode(stored[len(SEALED_TEXT) :])
        return keyring.unseal(token, context).decode("utf-8")
    if stored.startswith(PLAIN_TEXT):
        return stored[len(PLAIN_TEXT) :]
    return stored


def encode_json(value: object, keyring: Keyring | None, context: str) -> object:
    if value is None:
        return None
    if keyring is not None:
        return encode_text(json.dumps(value, ensure_ascii=False), keyring, context)
    if isinstance(value, str):
        return encode_text(value, None, context)
    return value


def decode_json(stored: object, keyring: Keyring | None, context: str) -> object:
    if isinstance(stored, str) and stored.startswith(SEALED_TEXT):
        return json.loads(decode_text(stored, keyring, context))
    if isinstance(stored, str):
        return decode_text(stored, keyring, context)
    return stored


def sealed_key_id(stored: object) -> bytes | None:
    """The key id of a stored form, or None when it is plain (or empty)."""
    if isinstance(stored, bytes) and stored.startswith(SEALED_BYTES):
        return stored[len(SEALED_BYTES) : len(SEALED_BYTES) + KEY_ID_BYTES]
    if isinstance(stored, str) and stored.startswith(SEALED_TEXT):
        head = stored[len(SEALED_TEXT) : len(SEALED_TEXT) + 8]  # 8 base64 chars hold the 4-byte id
        return base64.urlsafe_b64decode(head)[:KEY_ID_BYTES]
    return None


# --- column types ---


class EncryptedBytes(sa.types.TypeDecorator[bytes]):
    """A LargeBinary column sealed when the engine has keys (``context``: "table.column")."""

    impl = sa.LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else encode_bytes(bytes(value), keyring_of(dialect), self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else decode_bytes(bytes(value), keyring_of(dialect), self.context)


class EncryptedText(sa.types.TypeDecorator[str]):
    """A Text column sealed when the engine has keys."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encode_text(value, keyring_of(dialect), self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decode_text(value, keyring_of(dialect), self.context)


class EncryptedJSON(sa.types.TypeDecorator[object]):
    """A JSON column whose value is sealed (as a JSON string) when the engine has keys."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: object, dialect: Dialect) -> object:
        return encode_json(value, keyring_of(dialect), self.context)

    def process_result_value(self, value: object, dialect: Dialect) -> object:
        return decode_json(value, keyring_of(dialect), self.context)
