"""The characters every match of a pattern starts with, found from its source (a safe subset).

The `regex` engine tries a pattern at every position of the text. For an alternation of words
with `\\b` or case-insensitive parts (the rule packs' statements, the hedges, the correction
cues) it finds no cheap test of a position and walks the pattern there; a look-ahead on the
first characters, prepended by :func:`triage.textmatch.with_first_chars`, lets it skip every
position that cannot start a match (many times faster on member text).

:func:`first_atoms` reads literals, escapes, classes, `\\p{…}`, groups, alternations,
quantifiers, zero-width assertions and `(?i)`; anything else (a dot, a back-reference, other
flags) and any pattern that may match the empty string give None: no look-ahead, the pattern as
it is. The atoms are a superset of the possible first characters (a zero-width assertion is
skipped, not obeyed), so the look-ahead never removes a match. A case-insensitive ASCII letter
also stands for the characters that fold to it (`ſ`, `K`, `İ`, and the first letters of the
full case foldings `ß`, `ﬁ` … that VERSION1 applies); tests/test_firstchars.py checks them
against the engine and Python's case folding for every code point.
"""

from __future__ import annotations

_META = set("\\[](){}.*+?^$|")
# Characters a case-insensitive ASCII letter may match besides its two cases: simple case folding
# (ſ, K, İ) and the first letter of a full case folding (ß is ss, ﬁ is fi).
EXTRA_CASES = {
    "a": "\u1e9a",
    "f": "\ufb00\ufb01\ufb02\ufb03\ufb04",
    "h": "\u1e96",
    "i": "\u0130",
    "j": "\u01f0",
    "k": "\u212a",
    "s": "\u017f\u00df\u1e9e\ufb05\ufb06",
    "t": "\u1e97",
    "w": "\u1e98",
    "y": "\u1e99",
}


class GiveUp(Exception):
    """The source uses syntax this reader does not follow."""


def _letter_cases(ch: str) -> str:
    low = ch.lower()
    return low + ch.upper() + EXTRA_CASES.get(low, "")


class _Parser:
    def __init__(self, source: str, ignorecase: bool) -> None:
        self.s = source
        self.i = 0
        self.ignorecase = ignorecase

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def alternation(self, ic: bool) -> tuple[list[str], bool]:
        atoms, nullable = self.sequence(ic)
        while self.peek() == "|":
            self.i += 1
            more, more_null = self.sequence(ic)
            atoms += more
            nullable = nullable or more_null
        return atoms, nullable

    def sequence(self, ic: bool) -> tuple[list[str], bool]:
        atoms: list[str] = []
        while True:
            ch = self.peek()
            if ch in ("", "|", ")"):
                return atoms, True
            item, nullable = self.item(ic)
            nullable = self.quantifier() or nullable
            atoms += item
            if not nullable:
                # the rest of the sequence must still be parsed
                self.skip_rest()
                return atoms, False

    def skip_rest(self) -> None:
        depth = 0
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\":
                self.i += 2
                continue
            if ch == "[":
                self.class_source()
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    return
                depth -= 1
            elif ch == "|" and depth == 0:
                return
            self.i += 1

    def quantifier(self) -> bool:
        """Consume a quantifier; True when it allows zero repetitions."""
        ch = self.peek()
        zero = False
        if ch in ("*", "?"):
            zero = True
            self.i += 1
        elif ch == "+":
            self.i += 1
        elif ch == "{":
            end = self.s.find("}", self.i)
            if end < 0:
                raise GiveUp("brace")
            body = self.s[self.i + 1 : end]
            low = body.split(",")[0].strip()
            if not low.isdigit() and low != "":
                raise GiveUp("brace body")
            zero = low in ("", "0")
            self.i = end + 1
        else:
            return False
        if self.peek() in ("?", "+"):
            self.i += 1
        return zero

    def class_source(self) -> str:
        start = self.i
        self.i += 1
        if self.peek() == "^":
            self.i += 1
        if self.peek() == "]":
            self.i += 1
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\":
                self.i += 2
                continue
            if ch == "[":
                raise GiveUp("nested class")
            if ch == "]":
                self.i += 1
                return self.s[start : self.i]
            self.i += 1
        raise GiveUp("open class")

    def wrap(self, atom: str, ic: bool) -> str:
        return f"(?i:{atom})" if ic else atom

    def item(self, ic: bool) -> tuple[list[str], bool]:
        ch = self.peek()
        if ch == "(":
            return self.group(ic)
        if ch == "[":
            return [self.wrap(self.class_source(), ic)], False
        if ch in ("^", "$"):
            self.i += 1
            return [], True
        if ch == ".":
            raise GiveUp("dot")
        if ch == "\\":
            nxt = self.s[self.i + 1 : self.i + 2]
            if nxt in ("b", "B", "A", "Z", "z", "G", "m", "M"):
                self.i += 2
                return [], True
            if nxt in ("d", "D", "s", "S", "w", "W", "h"):
                self.i += 2
                return [self.wrap("\\" + nxt, ic)], False
            if nxt in ("p", "P"):
                end = self.s.find("}", self.i)
                if self.s[self.i + 2 : self.i + 3] != "{" or end < 0:
                    raise GiveUp("property")
                atom = self.s[self.i : end + 1]
                self.i = end + 1
                return [self.wrap(atom, ic)], False
            if nxt and not nxt.isalnum():
                self.i += 2
                return self.literal(nxt, ic), False
            raise GiveUp(f"escape {nxt!r}")
        if ch in ("*", "+", "?", "{", ")"):
            raise GiveUp("bad position")
        self.i += 1
        return self.literal(ch, ic), False

    def literal(self, ch: str, ic: bool) -> list[str]:
        if ic and ch.isascii() and ch.isalpha():
            return list(_letter_cases(ch))
        if ic and (ch.lower() != ch.upper() or ch.casefold() != ch):
            raise GiveUp("non-ASCII cased letter under (?i)")
        return [_escape(ch)]

    def group(self, ic: bool) -> tuple[list[str], bool]:
        s = self.s
        self.i += 1
        if s.startswith("?:", self.i):
            self.i += 2
        elif s.startswith("?P<", self.i):
            end = s.find(">", self.i)
            self.i = end + 1
        elif s.startswith("?i:", self.i):
            self.i += 3
            ic = True
        elif s.startswith(("?=", "?!"), self.i):
            self.i += 2
            self.alternation(ic)
            self.expect_close()
            return [], True
        elif s.startswith(("?<=", "?<!"), self.i):
            self.i += 3
            self.alternation(ic)
            self.expect_close()
            return [], True
        elif s.startswith("?", self.i):
            raise GiveUp("group kind")
        atoms, nullable = self.alternation(ic)
        self.expect_close()
        return atoms, nullable

    def expect_close(self) -> None:
        if self.peek() != ")":
            raise GiveUp("unclosed group")
        self.i += 1


def _escape(ch: str) -> str:
    return "\\" + ch if ch.isascii() and not ch.isalnum() else ch


def first_atoms(source: str, ignorecase: bool = False) -> list[str] | None:
    """The atoms (characters, classes) one of which every match of `source` starts with; None when
    unknown or when the pattern may match the empty string."""
    prefix_ic = ignorecase
    if source.startswith("(?i)"):
        prefix_ic = True
        source = source[4:]
    parser = _Parser(source, prefix_ic)
    try:
        atoms, nullable = parser.alternation(prefix_ic)
        if parser.i != len(source) or nullable:
            return None
    except GiveUp:
        return None
    return list(dict.fromkeys(atoms))
