"""ISO-2022-JP with the Microsoft CP50220/50221/50222 extensions, and CP51932 (EUC-JP) on top of it.

No stdlib codec reads CP5022x: NEC row 13 (①㈱), the NEC-selected IBM rows (髙) and SO/SI
half-width kana are rejected or misread. Each JIS X 0208 pair is therefore turned into its
Shift_JIS bytes and the collected bytes are read with `cp932`; JIS X 0212 characters go through
`euc_jp`. Only `strict` and `replace` error handling exist.

Escape sequences understood:

* ``ESC $ @``, ``ESC $ B`` (and the 4-byte forms ``ESC $ ( @``, ``ESC $ ( B``): JIS X 0208 pairs.
  ``ESC $ ( O`` / ``ESC $ ( Q`` (JIS X 0213 plane 1) are read the same way; only the JIS X 0208
  subset and the cp932 extensions decode.
* ``ESC ( B``, ``ESC ( J``, ``ESC ( H``: ASCII (JIS-Roman is kept as ASCII, so ``\\`` and ``~``
  survive).
* ``ESC ( I`` and SO ... SI: half-width katakana (byte | 0x80, a cp932 single byte).
* ``ESC $ ( D``: JIS X 0212 (0x8F + pair | 0x80, read with `euc_jp`).
* ``ESC & @`` (JIS X 0208-1990 announcer): ignored.

Rows 0x75–0x7E, which JIS X 0208 leaves empty, are where au phones write their emoji
(`triage.parsing.emoji.from_jis_row`): a pair there becomes the Unicode emoji, or the
private-use character CP50221 gives it, never U+FFFD. Rows 0x79–0x7C are also CP50221's
NEC-selected IBM kanji (髙 is 0x7C62): they stay kanji unless the sender is on au (carrier
"kddi"), whose phones write emoji there; a carrier hint other than KDDI gives private use.

Plain ISO-2022-JP (only ``ESC $ B``, ``ESC $ @`` and ``ESC ( B``, no SO/SI, JIS X 0208 rows the
stdlib knows) is decoded by Python's C codec ``iso2022_jp`` first, with its six JIS X 0208
characters that cp932 maps elsewhere (〜 ‖ − ¢ £ ¬) moved to cp932's (～ ∥ － ￠ ￡ ￢), which gives
the same text as the walk below in a fraction of the time; anything else takes the walk.

Control bytes (below 0x21, other than ESC, SO, SI) pass through unchanged in every mode, so a
line end written before the switch back to ASCII does not break the text. Anything else is an
error: a byte >= 0x80, an unknown or cut escape sequence, a half pair, a pair or kana byte that
has no character. `strict` raises `UnicodeDecodeError`; `replace` writes one U+FFFD per bad unit
and keeps going.
"""

from __future__ import annotations

from typing import Final

from triage.parsing.emoji import Carrier, from_jis_row

__all__ = ["decode_cp51932", "decode_jis", "jis_pair_to_sjis"]

_ENCODING: Final = "iso-2022-jp"
_ESC: Final = 0x1B
_SO: Final = 0x0E
_SI: Final = 0x0F
_REPLACEMENT: Final = "\ufffd"
_SPECIAL: Final = frozenset((_ESC, _SO, _SI))
_USER_DEFINED_ROW: Final = 0x75  # rows 0x75..0x7E: carriers' emoji (au), CP50221 private use
_NEC_IBM_ROWS: Final = range(0x79, 0x7D)  # rows 0x79..0x7C: also NEC-selected IBM kanji (cp932 ED/EE)

# Modes of G0.
_ASCII: Final = 0
_X0208: Final = 1
_KANA: Final = 2
_X0212: Final = 3

# Escape sequences (the bytes after ESC) -> mode; None: skip the sequence.
_ESCAPES: Final[dict[bytes, int | None]] = {
    b"(B": _ASCII,
    b"(J": _ASCII,
    b"(H": _ASCII,
    b"(I": _KANA,
    b"$@": _X0208,
    b"$B": _X0208,
    b"$(@": _X0208,
    b"$(B": _X0208,
    b"$(O": _X0208,
    b"$(Q": _X0208,
    b"$(D": _X0212,
    b"&@": None,
}


# Python's iso2022_jp (JIS X 0208 as in JIS) -> what cp932 gives the same pairs.
_TO_CP932: Final = {0x301C: 0xFF5E, 0x2016: 0x2225, 0x2212: 0xFF0D, 0xA2: 0xFFE0, 0xA3: 0xFFE1, 0xAC: 0xFFE2}
_PLAIN_ESCAPES: Final = (b"\x1b$B", b"\x1b$@", b"\x1b(B")


def _plain(data: bytes) -> str | None:
    """The text of plain ISO-2022-JP through the stdlib's C codec; None when the walk is needed."""
    if not data.isascii() or b"\x0e" in data or b"\x0f" in data:
        return None
    if data.count(b"\x1b") != sum(data.count(seq) for seq in _PLAIN_ESCAPES):
        return None
    try:
        text = data.decode("iso2022_jp")
    except UnicodeDecodeError:  # NEC row 13, IBM rows, carriers' rows, broken pairs: the walk decides
        return None
    if any(chr(point) in text for point in _TO_CP932):
        text = text.translate(_TO_CP932)
    return text


def jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    """Shift_JIS bytes of the JIS X 0208 pair (j1, j2); both must be in 0x21..0x7E."""
    s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 % 2 == 0:
        s2 = j2 + 0x7E
    else:
        s2 = j2 + (0x1F if j2 <= 0x5F else 0x20)
    return bytes((s1, s2))


def _is_cp932(pair: bytes) -> bool:
    try:
        pair.decode("cp932")
    except UnicodeDecodeError:
        return False
    return True


def _is_graphic(byte: int) -> bool:
    return 0x21 <= byte <= 0x7E


class _Builder:
    """Collects cp932 bytes (with the source offset of each pair) and decodes them in runs."""

    def __init__(self, data: bytes, errors: str, carrier: Carrier | None, au_without_hint: bool) -> None:
        self._data = data
        self._carrier = carrier
        # Rows 0x75..0x7E read as au emoji: from an au sender, or without a hint where au writes them.
        self._au = carrier == "kddi" or (carrier is None and au_without_hint)
        self._strict = errors == "strict"
        self._pieces: list[str] = []
        self._buf = bytearray()
        self._pair_origin: dict[int, int] = {}  # offset in _buf of a pair -> offset in data

    def fail(self, start: int, end: int, reason: str) -> None:
        """A bad unit at data[start:end]: raise (strict) or write U+FFFD (replace)."""
        if self._strict:
            raise UnicodeDecodeError(_ENCODING, self._data, start, end, reason)
        self.flush()
        self._pieces.append(_REPLACEMENT)

    def single(self, byte: int) -> None:
        """One cp932 single byte: ASCII, a control, or half-width kana 0xA1..0xDF."""
        self._buf.append(byte)

    def run(self, chunk: bytes) -> None:
        """A run of single cp932 bytes."""
        self._buf += chunk

    def pair(self, j1: int, j2: int, origin: int) -> None:
        """A JIS X 0208 pair found at data[origin:origin + 2]."""
        if j1 >= _USER_DEFINED_ROW:
            sjis = jis_pair_to_sjis(j1, j2)
            if self._carrier == "kddi" or j1 not in _NEC_IBM_ROWS or not _is_cp932(sjis):
                self.flush()
                self._pieces.append(from_jis_row(sjis, au=self._au))
                return
        self._pair_origin[len(self._buf)] = origin
        self._buf += jis_pair_to_sjis(j1, j2)

    def x0212(self, j1: int, j2: int, origin: int, width: int = 2) -> None:
        """A JIS X 0212 pair found at data[origin:origin + width]."""
        try:
            char = bytes((0x8F, j1 | 0x80, j2 | 0x80)).decode("euc_jp")
        except UnicodeDecodeError:
            self.fail(origin, origin + width, "JIS X 0212 pair without a character")
            return
        self.flush()
        self._pieces.append(char)

    def flush(self) -> None:
        """Decode the collected cp932 bytes; a failing pair raises or becomes U+FFFD."""
        buf = bytes(self._buf)
        origin = self._pair_origin
        self._buf = bytearray()
        self._pair_origin = {}
        pos = 0
        while pos < len(buf):
            try:
                self._pieces.append(buf[pos:].decode("cp932"))
                return
            except UnicodeDecodeError as exc:
                bad = pos + exc.start
                self._pieces.append(buf[pos:bad].decode("cp932"))
                source = origin.get(bad)
                if source is None:  # cannot happen: single bytes collected here always decode
                    source = -1
                    width = 1
                else:
                    width = 2
                if self._strict:
                    start = max(source, 0)
                    raise UnicodeDecodeError(
                        _ENCODING, self._data, start, start + width, "JIS X 0208 pair without a character"
                    ) from None
                self._pieces.append(_REPLACEMENT)
                pos = bad + width

    def text(self) -> str:
        self.flush()
        return "".join(self._pieces)


def decode_jis(data: bytes, errors: str = "strict", carrier: Carrier | None = None) -> str:
    """Decode ISO-2022-JP / CP50220 / CP50221 / CP50222 bytes; `errors` is "strict" or "replace".

    `carrier` is the sender's carrier, if known (rows 0x75–0x7E are au emoji unless it is another).
    """
    if errors not in ("strict", "replace"):
        raise ValueError(f"unsupported error handling {errors!r}")
    data = bytes(data)
    plain = _plain(data)
    if plain is not None:
        return plain
    out = _Builder(data, errors, carrier, au_without_hint=True)
    mode = _ASCII
    shifted = False  # SO seen, no SI yet: half-width kana whatever G0 is
    n = len(data)
    i = 0
    while i < n:
        byte = data[i]
        if byte == _ESC:
            for seq, target in _ESCAPES.items():
                if data.startswith(seq, i + 1):
                    if target is not None:
                        mode = target
                        shifted = False
                    i += 1 + len(seq)
                    break
            else:
                out.fail(i, i + 1, "unknown or cut escape sequence")
                i += 1
            continue
        if byte == _SO:
            shifted = True
            i += 1
            continue
        if byte == _SI:
            shifted = False
            i += 1
            continue
        if byte >= 0x80:
            out.fail(i, i + 1, "byte >= 0x80 in ISO-2022-JP")
            i += 1
            continue
        if mode == _ASCII and not shifted:
            end = i + 1
            while end < n and data[end] < 0x80 and data[end] not in _SPECIAL:
                end += 1
            out.run(data[i:end])
            i = end
            continue
        if byte < 0x21 or byte == 0x7F:
            out.single(byte)
            i += 1
            continue
        if shifted or mode == _KANA:
            if byte <= 0x5F:
                out.single(byte | 0x80)
            else:
                out.fail(i, i + 1, "byte outside the half-width katakana range")
            i += 1
            continue
        # Two-byte modes.
        if i + 1 >= n or not _is_graphic(data[i + 1]):
            out.fail(i, i + 1, "incomplete two-byte character")
            i += 1
            continue
        if mode == _X0208:
            out.pair(byte, data[i + 1], i)
        else:
            out.x0212(byte, data[i + 1], i)
        i += 2
    return out.text()


def decode_cp51932(data: bytes, errors: str = "strict", carrier: Carrier | None = None) -> str:
    """Decode EUC-JP with the CP51932 extensions (NEC row 13 ①㈱, NEC-selected IBM 髙).

    Each EUC pair is turned into its JIS pair and read like `decode_jis` reads it (Shift_JIS
    bytes, then cp932); 0x8E + byte is half-width kana, 0x8F + pair is JIS X 0212. Rows
    0xF5–0xFE (JIS 0x75–0x7E) are au emoji only from an au sender (carrier "kddi"); otherwise
    private use as in CP51932 (EUC-JP is no phone's mail charset, and garbage read as EUC-JP
    must not turn into emoji).
    """
    if errors not in ("strict", "replace"):
        raise ValueError(f"unsupported error handling {errors!r}")
    data = bytes(data)
    out = _Builder(data, errors, carrier, au_without_hint=False)
    n = len(data)
    i = 0
    while i < n:
        byte = data[i]
        if byte < 0x80:
            end = i + 1
            while end < n and data[end] < 0x80:
                end += 1
            out.run(data[i:end])
            i = end
        elif byte == 0x8E:
            if i + 1 < n and 0xA1 <= data[i + 1] <= 0xDF:
                out.single(data[i + 1])
                i += 2
            else:
                out.fail(i, i + 1, "bad half-width katakana")
                i += 1
        elif byte == 0x8F:
            if i + 2 < n and 0xA1 <= data[i + 1] <= 0xFE and 0xA1 <= data[i + 2] <= 0xFE:
                out.x0212(data[i + 1] & 0x7F, data[i + 2] & 0x7F, i, 3)
                i += 3
            else:
                out.fail(i, i + 1, "bad JIS X 0212 character")
                i += 1
        elif 0xA1 <= byte <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out.pair(byte & 0x7F, data[i + 1] & 0x7F, i)
            i += 2
        else:
            out.fail(i, i + 1, "invalid EUC-JP byte")
            i += 1
    return out.text()
