"""Japanese carriers' emoji to Unicode emoji: NTT docomo, KDDI (au) and SoftBank (issue 8).

Phones of the three carriers write their own emoji in the user-defined parts of their charsets:

* **Shift_JIS** (docomo, SoftBank; KDDI's codes reach mail from its web forms): docomo F89F–F9FC,
  KDDI F340–F493 and F640–F7FC, SoftBank F741–F7FA, F941–F9ED, FB41–FBDE. cp932 reads F040–F9FC
  as private use U+E000–U+E757 (one to one) and FB41–FBDE as IBM extension kanji.
* **ISO-2022-JP** (au): JIS rows 0x75–0x7E, which JIS X 0208 leaves empty. The usual JIS to
  Shift_JIS arithmetic (`jis.jis_pair_to_sjis`) gives EB40–EFFC there, au's "mail Shift_JIS";
  KDDI's own code is that plus 0x0B00 for EB/EC (F640–F7FC) and plus 0x0600 for ED/EE
  (F340–F4FC). CP50221 and CP51932 read rows 0x75–0x78 and 0x7D–0x7E as private use
  (U+E000–U+E3AB) but rows 0x79–0x7C as NEC-selected IBM kanji (髙), so those four rows are
  emoji only from an au sender.
* **UTF-8**: each carrier's private-use code points: docomo U+E63E–U+E757, KDDI U+E468–U+E5DF
  and U+EA80–U+EB8E, SoftBank U+E001–U+E53E, each a fixed set of linear ranges onto the
  carrier's Shift_JIS codes (the carriers' specifications, as listed by Google's emoji4unicode).

Unicode's EmojiSources.txt maps each carrier's Shift_JIS codes to Unicode; the table ships as
``data/carrier_emoji.txt`` (regenerate with ``scripts/carrier_emoji_table.py``) and is read on
the first user-defined code seen, so mail without one pays nothing. A code the table lacks
keeps what cp932 (CP50221 for JIS, the carrier's own for UTF-8) makes of it: private use,
never U+FFFD.

Which carrier: the sender's domain when known (`sender_scope` / `note_sender`, or a `carrier`
argument), else the code decides, and where two carriers' ranges overlap (Shift_JIS F741–F7FC
KDDI/SoftBank and F941–F9ED docomo/SoftBank; private use U+E468–U+E53E KDDI/SoftBank) the first
of docomo, SoftBank, KDDI that has the code wins: docomo and SoftBank phones write Shift_JIS
and SoftBank's iPhones wrote its private-use code points in UTF-8, while au phones write mail
in ISO-2022-JP, whose rows are KDDI's alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Final, Literal

__all__ = [
    "Carrier",
    "carrier_of_domain",
    "decode_cp932",
    "fix_unicode",
    "from_jis_row",
    "note_sender",
    "sender_carrier",
    "sender_scope",
    "sjis_emoji",
]

Carrier = Literal["docomo", "kddi", "softbank"]
_ORDER: Final[tuple[Carrier, ...]] = ("docomo", "softbank", "kddi")  # overlaps: first wins
_LETTERS: Final[dict[str, Carrier]] = {"d": "docomo", "k": "kddi", "s": "softbank"}

# Sender domains (the domain itself or any subdomain) -> carrier.
_DOMAINS: Final[dict[str, Carrier]] = {
    "docomo.ne.jp": "docomo",
    "ezweb.ne.jp": "kddi",
    "au.com": "kddi",
    "softbank.ne.jp": "softbank",
    "i.softbank.jp": "softbank",
    "disney.ne.jp": "softbank",
    "vodafone.ne.jp": "softbank",
}

# Private use <-> Shift_JIS: (first code point, last code point, first Shift_JIS code), linear
# in the valid Shift_JIS codes (trail bytes 0x40–0x7E, 0x80–0xFC).
_PUA_RANGES: Final[dict[Carrier, tuple[tuple[int, int, int], ...]]] = {
    "docomo": ((0xE63E, 0xE757, 0xF89F),),
    "kddi": (
        (0xE468, 0xE5B4, 0xF640),
        (0xE5B5, 0xE5CC, 0xF7E5),
        (0xE5CD, 0xE5DF, 0xF340),
        (0xEA80, 0xEAFA, 0xF353),
        (0xEAFB, 0xEB0D, 0xF7D2),
        (0xEB0E, 0xEB8E, 0xF3CF),
    ),
    "softbank": (
        (0xE001, 0xE05A, 0xF941),
        (0xE101, 0xE15A, 0xF741),
        (0xE201, 0xE25A, 0xF7A1),
        (0xE301, 0xE34D, 0xF9A1),
        (0xE401, 0xE44C, 0xFB41),
        (0xE501, 0xE53E, 0xFBA1),
    ),
}

# au's mail Shift_JIS lead byte (JIS rows 0x75–0x7C) -> KDDI's Shift_JIS lead byte.
_KDDI_MAIL_LEADS: Final = {0xEB: 0xF6, 0xEC: 0xF7, 0xED: 0xF3, 0xEE: 0xF4}
_CP932_USER_FIRST: Final = 0xE000  # cp932: F040 -> U+E000 ... F9FC -> U+E757
_CP932_USER_LAST: Final = 0xE757
_SOFTBANK_IBM_LEAD: Final = 0xFB  # SoftBank's third lead byte; cp932 reads it as IBM kanji

_SENDER: ContextVar[Carrier | None] = ContextVar("triage_emoji_sender", default=None)


# --- the sender ---------------------------------------------------------------------------


def carrier_of_domain(domain: str | None) -> Carrier | None:
    """The carrier whose phones send from `domain` (or a subdomain of it); None if none does."""
    if not domain:
        return None
    domain = domain.strip().strip(".").lower()
    for known, carrier in _DOMAINS.items():
        if domain == known or domain.endswith("." + known):
            return carrier
    return None


@contextmanager
def sender_scope() -> Iterator[None]:
    """Decoding of one mail: `note_sender` inside sets the hint, which ends with the block."""
    token = _SENDER.set(None)
    try:
        yield
    finally:
        _SENDER.reset(token)


def note_sender(address: str | None) -> None:
    """Take the carrier hint from the sender's address (inside `sender_scope`)."""
    domain = address.rpartition("@")[2] if address and "@" in address else None
    _SENDER.set(carrier_of_domain(domain))


def sender_carrier() -> Carrier | None:
    """The carrier hint of the mail being decoded, if any."""
    return _SENDER.get()


# --- the table ------------------------------------------------------------------------------


@cache
def _sjis_tables() -> dict[Carrier, dict[int, str]]:
    """carrier -> Shift_JIS code -> Unicode emoji, from the shipped EmojiSources table."""
    tables: dict[Carrier, dict[int, str]] = {"docomo": {}, "kddi": {}, "softbank": {}}
    text = resources.files("triage.parsing").joinpath("data/carrier_emoji.txt").read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        try:
            letter, code, points = line.split()
            tables[_LETTERS[letter]][int(code, 16)] = "".join(chr(int(p, 16)) for p in points.split("+"))
        except (ValueError, KeyError) as exc:
            raise RuntimeError(f"data/carrier_emoji.txt line {number} is broken: {line!r}") from exc
    return tables


def sjis_emoji(code: int, carrier: Carrier | None = None) -> str | None:
    """The Unicode emoji of a carrier's Shift_JIS code (e.g. 0xF89F), None if it has none.

    With a carrier only its table is asked; without, the first of docomo, SoftBank, KDDI.
    """
    tables = _sjis_tables()
    if carrier is not None:
        return tables[carrier].get(code)
    for name in _ORDER:
        found = tables[name].get(code)
        if found is not None:
            return found
    return None


def _sjis_index(code: int) -> int:
    trail = code & 0xFF
    return (code >> 8) * 188 + trail - (0x40 if trail < 0x7F else 0x41)


def _sjis_from_index(index: int) -> int:
    lead, cell = divmod(index, 188)
    return lead << 8 | (cell + (0x40 if cell < 0x3F else 0x41))


def _pua_to_sjis(point: int, carrier: Carrier) -> int | None:
    for first, last, sjis in _PUA_RANGES[carrier]:
        if first <= point <= last:
            return _sjis_from_index(_sjis_index(sjis) + point - first)
    return None


# --- decoding -------------------------------------------------------------------------------


@cache
def _translation(kind: Literal["cp932", "unicode"], carrier: Carrier | None) -> dict[int, str]:
    """Private-use code point -> emoji, for text read by cp932 or written in a carrier's UTF-8."""
    table: dict[int, str] = {}
    names = (carrier,) if carrier is not None else _ORDER
    if kind == "cp932":
        for point in range(_CP932_USER_FIRST, _CP932_USER_LAST + 1):
            code = int.from_bytes(chr(point).encode("cp932"), "big")
            for name in names:
                found = _sjis_tables()[name].get(code)
                if found is not None:
                    table[point] = found
                    break
        return table
    for name in reversed(names):  # earlier carriers overwrite later ones
        for first, last, _ in _PUA_RANGES[name]:
            for point in range(first, last + 1):
                sjis = _pua_to_sjis(point, name)
                hit = _sjis_tables()[name].get(sjis) if sjis is not None else None
                if hit is not None:
                    table[point] = hit
    return table


def _has_private_use(text: str) -> bool:
    """Any code point in U+E000–U+EFFF (every carrier's, and cp932's user-defined area)?"""
    return not text.isascii() and b"\xee" in text.encode("utf-8", "surrogatepass")


def fix_unicode(text: str, carrier: Carrier | None = None) -> str:
    """Carriers' private-use emoji in decoded UTF-8 text to Unicode emoji; the rest unchanged."""
    if not _has_private_use(text):
        return text
    return text.translate(_translation("unicode", carrier))


def decode_cp932(data: bytes, carrier: Carrier | None = None, errors: str = "strict") -> str:
    """`data.decode("cp932", errors)` with the carriers' Shift_JIS emoji read as Unicode emoji.

    Raises UnicodeDecodeError as cp932 does. The work is a C-speed check unless the text holds
    user-defined characters (or, from a SoftBank sender, the byte 0xFB).
    """
    text = data.decode("cp932", errors)
    if carrier == "softbank" and bytes((_SOFTBANK_IBM_LEAD,)) in data:
        return _walk_sjis(data, errors)
    if not _has_private_use(text):
        return text
    return text.translate(_translation("cp932", carrier))


def _walk_sjis(data: bytes, errors: str) -> str:
    """SoftBank Shift_JIS byte by byte: its FB41–FBDE emoji are IBM kanji to cp932."""
    pieces: list[str] = []
    start = i = 0
    n = len(data)
    while i < n - 1:
        byte = data[i]
        if byte < 0x81 or 0xA0 <= byte <= 0xDF:
            i += 1
            continue
        found = sjis_emoji(byte << 8 | data[i + 1], "softbank") if byte >= 0xF0 else None
        if found is not None:
            pieces.append(data[start:i].decode("cp932", errors))
            pieces.append(found)
            start = i + 2
        i += 2
    pieces.append(data[start:].decode("cp932", errors))
    return "".join(pieces)


def from_jis_row(mail_sjis: bytes, au: bool) -> str:
    """A JIS pair of rows 0x75–0x7E, given as `jis_pair_to_sjis` bytes (EB40–EFFC): one character.

    With `au`, au's emoji become Unicode emoji; anything else is what CP50221 and
    CP51932 make of the pair: a NEC-selected IBM kanji (rows 0x79–0x7C, cp932 ED40–EEFC) or
    private use U+E000–U+E3AB.
    """
    lead, trail = mail_sjis[0], mail_sjis[1]
    if au and lead in _KDDI_MAIL_LEADS:
        found = _sjis_tables()["kddi"].get(_KDDI_MAIL_LEADS[lead] << 8 | trail)
        if found is not None:
            return found
    try:
        return mail_sjis.decode("cp932")
    except UnicodeDecodeError:
        return bytes((lead + 5, trail)).decode("cp932")
