"""MAIL FROM / RCPT TO addresses read directly agree with aiosmtpd's own reading, on any input."""

from __future__ import annotations

from typing import Any

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.ingress.envelope import plain_address

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
LIMIT = 64


class _Reader:
    """Just what aiosmtpd's ``_getaddr`` reads from its session."""

    local_part_limit = LIMIT


def aiosmtpd_reads(arg: str) -> tuple[str | None, str | None]:
    reader: Any = _Reader()
    result: tuple[str | None, str | None] = SMTP._getaddr(reader, arg)
    return result


_atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
_dot_atom = st.lists(_atoms, min_size=1, max_size=4).map(".".join)
_labels = st.text(alphabet="abcxyz019-", min_size=1, max_size=10)
_domain = st.lists(_labels, min_size=1, max_size=4).map(".".join)
_rest = st.sampled_from(["", " SIZE=4096", "  BODY=8BITMIME SMTPUTF8", "\tSIZE=1", " (comment) SIZE=2", " "])
_plain = st.builds(lambda local, domain, rest: f"<{local}@{domain}>{rest}", _dot_atom, _domain, _rest)
# anything a client might send, built from the characters that matter to the address parser
_odd = st.text(alphabet='<>@."() \t\\[]:,;aZ09-_+é', max_size=30)
_long_local = st.builds(lambda n: f"<{'a' * n}@example.jp>", st.integers(60, 70))


@settings(max_examples=600)
@given(arg=st.one_of(_plain, _odd, _long_local, st.builds(lambda a, b: a + b, _plain, _odd)))
def test_the_direct_reading_agrees_with_aiosmtpd_or_leaves_it_to_it(arg: str) -> None:
    plain = plain_address(arg, LIMIT)
    if plain is not None:
        assert plain == aiosmtpd_reads(arg)


def test_the_plain_shape_is_read_directly() -> None:
    for arg in ("<member@docomo.ne.jp>", "<a.b-c+d@mail.example.co.jp> SIZE=4096 BODY=8BITMIME"):
        assert plain_address(arg, LIMIT) is not None
        assert plain_address(arg, LIMIT) == aiosmtpd_reads(arg)
    assert (
        plain_address(f"<{'a' * 65}@example.jp>", LIMIT)
        == (None, None)
        == aiosmtpd_reads(f"<{'a' * 65}@example.jp>")
    )


def test_other_shapes_are_left_to_aiosmtpd() -> None:
    others = [
        "<>",
        '<"quoted local"@example.jp>',
        "<a..b@example.jp>",
        "<@route:a@example.jp>",
        "a@example.jp",
        "<a@[192.0.2.1]>",
        "<ユーザー@example.jp>",
        "<a@example.jp> (c) SIZE=1",
    ]
    for arg in others:
        assert plain_address(arg, LIMIT) is None
