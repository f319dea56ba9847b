"""Personal data in lists and logs (design: security.md §3): masks that keep just enough to tell
two values apart at a glance, never enough to use one.

| field | masked |
| --- | --- |
| login_password, password_edge_chars | ``********`` |
| birth_date | ``****-**-**`` |
| phone | ``090-****-5678`` (first 3 and last 4 digits) |
| docomo_payment_number, au_billing_id, softbank_order_number | ``********9012`` (last 4 only) |
| card_last4 | ``****`` |
| e-mail addresses | ``ta***@example.jp`` |

:func:`mask_text` is the safety net of the logging filter (triage.logsetup): it masks every
e-mail address and every run of 6 or more digits (separators such as ``-`` between them allowed,
so ``090-1234-5678`` is one run) in free text. It is not the mechanism: logs carry ids and field
names, never values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

FULL_MASK: Final = "********"

_DIGIT: Final = re.compile(r"\d")  # any Unicode digit: full-width ０-９ too
_BLANKS: Final = re.compile(r"[\s\-‐－ー—–.()（）]+")
# An address: a local part of atext/dots and a dotted domain (IDN letters included via \w).
_EMAIL: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Six or more digits, each pair at most one separator apart: phone numbers, ids, dates. Not "."
# (`550 5.1.1` stays readable in a relay error).
_DIGIT_RUN: Final = re.compile(r"\d(?:[-‐－ー ()（）/]?\d){5,}")


def _digits(value: str) -> str:
    return "".join(str(int(ch)) for ch in value if _DIGIT.fullmatch(ch))


def _password(_value: str) -> str:
    return FULL_MASK


def _birth_date(_value: str) -> str:
    return "****-**-**"


def _phone(value: str) -> str:
    digits = _digits(value)
    if len(digits) < 8:  # too short to keep 7 of its digits visible
        return FULL_MASK
    return f"{digits[:3]}-****-{digits[-4:]}"


def _last4(value: str) -> str:
    compact = _BLANKS.sub("", value)
    if len(compact) <= 4:  # the last 4 would be the whole value
        return FULL_MASK
    return FULL_MASK + compact[-4:]


def _card_last4(_value: str) -> str:
    return "****"


MASKS: Final[dict[str, Callable[[str], str]]] = {
    "login_password": _password,
    "password_edge_chars": _password,
    "birth_date": _birth_date,
    "phone": _phone,
    "docomo_payment_number": _last4,
    "au_billing_id": _last4,
    "softbank_order_number": _last4,
    "card_last4": _card_last4,
}


def mask_value(field: str, value: object, *, sensitive: bool = False) -> str:
    """``value`` of ``field`` as shown in lists and logs.

    Fields of the table are masked by their rule; another field flagged ``sensitive`` (a field
    added to rules/fields.yaml after this table) is masked whole; any other value is returned as
    text unchanged. ``None`` (no value) stays ``""``.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    rule = MASKS.get(field)
    if rule is not None:
        return rule(text)
    if sensitive:
        return FULL_MASK
    return text


def mask_email(address: str | None) -> str:
    """``taro@example.jp`` -> ``ta***@example.jp``: the first two characters of the local part
    (one for a 3-character local part, none for shorter ones), then the domain."""
    if not address:
        return ""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return "***"
    keep = 2 if len(local) > 3 else (1 if len(local) == 3 else 0)
    return f"{local[:keep]}***@{domain}"


def mask_text(text: str) -> str:
    """Every e-mail address and every run of 6+ digits in ``text`` masked (the logging net)."""
    masked = _EMAIL.sub(lambda match: mask_email(match.group(0)), text)
    return _DIGIT_RUN.sub(lambda match: _DIGIT.sub("*", match.group(0)), masked)
