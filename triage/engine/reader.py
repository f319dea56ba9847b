"""Labelled values: a label at the start of a line, or inside a sentence, and the value it names.

Sources, strongest first:
1. a label at the start of a line (`・氏名(漢字):山田 太郎`, `【生年月日】…`, `Phone: …`,
   `Member number I entered: …`), its value on the rest of the line, in a `【…】` right after it,
   or on the next line(s);
2. a label inside a sentence (`継続課金IDは40000001234です`, `パスワードに 19911201 を入れました`),
   where the field's shape says how far the value goes (inline.py).
Labels are exact FAQ labels or any label whose words name a field (labels.py). The reader's state,
how a value is emitted, shaped and followed onto the next lines are in readerbase.py.
"""

from __future__ import annotations

from triage import textmatch
from triage.engine.fields import VALIDATORS, Ok
from triage.engine.inline import InlineLabels
from triage.engine.normalize import for_report
from triage.engine.readerbase import PLAIN_CONTEXT, TOKEN_VALIDATORS
from triage.engine.spec import CARRIER_ID

_LATE_HINT = textmatch.compile(r"^(?:[【\[(][^【】\[\]()]{0,60}[】\])][ ]?[※★☆*]?[ ]?)+[:=][ ]?")
_PROSE_SEPARATORS = frozenset({"は", "って"})
# The rest of a line that extends its label up to a later separator: `Plus member ID starting with E: …`.
_LABEL_TAIL = textmatch.compile(
    r"^(?P<tail>[^:=→0-9@]{1,48}?(?:[ ]?[※★☆*][0-9])?)(?:[ ]?(?:[-=]>|[:=→])|[ ][-–—][ ])[ ]?(?P<rest>.*)$"
)
_BULLET_CHARS = frozenset("・･•●○◆◇■□▼▽▲△◎★☆※*+>＞»〇◯-")
_BULLETS_AT_START = textmatch.compile(r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※*+>＞»〇◯-][ ]?)+")
_DIGIT_OUTSIDE_BRACKETS = textmatch.compile(
    r"@|[0-9](?![^(（\[【]*[)）\]】])(?![0-9]*[ ]?(?:桁|文字|digits?|characters?|chars?))"
)
_LABEL_ALONE = textmatch.compile(
    r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※*+>＞»〇◯-][ ]?)*"
    r"(?P<label>(?:[^:=→|0-9@()（）【】「」。、,.]|[(（][^()（）]{0,16}[)）]){2,24})[ ]?[:]?$"
)
_CLOSED_VOCABULARY = frozenset({"course", "payment_method", "carrier", "prefecture"})
_SENTENCE_END = ("です", "ます", "した", "ません", "ですか", "ください", "!", "?")
_LEAD_SEPARATOR = textmatch.compile(r"^(?:[-–—][ ]|[-=]>[ ]?|[→:=|][ ]?)+")
_BRACKET_VALUE = textmatch.compile(r"[ ]?【([^【】/]{1,40})】")


class Reader(InlineLabels):
    """Walks the lines once, producing candidates; knows which lines it consumed."""

    # --- labels at the start of a line ------------------------------------------------------

    def _line_label(self, index: int, *, alone: bool = True) -> tuple[str, str, str, int, str] | None:
        """(target, label as written, value text, where the value starts, separator) or None."""
        line = self.text[index]
        if not line:
            return None
        match = self.labels.line_start.match(line)
        if match is not None:
            found = self._exact(match, index)
            if found is not None:
                return found
        found = self._generic(index)
        if found is None:
            found = self._before_wide_blank(index)
        if found is None and alone:
            found = self._label_alone(index)
        return found

    def _before_wide_blank(self, index: int) -> tuple[str, str, str, int, str] | None:
        """`登録ニックネーム<TAB>ももち`, `お住まいの都道府県　熊本`: a label, then a tab, an ideographic
        space or several blanks, then the value."""
        line = self.lines[index]
        text = line.text
        if " " not in text:
            return None  # no blank after a label
        bullets = _BULLETS_AT_START.match(text) if text[:1] in _BULLET_CHARS else None
        begin = bullets.end() if bullets else 0
        blank = text.find(" ", begin)
        if blank <= begin or blank - begin > 24 or blank + 1 >= len(text):
            return None
        source = self.raw[line.starts[blank] : line.starts[blank + 1]] if self.raw else ""
        if not ("\t" in source or "\u3000" in source or len(source) >= 3):
            return None
        label = text[begin:blank]
        target = self.labels.classify(label)
        if not target or target.startswith("compound:"):
            return None
        return target, label, text[blank + 1 :], blank + 1, ""

    def _label_alone(self, index: int) -> tuple[str, str, str, int, str] | None:
        """A short line that is only a label (`■ケータイ番号`, `ご本人氏名`), its value on the next line."""
        match = _LABEL_ALONE.match(self.text[index])
        if match is None:
            return None
        label = match.group("label").strip()
        if label.endswith(_SENTENCE_END):
            return None
        target = self.labels.classify(label)
        if not target or target.startswith("compound:"):
            return None
        nxt = index + 1
        if nxt >= len(self.text) or not self.text[nxt] or self._line_label(nxt, alone=False) is not None:
            return None
        quoted = self.text[index].startswith(">")  # a quoted FAQ line is a label, never an answer
        if not quoted and any(self._is_own_value(key, label) for key in self.rules.fields):
            return None  # `月会費コース`, `キャリア決済` on a line of their own are answers, not labels
        return target, label, "", len(self.text[index]), ""

    def _is_own_value(self, target: str, text: str) -> bool:
        definition = self.rules.fields.get(target)
        if definition is None or definition.validator not in _CLOSED_VOCABULARY:
            return False
        return isinstance(VALIDATORS[definition.validator](for_report(text), PLAIN_CONTEXT), Ok)

    def _exact(self, match: textmatch.Match[str], index: int) -> tuple[str, str, str, int, str] | None:
        line = self.text[index]
        opened, closed = bool(match.group("open")), bool(match.group("close"))
        if opened and not closed and match.group("rest")[-1:] in ("]", "】"):
            return None  # `[Payment information]`: the bracket holds a longer label
        sep = match.group("sep") or ""
        explicit = bool(sep) or (opened and closed)
        if not (explicit or not match.group("rest") or match.group("gap")):
            return None
        bare = match.group("label")
        if not explicit and len(bare) <= 2 and bare.isascii() and " " in match.group("rest"):
            return None  # `ID or password is incorrect`: a two-letter word starts a sentence
        label = match.group("label") + (match.group("hints") or "")
        rest, rest_at = match.group("rest"), match.start("rest")
        if (
            sep in _PROSE_SEPARATORS
            and match.group("gap")
            and not self._token_after(match.group("label"), rest)
        ):  # `ニックネーム　はやて`: は is the value's; `Plus member ID は E88003127 です`: it is not
            sep, rest, rest_at = "", sep + rest, match.start("sep")
        extended = False
        if not sep and rest:
            tail = _LABEL_TAIL.match(rest)
            if tail is not None:
                label += " " + tail.group("tail")
                rest, rest_at, sep = tail.group("rest"), rest_at + tail.start("rest"), ":"
                extended = True
        target = self.labels.exact(match.group("label"))
        if not target:
            return None
        if label != match.group("label") and self.labels.excluded(target, label):
            target = self.labels.classify(label)  # `パスワード(桁数)`, `Address (prefecture)`
        elif extended:
            target = self.labels.classify(label) or target  # `Member number I entered`
        if not target:
            return None
        rest_at = min(rest_at, len(line))
        return target, label, rest, rest_at, sep

    def _token_after(self, label: str, rest: str) -> bool:
        """Whether a one-token field's value (a number, an id) starts `rest` (`は E88003127 です`)."""
        definition = self.rules.fields.get(self.labels.exact(label) or "")
        if definition is None or definition.validator not in TOKEN_VALIDATORS:
            return False
        return self._shape_value(definition.key, rest.lstrip(" ")) is not None

    def _generic(self, index: int) -> tuple[str, str, str, int, str] | None:
        """Any short label before a separator (or in brackets), named by its words."""
        match = self.labels.generic.match(self.text[index])
        if match is None:
            return None
        label = match.group("blabel") or match.group("label") or ""
        sep = match.group("sep") or match.group("bsep") or match.group("dsep") or ""
        if not label.strip() or not (sep or match.group("blabel")):
            return None
        if len(label) > 40 or label.count(" ") > 6 or _DIGIT_OUTSIDE_BRACKETS.search(label):
            return None  # a label names a field; a sentence with a number in it is no label
        if label[:1] in "IW" and label.split(" ", 1)[0] in _SUBJECTS:
            return None  # `I pay through au - …`, `I can't reset my password - …`: a sentence
        if match.group("dsep") and label.startswith(("I ", "I'", "We ")):
            return None  # `I pay through au - my billing ID is …`: a sentence and a dash, no label
        target = self.labels.classify(label)
        options = match.group("opts")
        if target and options and self.labels.excluded(target, label + options):
            target = self.labels.classify(label + options)  # `Card [last 4 digits]`
        if not target:
            return None
        label += options or ""  # `Payment method [Credit card / Carrier billing]`: options are label
        return target, label.strip(), match.group("rest"), match.start("rest"), sep

    def read(self) -> None:
        index = 0
        while index < len(self.text):
            try:
                found = self._line_label(index)
            except textmatch.MatchTimeout:
                found = None
            if found is None:
                index += 1
                continue
            target, label, rest, rest_at, sep = found
            self.consumed.add(index)
            self.label_end[index] = rest_at
            value = _lead_cut(rest).strip()
            corrected = self._corrected_value(target, value) if index in self.corrections else None
            if corrected is not None:
                value = corrected
            elif sep in _PROSE_SEPARATORS:
                shaped = self._shape_value(target, value)
                value = shaped if shaped is not None else value
            value = self._cut_at_next_label(value)
            if target == CARRIER_ID and value:
                target, value, rest_at = self._named_carrier_id(value, index, rest_at)
            if value and value[-1] in _COUNT_UNIT_ENDS:
                target = self._count_of(target, value)
            if value and self._points_below(value) and self._is_value_line(index + 1):
                value = ""  # `住所は下記のとおりでございます。`: the value is on the next line
            if not value:
                bracket = _BRACKET_VALUE.fullmatch(self._hints_of(label))
                if bracket and not self._is_value_line(index + 1):
                    value = bracket.group(1)
                    rest_at = 0
            if value:
                self._emit(target, value, index, "label", label, rest_at)
                found_at = self.text[index].find(value, rest_at)
                if found_at >= 0:
                    self.inline_from[index] = found_at + len(value)
                index += 1
                continue
            index = self._take_following(target, index, label)
        self._inline_pass()

    def _named_carrier_id(self, value: str, index: int, rest_at: int) -> tuple[str, str, int]:
        """`Carrier payment info: 注文番号 A83F…`: the member names which carrier's id it is."""
        match = self.labels.line_start.match(value)
        if match is None or not match.group("rest"):
            return CARRIER_ID, value, rest_at
        named = self.labels.exact(match.group("label"))
        definition = self.rules.fields.get(named)
        if definition is None or not definition.infers_carrier:
            return CARRIER_ID, value, rest_at
        rest = match.group("rest").strip()
        at = self.text[index].find(rest, rest_at)
        return named, rest, at if at >= 0 else rest_at

    def _count_of(self, target: str, value: str) -> str:
        """`Password I entered: 10 characters`: a count of characters under a password label is the
        password's length, not the password."""
        definition = self.rules.fields.get(target)
        if (
            definition is None
            or definition.validator != "login_password"
            or not _CHARACTER_COUNT.fullmatch(value)
        ):
            return target
        for key, other in self.rules.fields.items():
            if other.validator == "password_length":
                return key
        return target

    def _points_below(self, value: str) -> bool:
        for pattern in self.rules.points_below:  # each starts with ^
            starts = textmatch.first_chars(pattern)
            if (starts is None or value[:1] in starts) and pattern.match(value):
                return True
        return False

    @staticmethod
    def _hints_of(label: str) -> str:
        at = label.find("【")
        return label[at:] if at >= 0 else ""

    def _cut_at_next_label(self, value: str) -> str:
        """`電話番号は080…、住所は千葉県…`, `Name 藤本 一輝, reading フジモト カズキ`, `maomao. Born …`:
        the first value ends where the next label or the sentence starts."""
        end = _SENTENCE_BREAK.search(value) if _may_break(value) else None
        if end is not None and "@" not in value[: end.start() + 2]:
            value = value[: end.start()]
        try:
            for match in self.labels.words(value):
                start = match.start()
                if (
                    (start > 1 and value[start - 2 : start] in (", ", "、 "))
                    or (start > 0 and value[start - 1] == "、")
                    or (  # `Kanji: 岡田 結衣 / Katakana: オカダ ユイ`
                        start > 1
                        and value[start - 2 : start] in ("/ ", "／ ")
                        and value[match.end() : match.end() + 2].lstrip(" ")[:1] == ":"
                    )
                ):
                    target = self.labels.classify(self._context(value, match))
                    if target and not target.startswith("compound:"):
                        return value[:start].rstrip("、,/／ ")
        except textmatch.MatchTimeout:
            pass
        try:
            for match in self.labels.inline_labels(value):
                start = match.start()
                if start > 0 and value[start - 1] in "、,。 " and match.group("sep"):
                    target = self.labels.exact(match.group("label"))
                    if target and self._shape_value(target, value[match.end() :]) is not None:
                        return value[:start].rstrip("、,。 ")
        except textmatch.MatchTimeout:
            pass
        return value

    def _take_following(self, target: str, index: int, label: str) -> int:
        """The value stands on the line(s) under the label."""
        nxt = index + 1
        if target.startswith("compound:"):
            compound = self.rules.compounds[int(target.split(":")[1])]
            for part in compound.fields:
                if not self._is_value_line(nxt):
                    break
                self.consumed.add(nxt)
                self._emit(part, self.text[nxt], nxt, "label", label, 0)
                nxt += 1
            return nxt
        definition = self.rules.fields.get(target)
        many = definition is not None and definition.is_list
        while self._is_value_line(nxt):
            self.consumed.add(nxt)
            self._emit(target, self.text[nxt], nxt, "label", label, 0)
            nxt += 1
            if not many:
                break
        return nxt


# English sentences start with a subject; labels never do (`I pay through au - my billing ID …`).
_SUBJECTS = frozenset({"I", "I'm", "I've", "I'd", "I'll", "We", "We're", "We've"})
_CHARACTER_COUNT = textmatch.compile(r"[0-9]{1,2}[ ]?(?:characters?|chars|letters|digits?|文字|桁)")
_COUNT_UNIT_ENDS = frozenset("sr字桁")
_SENTENCE_BREAK = textmatch.compile(r"。|[.!?][ ]+(?=[A-Z])")


def _may_break(value: str) -> bool:
    """Whether `_SENTENCE_BREAK` can match at all (it needs one of these characters)."""
    return "。" in value or "." in value or "!" in value or "?" in value


def _lead_cut(rest: str) -> str:
    """`_LATE_HINT` then `_LEAD_SEPARATOR` removed from the start of `rest`; each is tried only
    when `rest` starts with a character it must start with (a pattern call costs microseconds)."""
    if rest[:1] in ("【", "[", "("):
        rest = _LATE_HINT.sub("", rest)
    if rest[:1] in ("-", "–", "—", "→", ":", "=", "|"):
        rest = _LEAD_SEPARATOR.sub("", rest)
    return rest
