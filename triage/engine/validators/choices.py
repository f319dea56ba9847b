"""One choice among named options: carrier, payment_method, course."""

from __future__ import annotations

from collections.abc import Mapping

from triage import textmatch
from triage.engine.validators.base import Bad, FieldContext, Ok, Result, prepare

_I = textmatch.IGNORECASE

# Where a value lists several choices (an unfilled template line), it chose nothing.
_CHOICE_SEPARATORS = textmatch.compile(
    r"[/|,、]|・(?=\S)|\s+or\s+|または|又は|もしくは", _I, name="validators.choice_separators"
)

_CARRIER_WORDS = {
    "docomo": textmatch.compile(
        r"ドコモ|どこも|docomo|d払い|dばらい|spモード|sp\s*mode|ahamo|(?<![a-z])ntt",
        _I,
        name="validators.carrier.docomo",
    ),
    "au": textmatch.compile(
        r"(?<![a-z])au(?![a-z])|kddi|エーユー|(?<![a-z])uq|povo", _I, name="validators.carrier.au"
    ),
    "softbank": textmatch.compile(
        r"ソフトバンク|ソフバン|soft\s*bank|ワイモバイル|y!\s*mobile|y\s*mobile|linemo|ラインモ",
        _I,
        name="validators.carrier.softbank",
    ),
}
# Checked in this order: a card issued by a carrier (dカード, au PAY カード) is a credit card.
_PAYMENT_WORDS = {
    "convenience_store": textmatch.compile(
        r"コンビニ|convenience|konbini|conbini|ローソン|ファミリーマート|ファミマ|セブン|lawson|familymart|seven",
        _I,
        name="validators.payment.convenience_store",
    ),
    "credit_card": textmatch.compile(
        r"クレジット|クレカ|カード|デビット|credit|card|visa|master|jcb|amex|american\s*express|diners",
        _I,
        name="validators.payment.credit_card",
    ),
    "carrier": textmatch.compile(
        r"キャリア|携帯|スマホ|電話料金|ケータイ|合算|まとめて支払い|かんたん決済|carrier|mobile|phone\s*bill|"
        + "|".join(pattern.pattern for pattern in _CARRIER_WORDS.values()),
        _I,
        name="validators.payment.carrier",
    ),
}
_COURSE_WORDS = {
    "bundle": textmatch.compile(
        r"まとめて|まとめ払|一括|bundle|lump|annual|年払", _I, name="validators.course.bundle"
    ),
    "monthly": textmatch.compile(
        r"月会費|月額|月払|毎月|monthly|month", _I, name="validators.course.monthly"
    ),
}


def _choices(value: str, table: Mapping[str, textmatch.Pattern]) -> set[str]:
    """Which keys of ``table`` the parts of ``value`` name (one key per part, first match wins)."""
    found = set()
    for part in _CHOICE_SEPARATORS.split(value):
        for key, pattern in table.items():
            if pattern.search(part):
                found.add(key)
                break
    return found


def _one_choice(value: str, table: Mapping[str, textmatch.Pattern], bad: Bad) -> Result:
    found = _choices(value, table)
    if len(found) == 1:
        return Ok(found.pop())
    return None if found else bad  # several: an unfilled list of options, no choice made


def carrier(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    return _one_choice(
        value,
        _CARRIER_WORDS,
        Bad(
            "ご契約の携帯会社を読み取れませんでした。ドコモ・au・ソフトバンクのいずれかでお知らせください。",
            "The mobile carrier could not be identified. "
            "Please tell us whether it is docomo, au or SoftBank.",
        ),
    )


def payment_method(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    found = _choices(value, _PAYMENT_WORDS)
    if len(found) == 1:
        return Ok(found.pop())
    if found:
        return None
    return Bad(
        "会費のお支払い方法を読み取れませんでした。クレジットカード決済・キャリア決済（携帯決済）・"
        "コンビニ決済のいずれかでお知らせください。",
        "The payment method could not be identified. Please tell us whether you pay by credit card, "
        "carrier billing (with your mobile phone bill) or at a convenience store.",
    )


def course(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    return _one_choice(
        value,
        _COURSE_WORDS,
        Bad(
            "ご登録のコースを読み取れませんでした。月会費コースか、月会費まとめて払いコースかをお知らせください。",
            "The course could not be identified. Please tell us whether it is the monthly membership "
            "fee course or the bundle (lump-sum) course.",
        ),
    )
