"""Field validators: one named normaliser/validator per field kind (fields.md).

Each validator takes a value as the member wrote it (after :func:`for_report`, which it applies
again, harmlessly) and a :class:`FieldContext`, and returns:

* ``None`` — no value at all: a placeholder answer (なし, 覚えていません, none …) or nothing usable;
* :class:`Ok` — the normal form of fields.md, perhaps with a suggestion (never applied);
* :class:`Bad` — written but invalid, with member-facing reasons in Japanese and English that
  say what is wrong and what to send instead (and never quote example values).

Rule packs reference validators by their names in :data:`VALIDATORS`.
"""

from __future__ import annotations

import datetime
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import regex

from triage.engine.emails import check_email
from triage.engine.normalize import DASHES, for_report, is_placeholder, to_katakana_fullwidth
from triage.engine.numerals import replace_kanji_numerals
from triage.engine.prefectures import find_prefecture
from triage.engine.wareki import parse_date


@dataclass(frozen=True)
class Ok:
    value: str | int | list[str]  # the normal form of fields.md
    suggestion: str | None = None  # e.g. "taro@gmail.com" for "taro@gmail.con" (suggest, never rewrite)


@dataclass(frozen=True)
class Bad:
    reason_ja: str
    reason_en: str
    suggestion: str | None = None


@dataclass(frozen=True)
class FieldContext:
    today: datetime.date
    member_phone: str | None = None  # normalised phone of the same mail (for the au rule)
    our_local_parts: frozenset[str] = frozenset()  # our secure_* mailboxes: never a member's e-mail


Result = Ok | Bad | None
Validator = Callable[[str, FieldContext], Result]

# --- shared helpers ---------------------------------------------------------------------------

_HAN = regex.compile(r"\p{Han}")
_ANY_DIGIT = regex.compile(r"\p{Nd}")
_SELF_INTRODUCTION = regex.compile(r"\s*(?:と申します|ともうします|と言います|といいます|です)$")
# Katakana (ァ–ヺ, ヽヾ, small Ainu katakana), ー, ・ and spaces: fields.md's valid kana name.
_KANA_NAME = regex.compile("[\u30a1-\u30fa\u30fd\u30fe\u31f0-\u31ffー・ ]+")
# A number: groups of digits joined by the separators members put inside numbers.
_SEPARATOR = rf"[ ./{regex.escape(DASHES)}]"
_DIGIT_RUN = regex.compile(rf"[0-9]+(?:{_SEPARATOR}{{1,3}}[0-9]+)*")
_DATE_LIKE_RUN = regex.compile(rf"[0-9]+(?:(?:{_SEPARATOR}|[年月日]){{1,3}}[0-9]+)*")
_LETTER = regex.compile(r"[A-Za-z]")


def _prepare(raw: str, *, keep_punctuation: bool = False) -> str | None:
    """for_report; None for an empty value or a placeholder answer."""
    value = for_report(raw, keep_punctuation=keep_punctuation)
    if not value or is_placeholder(value):
        return None
    return value


def _first_number(value: str, pattern: regex.Pattern[str] = _DIGIT_RUN) -> tuple[str, bool] | None:
    """Digits of the first number in ``value`` (separators removed), and whether a letter touches it.

    Text after the number is ignored (``090-1234-5678（携帯）``); a letter glued to it
    (``A1234``, ``1234x``) means the value is not a plain number.
    """
    match = pattern.search(value)
    if match is None:
        return None
    before = value[match.start() - 1 : match.start()]
    after = value[match.end() : match.end() + 1]
    glued = bool(_LETTER.match(before) or _LETTER.match(after))
    return regex.sub(r"[^0-9]", "", match.group()), glued


def _count_ja(n: int) -> str:
    return f"{n}桁"


# --- names and free text ----------------------------------------------------------------------


def name_kanji(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    value = _SELF_INTRODUCTION.sub("", value).strip()
    if not value:
        return None
    if _ANY_DIGIT.search(value):
        return Bad(
            "漢字のお名前に数字が含まれています。氏名（フルネーム）を漢字でお書きください。",
            "The name in kanji contains digits. Please write your full name in kanji.",
        )
    if not _HAN.search(value):
        return Bad(
            "漢字のお名前に漢字が含まれていません。ご登録の氏名（フルネーム）を漢字でお書きください。",
            "The name given as your name in kanji contains no kanji. "
            "Please write your registered full name in kanji.",
        )
    return Ok(value)


def name_kana(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    value = to_katakana_fullwidth(_SELF_INTRODUCTION.sub("", value).strip())
    if not value:
        return None
    if _KANA_NAME.fullmatch(value):
        return Ok(value)
    if _HAN.search(value):
        return Bad(
            "フリガナに漢字が含まれています。お名前の読みをカタカナ（またはひらがな）でお書きください。",
            "The reading of your name contains kanji. Please write it in katakana (or hiragana).",
        )
    if _LETTER.search(value):
        return Bad(
            "フリガナにアルファベットが含まれています。お名前の読みをカタカナ（またはひらがな）でお書きください。",
            "The reading of your name contains Latin letters. Please write it in katakana (or hiragana).",
        )
    if _ANY_DIGIT.search(value):
        return Bad(
            "フリガナに数字が含まれています。お名前の読みをカタカナ（またはひらがな）でお書きください。",
            "The reading of your name contains digits. Please write it in katakana (or hiragana).",
        )
    return Bad(
        "フリガナにカタカナ以外の記号などが含まれています。お名前の読みをカタカナ（またはひらがな）だけでお書きください。",
        "The reading of your name contains symbols other than katakana. "
        "Please write it in katakana (or hiragana) only.",
    )


def nonempty(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    return None if value is None else Ok(value)


_COPULA = regex.compile(r"[ ]?(?:です|でした|になります|にしています|にしてます|です。)$")
_SENTENCE = regex.compile(
    r"(?:ます|ません|ました|でした|です|思う|思います|けど|ので|から)(?:が|けど|。)?$|[、。]"
)
_PLACE = regex.compile(r"[都道府県市区町村郡丁目番地号]|[0-9]|[A-Za-z]{3,}")


def _plain_value(raw: str) -> str | None:
    """A free-text value without a trailing copula (`酒井です` -> `酒井`)."""
    value = _prepare(raw)
    if value is None:
        return None
    return _COPULA.sub("", value).strip() or value


def nickname(raw: str, ctx: FieldContext) -> Result:
    """Not empty, and not a sentence (readings.md 10: a sentence is never a nickname)."""
    value = _plain_value(raw)
    if value is None:
        return None
    if len(value) > 16 and _SENTENCE.search(value):
        return None
    return Ok(value)


def address(raw: str, ctx: FieldContext) -> Result:
    """Not empty, and naming a place (a prefecture, city, ward, a block number …), not a sentence."""
    value = _plain_value(raw)
    if value is None or not _PLACE.search(value):
        return None
    return Ok(value)


_BEFORE_PURCHASE = regex.compile(
    r"購入前|未購入|まだ購入して(?:い)?ない"
    r"|(?:haven'?t|have not|didn'?t|did not) (?:bought|purchased|buy|purchase)"
    r"|not (?:yet )?purchased|before (?:the )?purchase",
    regex.IGNORECASE,
)


def login_id(raw: str, ctx: FieldContext) -> Result:
    """As written; a statement that nothing was bought yet is the word 購入前 (fields.md)."""
    value = _plain_value(raw)
    if value is None:
        return None
    return Ok("購入前") if _BEFORE_PURCHASE.search(value) else Ok(value)


def plain_text(raw: str, ctx: FieldContext) -> Result:
    value = _plain_value(raw)
    return None if value is None else Ok(value)


def edge_chars(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw, keep_punctuation=True)
    return None if value is None else Ok(value)


# --- dates, places, phone, e-mail ---------------------------------------------------------------

_TWO_DIGIT_YEAR = regex.compile(
    r"(?<![0-9])(?:[0-9]{6}|[0-9]{1,2}[./\-年][0-9]{1,2}[./\-月][0-9]{1,2})(?![0-9])"
)


def birth_date(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    parsed = parse_date(value, ctx.today)
    if parsed is not None:
        if parsed.value is not None:
            return Ok(parsed.value)
        return Bad(parsed.reason_ja or "", parsed.reason_en or "")
    if _TWO_DIGIT_YEAR.search(replace_kanji_numerals(value, before="年月日")):
        return Bad(
            "生年月日の年が2桁で書かれているため、何年生まれか特定できません。"
            "西暦4桁の年と月・日（8桁）でお書きください。",
            "The year of your date of birth has only two digits, so the year cannot be told. "
            "Please write the year with four digits, then the month and day.",
        )
    if _ANY_DIGIT.search(value) or regex.search("[一二三四五六七八九十元]", value):
        return Bad(
            "生年月日を年・月・日まで読み取れませんでした。西暦4桁の年と月・日（8桁）でお書きください。",
            "Your date of birth could not be read as a full date (year, month and day). "
            "Please write the year with four digits, then the month and day.",
        )
    return None


def prefecture(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
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
_DASH_OR_SPACE = rf"[ {regex.escape(DASHES)}]"
# Digit groups; a parenthesis only around a digit group ("(03)1234-5678", "+81 (0)90…"),
# so a note after the number ("(10時以降)") is not read as part of it.
_PHONE_RUN = regex.compile(
    rf"(?:\+ ?)?(?:\((?=[0-9]+\)))?[0-9]+"
    rf"(?:(?:[ .{regex.escape(DASHES)}]|\){_DASH_OR_SPACE}?|{_DASH_OR_SPACE}?\((?=[0-9]+\)))[0-9]+)*"
)


def normalize_phone(value: str) -> str | None:
    """National digits of the first phone-like number in ``value``; +81 / 0081 become 0."""
    match = _PHONE_RUN.search(value)
    if match is None:
        return None
    text = match.group()
    digits = str(regex.sub(r"[^0-9]", "", text))
    international = text.startswith("+81") or digits.startswith("0081")
    if international:
        rest = digits[2:] if text.startswith("+") else digits[4:]
        return rest if rest.startswith("0") else "0" + rest
    return digits


def phone(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
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
                f"{prefix}で始まる電話番号は11桁ですが、{_count_ja(n)}になっています。番号をご確認ください。",
                f"A phone number starting with {prefix} has 11 digits, but this one has {n}. "
                "Please check it.",
            )
    elif n != 10:
        return Bad(
            f"固定電話の番号は市外局番から10桁ですが、{_count_ja(n)}になっています。番号をご確認ください。",
            f"A landline number has 10 digits including the area code, but this one has {n}. "
            "Please check it.",
        )
    return Ok(digits)


def email(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    local = value.partition("@")[0].strip().casefold()
    if "@" in value and (local in {p.casefold() for p in ctx.our_local_parts} or local.startswith("secure_")):
        return None
    result = check_email(value)
    if result.address is None:
        return Bad(result.reason_ja or "", result.reason_en or "", result.suggestion)
    return Ok(result.address, result.suggestion)


# --- payment ------------------------------------------------------------------------------------

# Where a value lists several choices (an unfilled template line), it chose nothing.
_CHOICE_SEPARATORS = regex.compile(r"[/|,、]|・(?=\S)|\s+or\s+|または|又は|もしくは", regex.IGNORECASE)

_CARRIER_WORDS = {
    "docomo": regex.compile(
        r"ドコモ|どこも|docomo|d払い|dばらい|spモード|sp\s*mode|ahamo|(?<![a-z])ntt", regex.I
    ),
    "au": regex.compile(r"(?<![a-z])au(?![a-z])|kddi|エーユー|(?<![a-z])uq|povo", regex.I),
    "softbank": regex.compile(
        r"ソフトバンク|ソフバン|soft\s*bank|ワイモバイル|y!\s*mobile|y\s*mobile|linemo|ラインモ", regex.I
    ),
}
# Checked in this order: a card issued by a carrier (dカード, au PAY カード) is a credit card.
_PAYMENT_WORDS = {
    "convenience_store": regex.compile(
        r"コンビニ|convenience|konbini|conbini|ローソン|ファミリーマート|ファミマ|セブン|lawson|familymart|seven",
        regex.I,
    ),
    "credit_card": regex.compile(
        r"クレジット|クレカ|カード|デビット|credit|card|visa|master|jcb|amex|american\s*express|diners",
        regex.I,
    ),
    "carrier": regex.compile(
        r"キャリア|携帯|スマホ|電話料金|ケータイ|合算|まとめて支払い|かんたん決済|carrier|mobile|phone\s*bill|"
        + "|".join(pattern.pattern for pattern in _CARRIER_WORDS.values()),
        regex.I,
    ),
}


def _choices(value: str, table: Mapping[str, regex.Pattern[str]]) -> set[str]:
    """Which keys of ``table`` the parts of ``value`` name (one key per part, first match wins)."""
    found = set()
    for part in _CHOICE_SEPARATORS.split(value):
        for key, pattern in table.items():
            if pattern.search(part):
                found.add(key)
                break
    return found


def _one_choice(value: str, table: Mapping[str, regex.Pattern[str]], bad: Bad) -> Result:
    found = _choices(value, table)
    if len(found) == 1:
        return Ok(found.pop())
    return None if found else bad  # several: an unfilled list of options, no choice made


def carrier(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
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
    value = _prepare(raw)
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


def docomo_payment_number(raw: str, ctx: FieldContext) -> Result:
    return _exact_digits(
        raw,
        12,
        "ドコモの決済番号",
        "The docomo payment number",
    )


def _exact_digits(raw: str, length: int, what_ja: str, what_en: str) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    number = _first_number(value)
    if number is None:
        return _not_a_number(what_ja, what_en)
    digits, glued = number
    if glued:
        return _not_a_number(what_ja, what_en)
    if len(digits) != length:
        return Bad(
            f"{what_ja}は{length}桁の数字ですが、{_count_ja(len(digits))}になっています。"
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


def au_billing_id(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    number = _first_number(value)
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
            f"お知らせいただいた番号は{_count_ja(n)}で、継続課金ID（11桁）とは別の番号（決済情報番号など）のようです。"
            "決済情報番号では調査できませんので、11桁の継続課金IDをお知らせください。",
            f"The number given has {n} digits: it seems to be another number (such as the payment "
            "information number), not the 11-digit continuous billing ID. We cannot look you up by "
            "that number, so please send the 11-digit continuous billing ID.",
        )
    if n != 11:
        return Bad(
            f"auの継続課金IDは11桁の数字ですが、{_count_ja(n)}になっています。11桁すべてをご確認のうえお知らせください。",
            f"The au continuous billing ID has 11 digits, but {n} were given. "
            "Please check it and send all 11 digits.",
        )
    return Ok(digits)


_SOFTBANK_SEPARATORS = regex.compile(rf"[\s{regex.escape(DASHES)}]")


def softbank_order_number(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None or not _ANY_DIGIT.search(value):
        return None  # readings.md 10: a run of words is never an order number
    compact = _SOFTBANK_SEPARATORS.sub("", value)
    if not regex.fullmatch(r"[A-Za-z0-9]+", compact):
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
    value = _prepare(raw)
    if value is None or not _ANY_DIGIT.search(value):
        return None  # `Eから始まる番号です` describes the ID; it does not give one
    compact = _SOFTBANK_SEPARATORS.sub("", value)
    match = regex.fullmatch(r"([Ee]?)([0-9]+)", compact)
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
            f"数字が{_count_ja(len(digits))}になっています。"
            "IDをご確認ください。",
            f"The Plus member ID is an 'E' followed by 6 to 12 digits, but {len(digits)} digits were given. "
            "Please check it.",
        )
    return Ok("E" + digits)


def digits_4_12(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    number = _first_number(value)
    if number is None or number[1]:
        return _not_a_number("会員番号", "The member number")
    digits = number[0]
    if not 4 <= len(digits) <= 12:
        return Bad(
            f"会員番号は4〜12桁の数字ですが、{_count_ja(len(digits))}になっています。番号をご確認ください。",
            f"The member number has 4 to 12 digits, but {len(digits)} were given. Please check it.",
        )
    return Ok(digits)


def login_password(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    number = _first_number(value, _DATE_LIKE_RUN)
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
            f"ログイン時のパスワードは数字8桁（生年月日）ですが、{_count_ja(len(digits))}になっています。"
            "入力した数字8桁をそのままお書きください。",
            f"The login password is 8 digits (your date of birth), but {len(digits)} digits were given. "
            "Please write the 8 digits you typed.",
        )
    return Ok(digits)


_LENGTH = regex.compile(r"(?<![0-9])([0-9]+)(?![0-9])")
_RANGE = regex.compile(r"[0-9]+\s*(?:~|〜|-|から|to)\s*[0-9]+")


def password_length(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
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


_COURSE_WORDS = {
    "bundle": regex.compile(r"まとめて|まとめ払|一括|bundle|lump|annual|年払", regex.I),
    "monthly": regex.compile(r"月会費|月額|月払|毎月|monthly|month", regex.I),
}


def course(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
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


def card_last4(raw: str, ctx: FieldContext) -> Result:
    value = _prepare(raw)
    if value is None:
        return None
    matches = [regex.sub(r"[^0-9]", "", m) for m in _DIGIT_RUN.findall(value)]
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
            f"カード番号の末尾は4桁でお知らせいただきますが、{_count_ja(len(digits))}になっています。"
            "末尾4桁をご確認ください。",
            f"We need the last 4 digits of the card, but {len(digits)} digits were given. Please check them.",
        )
    return Ok(digits)


VALIDATORS: Mapping[str, Validator] = types.MappingProxyType(
    {
        "name_kanji": name_kanji,
        "name_kana": name_kana,
        "nonempty": nonempty,
        "nickname": nickname,
        "address": address,
        "plain_text": plain_text,
        "login_id": login_id,
        "edge_chars": edge_chars,
        "birth_date": birth_date,
        "prefecture": prefecture,
        "phone": phone,
        "email": email,
        "payment_method": payment_method,
        "carrier": carrier,
        "docomo_payment_number": docomo_payment_number,
        "au_billing_id": au_billing_id,
        "softbank_order_number": softbank_order_number,
        "plus_member_id": plus_member_id,
        "digits_4_12": digits_4_12,
        "login_password": login_password,
        "password_length": password_length,
        "course": course,
        "card_last4": card_last4,
    }
)
