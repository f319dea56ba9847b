"""Numbers and IDs: carrier payment ids, plus_member_id, digits_4_12, login_password,
password_length, card_last4."""

from __future__ import annotations

from triage import textmatch
from triage.engine.normalize import DASHES
from triage.engine.numerals import replace_kanji_numerals
from triage.engine.validators.base import (
    ANY_DIGIT,
    DATE_LIKE_RUN,
    DIGIT_RUN,
    Bad,
    FieldContext,
    Ok,
    Result,
    count_ja,
    digits_only,
    first_number,
    prepare,
)


def _exact_digits(raw: str, length: int, what_ja: str, what_en: str) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    number = first_number(value)
    if number is None:
        return _not_a_number(what_ja, what_en)
    digits, glued = number
    if glued:
        return _not_a_number(what_ja, what_en)
    if len(digits) != length:
        return Bad(
            f"{what_ja}は{length}桁の数字ですが、{count_ja(len(digits))}になっています。"
            f"{length}桁すべてをご確認のうえお知らせください。",
            f"{what_en} has {length} digits, but {len(digits)} were given. "
            f"Please check it and send all {length} digits.",
        )
    return Ok(digits)


def _not_a_number(what_ja: str, what_en: str) -> Bad:
    return Bad(
        f"{what_ja}に数字以外の文字が含まれています。数字だけでお書きください。",
        f"{what_en} contains characters other than digits. Please write the digits only.",
    )


def docomo_payment_number(raw: str, ctx: FieldContext) -> Result:
    return _exact_digits(
        raw,
        12,
        "ドコモの決済番号",
        "The docomo payment number",
    )


def au_billing_id(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    number = first_number(value)
    if number is None or number[1]:
        return _not_a_number("auの継続課金ID", "The au continuous billing ID")
    digits = number[0]
    n = len(digits)
    if digits == ctx.member_phone or (n == 11 and digits.startswith(("070", "080", "090"))):
        return Bad(
            "継続課金IDではなく電話番号のようです。継続課金IDは、auかんたん決済の購入履歴などに表示される"
            "11桁の番号です。電話番号では調査できませんので、継続課金IDをお知らせください。",
            "This looks like a phone number, not the continuous billing ID. The ID is the 11-digit "
            "number shown in your au Easy Payment purchase history; we cannot look you up by phone "
            "number, so please send the continuous billing ID.",
        )
    if n > 11:
        return Bad(
            f"お知らせいただいた番号は{count_ja(n)}で、継続課金ID（11桁）とは別の番号（決済情報番号など）のようです。"
            "決済情報番号では調査できませんので、11桁の継続課金IDをお知らせください。",
            f"The number given has {n} digits: it seems to be another number (such as the payment "
            "information number), not the 11-digit continuous billing ID. We cannot look you up by "
            "that number, so please send the 11-digit continuous billing ID.",
        )
    if n != 11:
        return Bad(
            f"auの継続課金IDは11桁の数字ですが、{count_ja(n)}になっています。11桁すべてをご確認のうえお知らせください。",
            f"The au continuous billing ID has 11 digits, but {n} were given. "
            "Please check it and send all 11 digits.",
        )
    return Ok(digits)


_SOFTBANK_SEPARATORS = textmatch.compile(
    rf"[\s{textmatch.escape(DASHES)}]", name="validators.softbank_separators"
)
_ALPHANUMERIC = textmatch.compile(r"[A-Za-z0-9]+", name="validators.alphanumeric")
_PLUS_MEMBER_ID = textmatch.compile(r"([Ee]?)([0-9]+)", name="validators.plus_member_id")


def softbank_order_number(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None or not ANY_DIGIT.search(value):
        return None  # readings.md 10: a run of words is never an order number
    compact = _SOFTBANK_SEPARATORS.sub("", value)
    if not _ALPHANUMERIC.fullmatch(compact):
        return Bad(
            "ソフトバンクの注文番号に英数字以外の文字が含まれています。英数字だけでお書きください。",
            "The SoftBank order number contains characters other than letters and digits. "
            "Please write the letters and digits only.",
        )
    if not 6 <= len(compact) <= 40:
        return Bad(
            f"ソフトバンクの注文番号は6〜40文字の英数字ですが、{len(compact)}文字になっています。"
            "番号全体をご確認のうえお知らせください。",
            f"The SoftBank order number has 6 to 40 letters and digits, but {len(compact)} were given. "
            "Please check it and send the whole number.",
        )
    return Ok(compact)


def plus_member_id(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None or not ANY_DIGIT.search(value):
        return None  # `Eから始まる番号です` describes the ID; it does not give one
    compact = _SOFTBANK_SEPARATORS.sub("", value)
    match = _PLUS_MEMBER_ID.fullmatch(compact)
    if match is None:
        return Bad(
            "Plus member IDは「E」と数字からなるIDですが、それ以外の文字が含まれています。"
            "IDをご確認ください。",
            "The Plus member ID is an 'E' followed by digits, but other characters were found. "
            "Please check it.",
        )
    digits = match.group(2)
    if not match.group(1):
        return Bad(
            "Plus member IDは「E」で始まるIDですが、先頭の「E」がありません。IDをそのままお書きください。",
            "The Plus member ID starts with an 'E', which is missing here. "
            "Please write the ID exactly as shown.",
            suggestion="E" + digits if 6 <= len(digits) <= 12 else None,
        )
    if not 6 <= len(digits) <= 12:
        return Bad(
            "Plus member IDは「E」のあとに6〜12桁の数字が続きますが、"
            f"数字が{count_ja(len(digits))}になっています。"
            "IDをご確認ください。",
            f"The Plus member ID is an 'E' followed by 6 to 12 digits, but {len(digits)} digits were given. "
            "Please check it.",
        )
    return Ok("E" + digits)


def digits_4_12(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    number = first_number(value)
    if number is None or number[1]:
        return _not_a_number("会員番号", "The member number")
    digits = number[0]
    if not 4 <= len(digits) <= 12:
        return Bad(
            f"会員番号は4〜12桁の数字ですが、{count_ja(len(digits))}になっています。番号をご確認ください。",
            f"The member number has 4 to 12 digits, but {len(digits)} were given. Please check it.",
        )
    return Ok(digits)


def login_password(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    number = first_number(value, DATE_LIKE_RUN)
    if number is None or number[1]:
        return Bad(
            "ログイン時のパスワードは数字8桁（生年月日）ですが、数字以外の文字が含まれています。"
            "入力した数字8桁をそのままお書きください。",
            "The login password is 8 digits (your date of birth), but other characters were given. "
            "Please write the 8 digits you typed.",
        )
    digits = number[0]
    if len(digits) != 8:
        return Bad(
            f"ログイン時のパスワードは数字8桁（生年月日）ですが、{count_ja(len(digits))}になっています。"
            "入力した数字8桁をそのままお書きください。",
            f"The login password is 8 digits (your date of birth), but {len(digits)} digits were given. "
            "Please write the 8 digits you typed.",
        )
    return Ok(digits)


_LENGTH = textmatch.compile(r"(?<![0-9])([0-9]+)(?![0-9])", name="validators.length")
_RANGE = textmatch.compile(r"[0-9]+\s*(?:~|〜|-|から|to)\s*[0-9]+", name="validators.range")


def password_length(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    value = replace_kanji_numerals(value, before="桁文字字")
    numbers = _LENGTH.findall(value)
    if not numbers:
        return Bad(
            "パスワードの桁数（文字数）を読み取れませんでした。数字でお書きください。",
            "The length of the password could not be read. Please give the number of characters.",
        )
    if _RANGE.search(value):
        return Bad(
            "パスワードの桁数が一つに決まりません。入力したパスワードの文字数を一つお知らせください。",
            "The password length is given as a range. Please give one number of characters.",
        )
    length = int(numbers[0])
    if not 1 <= length <= 64:
        return Bad(
            f"パスワードの桁数が{length}になっています。1〜64の文字数をご確認ください。",
            f"The password length reads as {length}. Please check it (1 to 64 characters).",
        )
    return Ok(length)


def card_last4(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    matches = [digits_only(m) for m in DIGIT_RUN.findall(value)]
    if not matches:
        return None  # `VISAです`: no digits written, so none given (readings.md 10)
    digits = matches[-1] if len(matches[-1]) == 4 else matches[0]
    if len(digits) >= 13:
        return Bad(
            "カード番号全体が書かれているようです。安全のため、カード番号は末尾4桁だけをお知らせください。",
            "This seems to be the whole card number. For your security, please send only the last 4 digits.",
        )
    if len(digits) != 4:
        return Bad(
            f"カード番号の末尾は4桁でお知らせいただきますが、{count_ja(len(digits))}になっています。"
            "末尾4桁をご確認ください。",
            f"We need the last 4 digits of the card, but {len(digits)} digits were given. Please check them.",
        )
    return Ok(digits)
