"""The reply language: English when the member's own words are English (product.md "Language").

Addresses and URLs are not words. The member's prose decides; with no prose, the form lines
(bulleted or `label: value` lines), each by the language of its label; else the subject; else ja.

Every pattern is linear in the line (an address is matched only from the start of a token, so a
65 KB line without spaces is one attempt, not 65,000), and patterns run only where string
methods cannot answer (a timed call costs microseconds, and this runs on every line): form
lines and Latin words are found without one, Japanese characters are counted by a pattern only
in lines that are not plain ASCII. Should the mail's reading budget run out all the same, the
language falls back to a count of characters with no pattern at all.
"""

from __future__ import annotations

from triage import textmatch
from triage.parsing.model import ParsedMail

# Runs, not single characters: each match found costs the timed call a clock reading.
_JAPANESE = textmatch.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}ー]+", name="language.japanese")
# From a token's start only: `\S+@\S+` tried at every position of a long token is quadratic.
_NOT_WORDS = textmatch.compile(r"(?<!\S)[^\s@]+@\S+|https?://\S+|www\.\S+", name="language.not-words")
_BULLETS = "・･•●○◆◇■□▼▽▲△◎★☆※【" + "".join(chr(code) for code in range(0x2460, 0x2474))  # ①-⑳
_INDENT = " \t\u3000"
_NOT_LATIN = {code: " " for code in range(128) if not chr(code).isalpha()}  # ASCII but A-Z, a-z
_FORM_LABEL = textmatch.compile(
    r"^[ \t\u3000]*[・･•●○◆◇■□▼▽▲△◎★☆※【①-⑳]*[ ]?(?P<label>[^:：\n]{1,30})[:：]", name="language.form-label"
)
_SUBJECT_PREFIX = textmatch.compile(
    r"^(?:(?:re|fw|fwd|aw)\s*[:：]\s*)+", textmatch.IGNORECASE, name="language.subject-prefix"
)


def _latin_words(text: str) -> list[str]:
    """Runs of two or more ASCII letters (`[A-Za-z]{2,}`), found without a pattern."""
    ascii_only = text.encode("ascii", "replace").decode("ascii").translate(_NOT_LATIN)
    return [word for word in ascii_only.split() if len(word) >= 2]


def _japanese_count(text: str) -> int:
    return 0 if text.isascii() else sum(map(len, _JAPANESE.findall(text)))


def _without_addresses(line: str) -> str:
    if "@" in line or "http" in line or "www." in line:
        return _NOT_WORDS.sub(" ", line)
    return line


def _is_form_line(line: str) -> bool:
    """A bulleted line, or one whose first colon comes after 1 to 30 characters past its indent
    (the indent itself may count: `^[ \t\u3000]*(?:[bullets]|[^:：\n]{1,30}[:：])` backtracks)."""
    text = line.lstrip(_INDENT)
    if text[:1] and text[0] in _BULLETS:
        return True
    indent = len(line) - len(text)
    colons = [at for at in (line.find(":", 0, indent + 31), line.find("：", 0, indent + 31)) if at >= 0]
    return bool(colons) and min(colons) >= 1


def _classify(line: str) -> str | None:
    text = _without_addresses(line)
    japanese = _japanese_count(text)
    latin_words = _latin_words(text)
    latin = sum(len(word) for word in latin_words)
    if len(latin_words) >= 3 and latin > 3 * japanese:
        return "en"
    if japanese >= 2 and japanese * 2 >= len(latin_words):
        return "ja"
    return None


def _form_kind(line: str) -> str | None:
    """A form line speaks the language of the label the member typed, not of the value (a name)."""
    # The label ends at a colon: a bulleted line without one has no label to read.
    match = _FORM_LABEL.match(_without_addresses(line)) if ":" in line or "：" in line else None
    if match is not None:
        label = match.group("label")
        if _japanese_count(label):
            return "ja"
        if _latin_words(label):
            return "en"
    return _classify(line)


def _is_japanese(ch: str) -> bool:
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF


def cheap_language(text: str) -> str:
    """Japanese characters against ASCII letters, counted without a pattern (the fallback)."""
    japanese = sum(1 for ch in text if _is_japanese(ch))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "en" if latin >= 6 and latin > 3 * japanese else "ja"


def text_language(text: str, subject: str = "") -> str:
    try:
        return _patterned_language(text, subject)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("language")
        return cheap_language(f"{text}\n{subject}")


def _patterned_language(text: str, subject: str) -> str:
    prose = {"en": 0, "ja": 0}
    form = {"en": 0, "ja": 0}
    for line in text.split("\n"):
        if _is_form_line(line):
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
