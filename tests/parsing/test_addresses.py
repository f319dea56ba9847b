"""Address fields: the fast path for common shapes reads exactly what the structural parser reads."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from triage.parsing.addresses import _simple_list, parse_address_list, parse_from, structural_list

ATOM_CHARS = "abcxyzABZ0189!#$%&'*+/=?^_`{|}~-"
atom = st.text(alphabet=ATOM_CHARS, min_size=1, max_size=8)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
addr_spec = st.builds(lambda local, domain: f"{local}@{domain}", dot_atom, dot_atom)
phrase = st.lists(atom, min_size=1, max_size=3).map(" ".join)
item = st.one_of(
    addr_spec,
    st.builds(
        lambda name, spaces, addr: f"{name}{spaces}<{addr}>",
        phrase,
        st.sampled_from(["", " ", "  "]),
        addr_spec,
    ),
)
field = st.builds(
    lambda items, sep: sep.join(items),
    st.lists(item, min_size=1, max_size=4),
    st.sampled_from([",", ", ", " , "]),
)


@settings(max_examples=300, deadline=None)
@given(field)
def test_the_fast_path_agrees_with_the_structural_parser(value: str) -> None:
    assume("=?" not in value)  # an encoded word always takes the full parser
    fast = _simple_list(value)
    slow, defects = structural_list(value)
    assert fast is not None, value
    assert not defects, value
    assert fast == slow, value


def test_common_fields_take_the_fast_path_and_others_do_not() -> None:
    assert _simple_list("Taro Yamada <taro@example.jp>, hanako@example.jp") is not None
    for odd in (
        '"Yamada, Taro" <taro@example.jp>',  # a quoted name with a comma
        "=?UTF-8?B?5bGx55Sw?= <taro@example.jp>",  # an encoded word
        "Taro (home) <taro@example.jp>",  # a comment
        "J. Smith <j@example.com>",  # an obsolete phrase
        "undisclosed-recipients:;",  # a group
        "山田 <taro@example.jp>",  # 8-bit
        "taro@example.jp,",  # an empty item
    ):
        assert _simple_list(odd) is None, odd


def test_the_full_parser_still_reads_the_other_shapes() -> None:
    found, defects = parse_address_list(
        '"Yamada, Taro" <taro@example.jp>, =?UTF-8?B?5bGx55Sw?= <h@example.jp>'
    )
    assert [a.addr for a in found] == ["taro@example.jp", "h@example.jp"]
    assert found[1].display_name == "山田"
    assert not defects
    address, ambiguous = parse_from("Taro Yamada <taro@example.jp>")
    assert address is not None and address.addr == "taro@example.jp" and not ambiguous
    _, ambiguous = parse_from("a@example.jp, b@example.jp")
    assert ambiguous
