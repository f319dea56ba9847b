"""The reply language: English when the member's own words are English (product.md "Language").

Addresses and URLs are not words. The member's prose decides; with no prose, the form lines
(bulleted or `label: value` lines), each by the language of its label; else the subject; else ja.
"""

from __future__ import annotations

import regex

from triage.parsing.model import ParsedMail

_JAPANESE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}ー]")
_LATIN_WORD = regex.compile(r"[A-Za-z]{2,}")
_NOT_WORDS = regex.compile(r"\S+@\S+|https?://\S+|www\.\S+")
_FORM_LINE = regex.compile(r"^[ \t\u3000]*(?:[・･•●○◆◇■□▼▽▲△◎★☆※【①-⑳]|[^:：\n]{1,30}[:：])")
_FORM_LABEL = regex.compile(r"^[ \t\u3000]*[・･•●○◆◇■□▼▽▲△◎★☆※【①-⑳]*[ ]?(?P<label>[^:：\n]{1,30})[:：]")
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


def _form_kind(line: str) -> str | None:
    """A form line speaks the language of the label the member typed, not of the value (a name)."""
    match = _FORM_LABEL.match(_NOT_WORDS.sub(" ", line))
    if match is not None:
        label = match.group("label")
        if _JAPANESE.search(label):
            return "ja"
        if _LATIN_WORD.search(label):
            return "en"
    return _classify(line)


def text_language(text: str, subject: str = "") -> str:
    prose = {"en": 0, "ja": 0}
    form = {"en": 0, "ja": 0}
    for line in text.split("\n"):
        if _FORM_LINE.match(line):
            kind = _form_kind(line)
            if kind is not None:
                form[kind] += 1
            continue
        kind = _classify(line)
        if kind is not None:
            prose[kind] += 1
    if prose["en"] or prose["ja"]:
        return "en" if prose["en"] > prose["ja"] else "ja"
    subject_kind = _classify(_SUBJECT_PREFIX.sub("", subject))
    if form["en"] or form["ja"]:
        return "en" if form["en"] > form["ja"] else "ja"
    return subject_kind or "ja"


def reply_language(mail: ParsedMail) -> str:
    return text_language(mail.text, mail.subject)
