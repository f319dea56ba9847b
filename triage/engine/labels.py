"""Which field a label names: the FAQ's exact labels first, then the meaningful words of a label.

A member rewrites labels freely (`ご登録のお電話番号`, `電話番号（携帯）`, `ケータイ`, `Mobile`,
`Member number I entered`). Exact labels from the rule packs are matched first (the mailbox's own
FAQ wording wins); any other label is classified by its *terms*: a field is reached when every
term group of the field has a word in the label and none of its `not_terms` is there. Among the
fields reached, the one whose words cover most of the label wins, preferring fields the mailbox
asks for. All of it is data in `rules/fields.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from triage import textmatch
from triage.engine.spec import CARRIER_ID, RuleSet
from triage.engine.text import light_normalise

BULLETS = r"(?:[・･•●○◆◇■□▼▽▲△◎★☆※*+\-−>＞»〇◯]|[0-9]{1,2}[.)]|\([0-9]{1,2}\))"
# `8桁` is label (`パスワード8桁：…`) only when something follows it: alone it is the answer.
HINT = (
    r"(?:[ ]?(?:[(\[【<](?![0-9 -]+[)\]】>])[^()\[\]【】<>]{0,60}[)\]】>]|[※★☆*][0-9]?"
    r"|[0-9]{1,2}桁(?![ ]*$)))"
)


@dataclass(frozen=True)
class _Terms:
    target: str
    groups: tuple[tuple[str, ...], ...]
    not_terms: tuple[str, ...]


@dataclass
class LabelIndex:
    line_start: textmatch.Pattern  # an exact label at the start of a line
    inline: textmatch.Pattern  # an exact label inside a sentence
    generic: textmatch.Pattern  # any short label before a separator, classified by its words
    term_hits: textmatch.Pattern  # any label word (lower case), to find labels inside sentences
    term_hits_any_case: textmatch.Pattern
    inline_lower: textmatch.Pattern
    targets: dict[str, str]  # normalised exact label -> field key / CARRIER_ID / "compound:N"
    terms: tuple[_Terms, ...]
    wanted: frozenset[str]  # fields of the mailbox's pack
    spelled: tuple[str, ...] = ()  # English label words of 4+ letters, to read a typo as its word
    _classified: dict[str, str] = field(default_factory=dict)

    def inline_labels(self, text: str, pos: int = 0) -> list[textmatch.Match[str]]:
        """Exact labels inside `text` (offsets are `text`'s; a match's label is lower-cased)."""
        lowered = text.lower()
        if len(lowered) != len(text):
            return self.inline.finditer(text, pos)
        return self.inline_lower.finditer(lowered, pos)

    def words(self, text: str, pos: int = 0) -> list[textmatch.Match[str]]:
        """Every label word in `text` (offsets are `text`'s; read the words from `text` itself)."""
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter whose lower case is longer: fold it slowly
            return self.term_hits_any_case.finditer(text, pos)
        return self.term_hits.finditer(lowered, pos)

    def exact(self, label: str) -> str:
        target = self.targets.get(label.casefold())
        return target if target is not None else self.targets.get(_label_key(label), "")

    def classify(self, label: str) -> str:
        """The field a free-form label names by its words, or "" when none."""
        known = self._classified.get(label)
        if known is None:
            known = self._classify(label)
            if len(self._classified) < 4096:
                self._classified[label] = known
        return known

    def _classify(self, label: str) -> str:
        text = _fold(label)
        if not text:
            return ""
        if self.spelled and text.isascii():
            text = _respell(text, self.spelled)
        best: tuple[int, int, str] | None = None
        sibling = ""  # a field the mailbox asks for whose main words are there (its qualifiers not)
        for entry in self.terms:
            if any(_has(text, word) for word in entry.not_terms):
                continue
            score = 0
            for number, group in enumerate(entry.groups):
                hits = [len(word) for word in group if _has(text, word)]
                if not hits:
                    if number > 0 and score > 0 and entry.target in self.wanted and not sibling:
                        sibling = entry.target
                    score = -1
                    break
                score += max(hits)
            if score <= 0:
                continue
            wanted = 1 if entry.target in self.wanted or entry.target.startswith("compound:") else 0
            key = (score, wanted, entry.target)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is not None and best[1] == 0 and sibling:
            return sibling  # `member number` in a mailbox that asks for the login member number
        return best[2] if best else ""

    def excluded(self, target: str, label: str) -> bool:
        """True when the label's words rule the field out (`パスワード(桁数)` is not the password)."""
        text = _fold(label)
        return any(
            entry.target == target and any(_has(text, word) for word in entry.not_terms)
            for entry in self.terms
        )


def _fold(text: str, *, kana: bool = True) -> str:
    """A label as its words are compared: width-folded, lower case, and (with `kana`) hiragana read
    as katakana, a dash after a katakana as the long vowel mark (`なまえ` = `ナマエ`, `ﾆｯｸﾈ-ﾑ`)."""
    folded = light_normalise(text).casefold()
    if not kana:
        return folded
    chars = list(folded)
    for i, ch in enumerate(chars):
        if "\u3041" <= ch <= "\u3096":
            chars[i] = chr(ord(ch) + 0x60)
        elif ch == "-" and i and "\u30a1" <= chars[i - 1] <= "\u30fa":
            chars[i] = "ー"
    return "".join(chars)


def _has(text: str, word: str) -> bool:
    """`word` in `text`; an ASCII word must stand as a word (`id` is not in `paid`)."""
    at = text.find(word)
    while at >= 0:
        if not word[:1].isascii() or not word.isascii():
            return True
        before = text[at - 1] if at > 0 else " "
        after = text[at + len(word)] if at + len(word) < len(text) else " "
        if not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalpha()):
            return True
        at = text.find(word, at + 1)
    return False


def _respell(text: str, known: tuple[str, ...]) -> str:
    """`nmae`, `cource`, `birthdey`, `lenght`: an English word of four letters or more that is one
    edit (a letter changed, added, dropped, or two neighbours swapped) from a label word, with the
    same first letter, reads as that word."""
    words = text.split(" ")
    changed = False
    for i, word in enumerate(words):
        core = word.strip("()[]/.,*:")
        if len(core) < 4 or core in known or not core.isalpha():
            continue
        for candidate in known:
            if (
                candidate[0] == core[0]
                and abs(len(candidate) - len(core)) <= 1
                and _one_edit(core, candidate)
            ):
                words[i] = word.replace(core, candidate)
                changed = True
                break
    return " ".join(words) if changed else text


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _label_key(label: str) -> str:
    return light_normalise(label).casefold()


def _alternation(labels: Iterable[str]) -> str:
    """The labels as one pattern: a space may be left out, an ASCII label ends at a word's end."""
    items = []
    for label in {light_normalise(label) for label in labels if label}:
        tokens = ["[ ]?" if ch == " " else textmatch.escape(ch) for ch in label]
        end = r"(?![A-Za-z0-9])" if label[-1:].isascii() and label[-1:].isalnum() else ""
        items.append((tokens, end))
    return trie_pattern(items)


_Node = dict[str, "_Node"]  # one fragment -> the rest of the tree ("" marks an ending)


def trie_pattern(items: Iterable[tuple[list[str], str]]) -> str:
    """Alternatives (each a list of one-character fragments and an ending) as a prefix tree.

    A flat alternation of a few hundred labels is tried label by label at every position of a
    line; the tree shares each prefix, so a position that starts no label is left after one
    step (seven times faster on member text). Longer alternatives are tried first, at every
    branch, as the flat alternation sorted by length did.
    """
    root: _Node = {}
    ends: dict[int, set[str]] = {}
    for tokens, end in items:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        ends.setdefault(id(node), set()).add(end)
        node.setdefault("", {})  # marks a label ending here

    def depth(node: _Node) -> int:
        return max((1 + depth(child) for key, child in node.items() if key), default=0)

    def emit(node: _Node) -> str:
        children = sorted(((key, child) for key, child in node.items() if key), key=lambda kv: -depth(kv[1]))
        branches = [key + emit(child) for key, child in children]
        if "" in node:
            branches += sorted(ends.get(id(node), {""}), key=len, reverse=True)
        if not branches:
            return ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root) or "(?!)"


def _fold_terms(groups: tuple[tuple[str, ...], ...], *, kana: bool = True) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_fold(word, kana=kana) for word in group if _fold(word)) for group in groups)


def build(rules: RuleSet, mailbox: str | None) -> LabelIndex:
    targets: dict[str, str] = {}
    for key, definition in rules.fields.items():
        for label in definition.labels:
            targets.setdefault(_label_key(label), key)
    for label in rules.carrier_id_labels:
        targets.setdefault(_label_key(label), CARRIER_ID)
    for index, compound in enumerate(rules.compounds):
        for label in compound.labels:
            targets[_label_key(label)] = f"compound:{index}"
    wanted: set[str] = set()
    if mailbox is not None and mailbox in rules.packs:
        pack = rules.packs[mailbox]
        for key, labels in pack.labels.items():
            for label in labels:
                targets[_label_key(label)] = key  # the mailbox's own FAQ wording wins
        for requirement in pack.requires:
            wanted.update(requirement.fields)
            if requirement.when_field:
                wanted.add(requirement.when_field)
        wanted.update(pack.optional)
    terms: list[_Terms] = []
    as_written: set[str] = set()  # the words as the rule packs write them, to find them in lines
    for key, definition in rules.fields.items():
        if definition.terms:
            terms.append(_Terms(key, _fold_terms(definition.terms), tuple(map(_fold, definition.not_terms))))
            as_written.update(word for group in _fold_terms(definition.terms, kana=False) for word in group)
    if rules.carrier_id_terms:
        terms.append(_Terms(CARRIER_ID, _fold_terms(rules.carrier_id_terms), ()))
        as_written.update(word for group in _fold_terms(rules.carrier_id_terms, kana=False) for word in group)
    for index, compound in enumerate(rules.compounds):
        if compound.terms:
            terms.append(_Terms(f"compound:{index}", _fold_terms(compound.terms), ()))
            as_written.update(word for group in _fold_terms(compound.terms, kana=False) for word in group)
    alternation = _alternation(targets)
    # A bare Latin label of two letters (`ID`) is a label at the start of a line only: inside an
    # English sentence it is a word (`ID or password is incorrect`).
    in_sentences = [label for label in targets if not (label.isascii() and len(label) <= 2)]
    inline_alternation = _alternation(in_sentences)
    flags = textmatch.IGNORECASE | textmatch.VERSION1
    line_start = textmatch.compile(
        rf"^(?:{BULLETS}[ ]?)*(?P<open>[【\[<])?[ ]?(?P<label>{alternation})(?P<close>[】\]>])?"
        rf"(?P<hints>{HINT}*)(?P<gap>[ ]?)(?P<sep>[-=]>|[:=→⇒>|]|は|って)?[ ]?(?P<rest>.*)$",
        flags,
        name="label:line-start",
    )
    # Tried at every position of a line: a look-ahead on the labels' first characters lets the
    # engine skip most positions without walking the whole alternation.
    firsts = {light_normalise(label)[:1] for label in in_sentences}
    first_chars = "".join(sorted({c for f in firsts if f for c in (f.lower(), f.upper())}))
    inline = textmatch.compile(
        rf"(?=[{textmatch.escape(first_chars)}])"
        rf"(?P<label>{inline_alternation})(?P<hints>{HINT}*)[ ]?(?P<sep>は|:|=)?[ ]?",
        flags,
        name="label:inline",
    )
    lowered_firsts = "".join(sorted({c.lower() for c in first_chars}))
    inline_lower = textmatch.compile(
        rf"(?=[{textmatch.escape(lowered_firsts)}])"
        rf"(?P<label>{_alternation(label.lower() for label in in_sentences)})"
        rf"(?P<hints>{HINT}*)[ ]?(?P<sep>は|:|=)?[ ]?",
        textmatch.VERSION1,
        name="label:inline-lower",
    )
    generic = textmatch.compile(
        rf"^(?:{BULLETS}[ ]?)*"
        rf"(?:(?P<open>[【\[<])(?P<blabel>[^【】\[\]<>:=]{{1,40}})[】\]>][ ]?(?P<bsep>[:=→⇒|])?"
        rf"|(?P<label>[^:=→⇒|【】\[\]<>]{{1,48}}?)(?P<opts>[ ]?[\[【][^:【】\[\]<>]{{1,60}}[\]】])?"
        rf"(?:[ ]?(?P<sep>[-=]>|[:=→⇒|])|[ ](?P<dsep>[-–—])[ ]))"
        rf"[ ]?(?P<rest>.*)$",
        flags,
        name="label:generic",
    )
    words = sorted(as_written, key=len, reverse=True)
    alternation_of_words = trie_pattern(([textmatch.escape(ch) for ch in word], "") for word in words)
    # Words are folded to lower case: matching them case-sensitively on a lower-cased line is
    # several times faster than an IGNORECASE alternation of a few hundred words.
    term_hits = textmatch.compile(alternation_of_words, textmatch.VERSION1, name="label:terms")
    any_case = textmatch.compile(alternation_of_words, flags, name="label:terms-any-case")
    return LabelIndex(
        line_start,
        inline,
        generic,
        term_hits,
        any_case,
        inline_lower,
        targets,
        tuple(terms),
        frozenset(wanted),
        tuple(
            sorted(
                {
                    part
                    for entry in terms
                    for word in (*(w for group in entry.groups for w in group), *entry.not_terms)
                    for part in word.split(" ")
                    if len(part) >= 4 and part.isascii() and part.isalpha()
                }
            )
        ),
    )


_CACHE: dict[tuple[int, str | None], LabelIndex] = {}


def labels_for(rules: RuleSet, mailbox: str | None) -> LabelIndex:
    key = (id(rules), mailbox)
    cached = _CACHE.get(key)
    if cached is None:
        cached = build(rules, mailbox)
        _CACHE[key] = cached
    return cached
