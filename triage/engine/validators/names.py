"""Names and free text: name_kanji, name_kana, nickname, address, login_id, plain_text, nonempty …"""

from __future__ import annotations

from triage import textmatch
from triage.engine.normalize import for_report, to_katakana_fullwidth
from triage.engine.validators.base import ANY_DIGIT, HAN, LETTER, Bad, FieldContext, Ok, Result, prepare

_SELF_INTRODUCTION = textmatch.compile(
    r"\s*(?:と申します|ともうします|と言います|といいます|です)$", name="validators.self_introduction"
)
# Katakana (ァ–ヺ, ヽヾ, small Ainu katakana), ー, ・ and spaces: fields.md's valid kana name.
_KANA_NAME = textmatch.compile("[\u30a1-\u30fa\u30fd\u30fe\u31f0-\u31ffー・ ]+", name="validators.kana_name")


def name_kanji(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    value = _SELF_INTRODUCTION.sub("", value).strip()
    if not value:
        return None
    if ANY_DIGIT.search(value):
        return Bad(
            "漢字のお名前に数字が含まれています。氏名（フルネーム）を漢字でお書きください。",
            "The name in kanji contains digits. Please write your full name in kanji.",
        )
    if not HAN.search(value):
        return Bad(
            "漢字のお名前に漢字が含まれていません。ご登録の氏名（フルネーム）を漢字でお書きください。",
            "The name given as your name in kanji contains no kanji. "
            "Please write your registered full name in kanji.",
        )
    return Ok(value)


def name_kana(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    value = to_katakana_fullwidth(_SELF_INTRODUCTION.sub("", value).strip())
    if not value:
        return None
    if _KANA_NAME.fullmatch(value):
        return Ok(value)
    if HAN.search(value):
        return Bad(
            "フリガナに漢字が含まれています。お名前の読みをカタカナ（またはひらがな）でお書きください。",
            "The reading of your name contains kanji. Please write it in katakana (or hiragana).",
        )
    if LETTER.search(value):
        return Bad(
            "フリガナにアルファベットが含まれています。お名前の読みをカタカナ（またはひらがな）でお書きください。",
            "The reading of your name contains Latin letters. Please write it in katakana (or hiragana).",
        )
    if ANY_DIGIT.search(value):
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
    value = prepare(raw)
    return None if value is None else Ok(value)


_COPULA = textmatch.compile(
    r"[ ]?(?:です|でした|になります|にしています|にしてます|です。)$", name="validators.copula"
)
_SENTENCE = textmatch.compile(
    r"(?:ます|ません|ました|でした|です|思う|思います|けど|ので|から)(?:が|けど|。)?$|[、。]",
    name="validators.sentence",
)
_PLACE = textmatch.compile(r"[都道府県市区町村郡丁目番地号]|[0-9]|[A-Za-z]{3,}", name="validators.place")


def _plain_value(raw: str) -> str | None:
    """A free-text value without a trailing copula (`酒井です` -> `酒井`)."""
    value = prepare(raw)
    if value is None:
        return None
    bare = _COPULA.sub("", value).strip()
    if not bare or bare == value:
        return value
    return for_report(bare) or bare  # `「mk_fan2290」です`: the quotes enclose the value once です is gone


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


_BEFORE_PURCHASE = textmatch.compile(
    r"購入前|未購入|まだ購入して(?:い)?ない"
    r"|(?:haven'?t|have not|didn'?t|did not) (?:bought|purchased|buy|purchase)"
    r"|not (?:yet )?purchased|before (?:the )?purchase",
    textmatch.IGNORECASE,
    name="validators.before_purchase",
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
    value = prepare(raw, keep_punctuation=True)
    return None if value is None else Ok(value)
