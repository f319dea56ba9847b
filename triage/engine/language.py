"""The reply language: English when the member's own words are English (product.md "Language").

Lines of a pasted Japanese form (bulleted or `label: value` lines) do not count; addresses and
URLs are not words. The member's prose decides; with no prose, the subject they wrote; else ja.
"""

from __future__ import annotations

import regex

from triage.parsing.model import ParsedMail

_JAPANESE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}ー]")
_LATIN_WORD = regex.compile(r"[A-Za-z]{2,}")
_NOT_WORDS = regex.compile(r"\S+@\S+|https?://\S+|www\.\S+")
_FORM_LINE = regex.compile(r"^[ \t\u3000]*(?:[・･•●○◆◇■□▼▽▲△◎★☆※【①-⑳]|[^:：\n]{1,30}[:：])")
_SUBJECT_PREFIX = regex.compile(r"^(?:(?:re|fw|fwd|aw)\s*[:：]\s*)+", regex.IGNORECASE)


def _classify(line: str) -> str | None:
    text = _NOT_WORDS.sub(" ", line)
    japanese = len(_JAPANESE.findall(text))
    latin_words = _LATIN_WORD.findall(text)
    latin = sum(len(word) for word in latin_words)
    if len(latin_words) >= 3 and latin > 3 * japanese:
        return "en"
    if japanese >= 2 and japanese * 2 >= len(latin_words):
        return "ja"
    return None


def text_language(text: str, subject: str = "") -> str:
    prose = {"en": 0, "ja": 0}
    form = {"en": 0, "ja": 0}
    for line in text.split("\n"):
        kind = _classify(line)
        if kind is None:
            continue
        if _FORM_LINE.match(line):
            form[kind] += 1
        else:
            prose[kind] += 1
    if prose["en"] or prose["ja"]:
        return "en" if prose["en"] > prose["ja"] else "ja"
    subject_kind = _classify(_SUBJECT_PREFIX.sub("", subject))
    if form["en"] or form["ja"]:
        return "en" if form["en"] > form["ja"] else "ja"
    return subject_kind or "ja"


def reply_language(mail: ParsedMail) -> str:
    return text_language(mail.text, mail.subject)
