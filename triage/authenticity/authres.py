"""A small, strict-enough reader of `Authentication-Results` values (RFC 8601 §2.2).

No library: `authres` (the one on PyPI, last released 2019) matches with the stdlib `re`, whose
patterns run without the deadline every pattern over member text must have (a forged field is
member text), and it raises on the variants real MTAs write. This reader is one linear scan of
the characters, with no pattern at all: comments (nested) are dropped, quoted strings kept whole,
and the value is split into `;`-separated result blocks. It reads at most MAX_CHARS characters and
MAX_RESULTS results, and never raises.

    authres-payload = authserv-id [version] ( ";" "none" / 1*( ";" method "=" result
                      ["reason=" value] *( ptype "." property "=" value ) ) )
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

MAX_CHARS: Final = 8192
MAX_RESULTS: Final = 50
_SPECIAL: Final = frozenset(';="()')


@dataclass(frozen=True)
class MethodResult:
    """One `method=result` of a field: `dmarc=fail`, with its properties (`header.from`)."""

    method: str  # lower-case, without a version ("dkim", not "dkim/1")
    result: str  # lower-case ("pass", "fail", "none", ...)
    reason: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  # ("header.from", "example.jp"), keys lower-case

    def prop(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...] = field(default=())


def normalise_id(value: str) -> str:
    """An authserv-id as compared: lower-case, trailing dot removed (security.md §4)."""
    return value.strip().lower().rstrip(".")


def _tokens(value: str) -> list[str]:
    """Words, quoted strings (unquoted) and the specials `;` and `=`; comments dropped."""
    tokens: list[str] = []
    word: list[str] = []
    depth = 0
    index = 0
    text = value[:MAX_CHARS]

    def end_word() -> None:
        if word:
            tokens.append("".join(word))
            word.clear()

    while index < len(text):
        char = text[index]
        index += 1
        if depth:
            if char == "\\":
                index += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            continue
        if char == "(":
            end_word()
            depth = 1
        elif char == '"':
            end_word()
            quoted: list[str] = []
            while index < len(text) and text[index] != '"':
                if text[index] == "\\" and index + 1 < len(text):
                    index += 1
                quoted.append(text[index])
                index += 1
            index += 1  # the closing quote (or the end)
            tokens.append("".join(quoted))
        elif char in ";=":
            end_word()
            tokens.append(char)
        elif char.isspace() or char == ")":
            end_word()
        else:
            word.append(char)
    end_word()
    return tokens


def _blocks(tokens: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for item in tokens:
        if item == ";":
            blocks.append([])
        else:
            blocks[-1].append(item)
    return blocks


def _result(block: list[str]) -> MethodResult | None:
    """`method = result [reason = v] [ptype.prop = v]...`; None when the block is not one."""
    if len(block) < 3 or block[1] != "=" or block[0] == "=" or block[2] == "=":
        return None
    method = block[0].lower().split("/", 1)[0]
    result = block[2].lower()
    reason: str | None = None
    properties: list[tuple[str, str]] = []
    rest = block[3:]
    for at in range(len(rest) - 2):
        key, equals, value = rest[at], rest[at + 1], rest[at + 2]
        if equals != "=" or key == "=" or value == "=":
            continue
        low = key.lower()
        if low == "reason":
            reason = value
        elif "." in low:
            properties.append((low, value))
    return MethodResult(method, result, reason, tuple(properties))


def parse_authres(value: str) -> AuthResults | None:
    """The authserv-id and results of one field's value; None when it has no authserv-id."""
    blocks = _blocks(_tokens(value))
    head = blocks[0]
    if not head or head[0] == "=":
        return None
    results = []
    for block in blocks[1 : MAX_RESULTS + 1]:
        parsed = _result(block)
        if parsed is not None:
            results.append(parsed)
    return AuthResults(authserv_id=head[0], results=tuple(results))
