"""A From of encoded words and an address is judged without the stdlib's structural parse; the
judgement (defects or not) must be the one that parse gives."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from triage.parsing import addresses

_CHARSETS = ("UTF-8", "utf-8", "ISO-2022-JP", "Shift_JIS", "EUC-JP", "latin-1", "utf-16", "nope", "base64")
_NAME_TEXT = st.text(alphabet='山田 太郎\u3000\t\n\r\x00\x7f<>,"@:;().abc\ud800\U0001f600', max_size=8)


@st.composite
def _words(draw: st.DrawFn) -> str:
    charset = draw(st.sampled_from(_CHARSETS))
    text = draw(_NAME_TEXT)
    try:
        data = text.encode(charset if charset not in ("nope", "base64") else "utf-8", "surrogatepass")
    except (UnicodeError, LookupError):
        data = text.encode("utf-8", "surrogatepass")
    payload = base64.b64encode(data).decode("ascii")
    payload = payload[: draw(st.integers(0, len(payload)))] if draw(st.booleans()) else payload
    return f"=?{charset}?{draw(st.sampled_from('Bb'))}?{payload}?="


@settings(max_examples=500, deadline=None)
@given(st.lists(_words(), min_size=1, max_size=3), st.sampled_from((" ", "  ", "")))
def test_encoded_from_defects_are_the_structural_parsers(words: list[str], gap: str) -> None:
    value = " ".join(words) + gap + "<taro.yamada@example.ne.jp>"
    assert addresses._defects_of_from(value) == addresses.structural_list(value)[1]


def test_common_encoded_from_has_no_defects() -> None:
    value = "=?UTF-8?B?5bGx55SwIOWkqumDjg==?= <taro@example.jp>"
    assert addresses._defects_of_from(value) is False
    assert addresses.structural_list(value)[1] is False
    address, ambiguous = addresses.parse_from(value)
    assert address is not None and address.display_name == "山田 太郎" and not ambiguous
