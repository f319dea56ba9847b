"""One e-mail address: syntax check with named faults, carrier local parts, typo suggestions.

Syntax is checked by ``email_validator`` (no DNS is ever queried); the faults members actually
make are recognised first so the reply can name them in Japanese and English. Legacy docomo/au
local parts (``taro..yamada@docomo.ne.jp``, ``taro.@ezweb.ne.jp``) are accepted on carrier
domains. A probable typo of a common domain is *suggested*, never rewritten.

Should the reading budget run out, the faults are not named: ``email_validator`` alone decides.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from dataclasses import dataclass

import email_validator

from triage import textmatch

CARRIER_DOMAINS = frozenset(
    {
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "disney.ne.jp",
        "ymobile.ne.jp",
        "ymobile1.ne.jp",
        "y-mobile.ne.jp",
        "emnet.ne.jp",
        "willcom.com",
        "pdx.ne.jp",
        "uqmobile.jp",
        "vodafone.ne.jp",
    }
)
# Domains members commonly use, for "did you mean …?" (configurable by passing another list).
COMMON_DOMAINS: tuple[str, ...] = (
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "ymobile.ne.jp",
    "yahoo.co.jp",
    "ymail.ne.jp",
    "gmail.com",
    "googlemail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "outlook.jp",
    "outlook.com",
    "hotmail.co.jp",
    "hotmail.com",
    "live.jp",
    "msn.com",
    "yahoo.com",
    "nifty.com",
    "biglobe.ne.jp",
    "ocn.ne.jp",
    "so-net.ne.jp",
    "docomo.blackberry.com",
    "rakuten.jp",
)
# The legacy carrier local part: dots anywhere, including ".." and a trailing dot.
_RELAXED_LOCAL = textmatch.compile(r"[A-Za-z0-9._\-+/?!#$%&'*=^`{|}~]+", name="emails.relaxed-local")
# `\s+at` tried only where a run of blanks starts (inside a run it would be retried per blank).
_AT_WORDS = textmatch.compile(
    r"\(at\)|\[at\]|<at>|アットマーク|(?<!\s)\s+at\s", textmatch.IGNORECASE, name="emails.at-words"
)
_JA_DOT_LIKE = "。．、"
_LOOKALIKE_SCRIPTS = textmatch.compile(r"[\p{Cyrillic}\p{Greek}]", name="emails.lookalike")


@dataclass(frozen=True)
class EmailCheck:
    """Result of :func:`check_email`: ``address`` (lower-cased) when valid, else the reasons."""

    address: str | None
    reason_ja: str | None = None
    reason_en: str | None = None
    suggestion: str | None = None


def _bad(reason_ja: str, reason_en: str, suggestion: str | None = None) -> EmailCheck:
    return EmailCheck(None, reason_ja, reason_en, suggestion)


def broken_tail(text: str, end: int) -> int:
    """Where an address found up to `end` really ends when a comma or a Japanese stop stands in
    place of a dot (`renka.ueno@i.softbank,jp`, `taro@gmail、com`): the address runs on over it and
    is one broken address (readings.md 9), never the valid-looking `renka.ueno@i.softbank`.
    Returns `end` when nothing of the kind follows."""
    stop = end
    while stop + 1 < len(text) and text[stop] in _DOT_STAND_INS:
        run = stop + 1
        while run < len(text) and (_domain_char(text[run]) or text[run] in ".-"):
            run += 1
        piece = text[stop + 1 : run]
        if (
            not piece[:1].isalnum()
            or text[run : run + 1] == "@"  # `a@b.jp,c@d.jp`: the next address
            or (text[stop] in _JA_STOPS and len(piece) > 4)  # `…@gmail.com、plusは`: a pause
        ):
            break
        stop = run
    return stop


def _domain_char(ch: str) -> bool:
    """A letter or digit of a domain as members write it: lower case (`、Plus` starts a sentence)."""
    return ch.isascii() and (ch.isdigit() or ch.islower())


_DOT_STAND_INS = frozenset(",、。，．")
_JA_STOPS = frozenset("、。")


def clean_candidate(value: str) -> str:
    """NFKC, ``mailto:`` and a sentence-final period removed (``…@outlook.com.``)."""
    text = unicodedata.normalize("NFKC", value).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    text = text.strip("<>").strip()
    return text.rstrip(".").strip()


@functools.lru_cache(maxsize=1024)  # difflib is slow, and one mail may repeat a domain thousands of times
def suggest_domain(domain: str, known: tuple[str, ...] = COMMON_DOMAINS) -> str | None:
    """A common domain that ``domain`` is probably a typo of (gmail.con → gmail.com), else None."""
    domain = domain.lower()
    if domain in known:
        return None
    head, _, tld = domain.rpartition(".")
    for candidate in known:  # only the last label mistyped: au.con, ezweb.ne.jo
        candidate_head, _, candidate_tld = candidate.rpartition(".")
        if head and head == candidate_head and tld != candidate_tld and len(tld) <= len(candidate_tld) + 1:
            return candidate
    matches = difflib.get_close_matches(domain, known, n=1, cutoff=0.85)
    return matches[0] if matches else None


def _syntax_fault(address: str) -> EmailCheck | None:
    """The faults members make, named; None when none of them is present."""
    non_ascii = [ch for ch in address if not ch.isascii()]
    if _LOOKALIKE_SCRIPTS.search(address):
        return _bad(
            "メールアドレスに、英字とよく似た別の文字（キリル文字やギリシャ文字）が含まれています。"
            "半角英数字だけで、もう一度入力してお送りください。",
            "The address contains characters that look like Latin letters but are not "
            "(Cyrillic or Greek). Please type the address again using only ASCII letters and digits.",
        )
    if "@" not in address:
        if _AT_WORDS.search(address):
            return _bad(
                "メールアドレスの「@」が文字で書かれています。記号の「@」を使ってお書きください。",
                "The '@' of the address is written out in words. Please write it with the '@' sign.",
            )
        return _bad(
            "メールアドレスに「@」がありません。「@」の前後を含めたアドレス全体をお書きください。",
            "The e-mail address has no '@'. Please send the whole address, including the part "
            "before and after the '@'.",
        )
    if address.count("@") > 1:
        return _bad(
            "メールアドレスに「@」が2つ以上あります。アドレスを1つずつお書きください。",
            "The address contains more than one '@'. Please write each address separately.",
        )
    local, _, domain = address.partition("@")
    if any(ch.isspace() for ch in address):
        return _bad(
            "メールアドレスの途中に空白が入っています。空白を入れずにお書きください。",
            "There is a space inside the e-mail address. Please write it without spaces.",
        )
    if "," in domain or "," in local:
        return _bad(
            "メールアドレスのドット（.）がカンマ（,）になっています。ご確認のうえ、正しいアドレスをお書きください。",
            "The address has a comma (,) where a dot (.) belongs. Please check it and send it again.",
        )
    if any(ch in _JA_DOT_LIKE for ch in address):
        return _bad(
            "メールアドレスのドットが全角の「。」や「、」になっています。半角のドット（.）でお書きください。",
            "The address uses a Japanese full stop or comma instead of a dot (.). Please use a dot.",
        )
    if non_ascii:
        return _bad(
            "メールアドレスに全角文字（かな・漢字など）が含まれています。半角英数字でお書きください。",
            "The address contains full-width characters (kana, kanji and the like). "
            "Please write it in half-width (ASCII) letters and digits.",
        )
    if not local:
        return _bad(
            "メールアドレスの「@」の前の部分がありません。アドレス全体をお書きください。",
            "The part before the '@' is missing. Please send the whole address.",
        )
    if not domain:
        return _bad(
            "メールアドレスの「@」の後ろ（ドメイン）がありません。アドレス全体をお書きください。",
            "The part after the '@' (the domain) is missing. Please send the whole address.",
        )
    if "." not in domain:
        return _bad(
            "メールアドレスの「@」の後ろ（ドメイン）が途中で切れているようです。アドレス全体をお書きください。",
            "The part after the '@' (the domain) seems cut short. Please send the whole address.",
        )
    return None


def check_email(value: str, known_domains: tuple[str, ...] = COMMON_DOMAINS) -> EmailCheck:
    """Check one address as written; valid ones come back lower-cased, with a typo suggestion."""
    try:
        return _check(value, known_domains)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("emails: checked by email_validator alone")
    address = clean_candidate(value)
    error = _library_error(address)
    if error is not None:
        return _bad(
            "メールアドレスの形式が正しくありません。ご確認のうえ、もう一度お書きください。",
            f"The e-mail address is not valid ({error.rstrip('.')}). Please check it and send it again.",
        )
    return EmailCheck(address.lower())


def _check(value: str, known_domains: tuple[str, ...]) -> EmailCheck:
    address = clean_candidate(value)
    fault = _syntax_fault(address)
    if fault is not None:
        if "," in address and fault.suggestion is None:
            fixed = address.replace(",", ".")
            if _syntax_fault(fixed) is None and _library_error(fixed) is None:
                return _bad(fault.reason_ja or "", fault.reason_en or "", fixed.lower())
        return fault
    local, _, domain = address.lower().partition("@")
    if domain not in CARRIER_DOMAINS or not _RELAXED_LOCAL.fullmatch(local):
        error = _library_error(address)
        if error is not None:
            detail = next((ja for en, ja in _LIBRARY_FAULTS_JA if en in error), "")
            return _bad(
                f"メールアドレスの形式が正しくありません{detail}。ご確認のうえ、もう一度お書きください。",
                f"The e-mail address is not valid ({error.rstrip('.')}). Please check it and send it again.",
            )
    suggestion = suggest_domain(domain, known_domains)
    return EmailCheck(address.lower(), suggestion=f"{local}@{suggestion}" if suggestion else None)


# email_validator's messages (English) for the faults members make, with a Japanese gloss.
_LIBRARY_FAULTS_JA = (
    ("two periods in a row", "（ドットが2つ続いています）"),
    ("period immediately before the @-sign", "（「@」の直前がドットになっています）"),
    ("period immediately after the @-sign", "（「@」の直後がドットになっています）"),
    ("cannot start with a period", "（先頭がドットになっています）"),
    ("invalid characters", "（メールアドレスに使えない記号が含まれています）"),
)


def _library_error(address: str) -> str | None:
    try:
        email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as error:
        return str(error)
    return None
