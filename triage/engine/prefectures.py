"""The 47 prefectures: canonical names, bare names, romaji, and lookup in a value or address."""

from __future__ import annotations

import unicodedata

from triage import textmatch

# (canonical name with its suffix, romaji without the suffix)
PREFECTURES: tuple[tuple[str, str], ...] = (
    ("北海道", "hokkaido"),
    ("青森県", "aomori"),
    ("岩手県", "iwate"),
    ("宮城県", "miyagi"),
    ("秋田県", "akita"),
    ("山形県", "yamagata"),
    ("福島県", "fukushima"),
    ("茨城県", "ibaraki"),
    ("栃木県", "tochigi"),
    ("群馬県", "gunma"),
    ("埼玉県", "saitama"),
    ("千葉県", "chiba"),
    ("東京都", "tokyo"),
    ("神奈川県", "kanagawa"),
    ("新潟県", "niigata"),
    ("富山県", "toyama"),
    ("石川県", "ishikawa"),
    ("福井県", "fukui"),
    ("山梨県", "yamanashi"),
    ("長野県", "nagano"),
    ("岐阜県", "gifu"),
    ("静岡県", "shizuoka"),
    ("愛知県", "aichi"),
    ("三重県", "mie"),
    ("滋賀県", "shiga"),
    ("京都府", "kyoto"),
    ("大阪府", "osaka"),
    ("兵庫県", "hyogo"),
    ("奈良県", "nara"),
    ("和歌山県", "wakayama"),
    ("鳥取県", "tottori"),
    ("島根県", "shimane"),
    ("岡山県", "okayama"),
    ("広島県", "hiroshima"),
    ("山口県", "yamaguchi"),
    ("徳島県", "tokushima"),
    ("香川県", "kagawa"),
    ("愛媛県", "ehime"),
    ("高知県", "kochi"),
    ("福岡県", "fukuoka"),
    ("佐賀県", "saga"),
    ("長崎県", "nagasaki"),
    ("熊本県", "kumamoto"),
    ("大分県", "oita"),
    ("宮崎県", "miyazaki"),
    ("鹿児島県", "kagoshima"),
    ("沖縄県", "okinawa"),
)
CANONICAL = frozenset(name for name, _ in PREFECTURES)


def _bare(name: str) -> str:
    return name if name == "北海道" else name[:-1]


# Longest first, so 神奈川県 is tried before a shorter name could match.
_BY_BARE = {_bare(name): name for name, _ in PREFECTURES}
_NAMES_LONGEST_FIRST = sorted(CANONICAL | set(_BY_BARE), key=len, reverse=True)


def _fold_romaji(word: str) -> str:
    """Lower case, macrons and long vowels folded: Hyōgo, Hyougo, HYOGO → hyogo; Ooita → oita."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if "a" <= ch <= "z")
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        word = word.replace(long, short)
    return word


_BY_ROMAJI = {_fold_romaji(romaji): name for name, romaji in PREFECTURES}
# Tried only where a run of blanks and dashes starts (from inside a run it is retried per character).
_ROMAJI_SUFFIX = textmatch.compile(
    r"(?<![\s\-])[\s\-]*(?:prefecture|pref\.?|metropolis|metropolitan|-?(?:ken|fu|to))$",
    textmatch.IGNORECASE,
    name="prefectures.romaji-suffix",
)
_CITY_SUFFIX = textmatch.compile(
    r"[\s\-](?:shi|ku|city|cho|machi|gun|mura|son|ward)\b", textmatch.IGNORECASE, name="prefectures.city"
)
_POSTAL_AND_COUNTRY = textmatch.compile(
    r"\s*(?:(?:〒|postal\s*code:?|zip:?)?\s*[0-9]{3}-?[0-9]{4}|日本国?|japan,?)\s*",
    textmatch.IGNORECASE,
    name="prefectures.postal-country",
)
_LONG_DIGIT_RUN = textmatch.compile(r"[0-9\-]{3,}", name="prefectures.digit-run")


def _from_romaji_word(word: str) -> str | None:
    word = word.strip().rstrip(".,")
    if not word or _CITY_SUFFIX.search(" " + word):
        return None
    # Kyoto ends in "to" and Gifu in "fu": the word as written is tried before any suffix is cut.
    folded = _fold_romaji(word)
    candidates = (
        folded,
        _fold_romaji(_ROMAJI_SUFFIX.sub("", word)),
        folded.removesuffix("ken"),
        folded.removesuffix("fu"),
        folded.removesuffix("to"),
    )
    for candidate in candidates:
        if candidate in _BY_ROMAJI:
            return _BY_ROMAJI[candidate]
    return None


def find_prefecture(value: str) -> str | None:
    """See :func:`_find_prefecture`; None too when the reading budget ran out (noted)."""
    try:
        return _find_prefecture(value)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("prefectures: not read")
        return None


def _find_prefecture(value: str) -> str | None:
    """The canonical prefecture named by ``value`` (a prefecture or a full address), else None.

    Japanese: the value must start with a prefecture (after a 〒 postal code); a bare name
    (東京, 大阪) counts only when it is the whole value or is followed by a space, because an
    address that starts with a city (大阪市…, 京都市…) does not name the prefecture.
    Romaji: the whole value (Tokyo, Osaka-fu, Hyogo Prefecture) or a comma-separated part of an
    English address, read from the end (…, Kita-ku, Osaka 530-0001, Japan).
    """
    text = value.strip()
    start = 0  # past every leading postal code and country name, in one pass
    while (prefix := _POSTAL_AND_COUNTRY.match(text, start)) is not None and prefix.end() > start:
        start = prefix.end()
    text = text[start:].strip()
    for name in _NAMES_LONGEST_FIRST:
        if not text.startswith(name):
            continue
        rest = text[len(name) :]
        if name in CANONICAL:
            return name
        if not rest or rest[0] in " 、,":
            return _BY_BARE[name]
    if any("a" <= ch <= "z" for ch in text.lower()):
        for part in reversed(text.replace("、", ",").replace("\n", ",").split(",")):
            words = _LONG_DIGIT_RUN.sub(" ", part).strip()
            if words.casefold() in {"japan", "jp", ""}:
                continue
            found = _from_romaji_word(words)
            if found is not None:
                return found
    return None
