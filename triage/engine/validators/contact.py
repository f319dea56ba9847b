"""Contact details: phone (and normalize_phone), email, prefecture."""

from __future__ import annotations

from triage import textmatch
from triage.engine.emails import check_email
from triage.engine.normalize import DASHES
from triage.engine.prefectures import find_prefecture
from triage.engine.validators.base import Bad, FieldContext, Ok, Result, count_ja, digits_only, prepare


def prefecture(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    found = find_prefecture(value)
    if found is not None:
        return Ok(found)
    return Bad(
        "都道府県名を確認できませんでした。ご登録の住所の都道府県名（都・道・府・県まで）をお書きください。",
        "The prefecture could not be identified. Please write the prefecture of your registered address.",
    )


_MOBILE_PREFIXES = ("020", "050", "060", "070", "080", "090")
_DASH_OR_SPACE = rf"[ {textmatch.escape(DASHES)}]"
# Digit groups; a parenthesis only around a digit group ("(03)1234-5678", "+81 (0)90…"),
# so a note after the number ("(10時以降)") is not read as part of it.
_PHONE_RUN = textmatch.compile(
    rf"(?:\+ ?)?(?:\((?=[0-9]+\)))?[0-9]+"
    rf"(?:(?:[ .{textmatch.escape(DASHES)}]|\){_DASH_OR_SPACE}?|{_DASH_OR_SPACE}?\((?=[0-9]+\)))[0-9]+)*",
    name="validators.phone_run",
)


def normalize_phone(value: str) -> str | None:
    """National digits of the first phone-like number in ``value``; +81 / 0081 become 0.

    Raises textmatch.MatchTimeout when its pattern runs out of time (the phone validator reads None).
    """
    match = _PHONE_RUN.search(value)
    if match is None:
        return None
    text = match.group()
    digits = digits_only(text)
    international = text.startswith("+81") or digits.startswith("0081")
    if international:
        rest = digits[2:] if text.startswith("+") else digits[4:]
        return rest if rest.startswith("0") else "0" + rest
    return digits


def phone(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    digits = normalize_phone(value)
    if digits is None:
        return None
    n = len(digits)
    if not digits.startswith("0"):
        return Bad(
            "電話番号が0から始まっていません。市外局番（携帯電話は090などの最初の0）からお書きください。",
            "The phone number does not start with 0. Please write the whole national number, "
            "starting with the 0 of the area code or mobile prefix.",
        )
    if digits.startswith(_MOBILE_PREFIXES):
        if n != 11:
            prefix = digits[:3]
            return Bad(
                f"{prefix}で始まる電話番号は11桁ですが、{count_ja(n)}になっています。番号をご確認ください。",
                f"A phone number starting with {prefix} has 11 digits, but this one has {n}. "
                "Please check it.",
            )
    elif n != 10:
        return Bad(
            f"固定電話の番号は市外局番から10桁ですが、{count_ja(n)}になっています。番号をご確認ください。",
            f"A landline number has 10 digits including the area code, but this one has {n}. "
            "Please check it.",
        )
    return Ok(digits)


def email(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    local = value.partition("@")[0].strip().casefold()
    if "@" in value and (local in {p.casefold() for p in ctx.our_local_parts} or local.startswith("secure_")):
        return None
    result = check_email(value)
    if result.address is None:
        return Bad(result.reason_ja or "", result.reason_en or "", result.suggestion)
    return Ok(result.address, result.suggestion)
