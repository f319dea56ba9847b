"""A header value with nothing to decode takes a shortcut; it must read as the full decoder reads it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from triage.parsing import headers


def _full(raw: str) -> tuple[str, str]:
    """The decoder with its shortcut off: the value as one pending literal, as before."""
    text = headers._FOLD.sub(r"\1", raw) if "\n" in raw or "\r" in raw else raw
    literal, how = headers._literal(text)
    return literal.translate(headers._DROP).strip(" \t"), how or "ascii"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab =?\r\n\t\x00<>@.\x1b", max_size=30))
def test_ascii_values_read_as_the_full_decoder_reads_them(raw: str) -> None:
    text = headers._FOLD.sub(r"\1", raw) if "\n" in raw or "\r" in raw else raw
    if "=?" in text or "\x1b" in text:
        return  # not the shortcut's case
    assert headers.decode_header_with_how(raw) == _full(raw)


def test_folded_ascii_value() -> None:
    assert headers.decode_header_with_how("Re: hello\r\n world \t") == ("Re: hello world", "ascii")


def _chunks_by_pattern(text: str) -> list[str] | None:
    if headers._B_TEXT.fullmatch(text) is None:
        return None
    return [match.group() for match in headers._B_CHUNK.finditer("".join(text.split()))]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="QUJD+/=ab9 \t?\u00e9", max_size=16))
def test_b_chunks_are_the_patterns_chunks(text: str) -> None:
    assert headers._b_chunks(text) == _chunks_by_pattern(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t*差出人送信者FfRrOoMm:：x", max_size=10))
def test_header_block_precondition_never_hides_a_match(line: str) -> None:
    from triage.parsing import quotes

    if quotes._HEADER_BLOCK_FIRST.match(line):
        assert quotes._may_open_header_block(line)
