"""Labelled values: a label at the start of a line, or inside a sentence, and the value it names.

Sources, strongest first:
1. a label at the start of a line (`・氏名(漢字):山田 太郎`, `【生年月日】…`, `Phone: …`,
   `Member number I entered: …`), its value on the rest of the line, in a `【…】` right after it,
   or on the next line(s);
2. a label inside a sentence (`継続課金IDは40000001234です`, `パスワードに 19911201 を入れました`),
   where the field's shape says how far the value goes.
Labels are exact FAQ labels or any label whose words name a field (labels.py).
"""

from __future__ import annotations

import datetime as dt

from triage import textmatch
from triage.engine.fields import VALIDATORS, FieldContext, Ok
from triage.engine.labels import LabelIndex
from triage.engine.normalize import for_report
from triage.engine.result import Candidate
from triage.engine.spec import CARRIER_ID, RuleSet
from triage.engine.text import Line

_LATE_HINT = textmatch.compile(r"^(?:[【\[(][^【】\[\]()]{0,60}[】\])][ ]?[※★☆*]?[ ]?)+[:=][ ]?")
_PROSE_SEPARATORS = frozenset({"は", "って"})
_CARRIER_ID_SHAPE = textmatch.compile(r"(?P<value>[A-Za-z0-9][A-Za-z0-9 -]{4,40}[A-Za-z0-9])")
_NOT_A_VALUE_LINE = textmatch.compile(r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※]|[-=_*]{3,}|【[^】]{0,20}】$)")
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
# Fields whose values are one token (numbers, ids, addresses): they may run on to the next line.
_TOKEN_VALIDATORS = frozenset(
    {
        "phone",
        "email",
        "docomo_payment_number",
        "au_billing_id",
        "softbank_order_number",
        "plus_member_id",
        "digits_4_12",
        "login_password",
        "card_last4",
    }
)
# A building and room number alone on a line (`サンハイツ102`, `グランメゾン 3F`, `ハイツ博多301号室`).
_BUILDING_LINE = textmatch.compile(
    r"[ ]?(?P<value>[\p{Han}\p{Katakana}ー・A-Za-z][\p{Han}\p{Katakana}ー・A-Za-z ]{0,23}"
    r"[ ]?[0-9]{1,4}(?:-[0-9]{1,4})?(?:号室|号|階|F)?)[ ]?",
    name="reader.building_line",
)
_RUN_ON = textmatch.compile(r"^[0-9A-Za-z._@-]+(?=$|[^0-9A-Za-z._@-])")
_TOKENISH = textmatch.compile(r"[ ]?[0-9A-Za-z._@-]+[ -]?")
_CLOSED_VOCABULARY = frozenset({"course", "payment_method", "carrier", "prefecture"})
_SENTENCE_END = ("です", "ます", "した", "ません", "ですか", "ください", "!", "?")
_CTX = FieldContext(today=dt.date(2000, 1, 1))
_LEAD_SEPARATOR = textmatch.compile(r"^(?:[-–—][ ]|[-=]>[ ]?|[→:=|][ ]?)+")
_BRACKET_VALUE = textmatch.compile(r"[ ]?【([^【】/]{1,40})】")
# Particles between a label inside a sentence and its value (`パスワードに 1234…`, `IDが…`).
# A comma only before a number (`my member number, 9021776, and …`): `no login ID, but …` gives no value.
_INLINE_GAP = textmatch.compile(
    r"(?:(?:は|が|に|を|も)[ ]?|[ ]?(?::|=|is|was|are|were|of)[ ]?|,[ ]?(?=[0-9])|[ ])?"
)


class Reader:
    """Walks the lines once, producing candidates; knows which lines it consumed."""

    def __init__(
        self, lines: list[Line], rules: RuleSet, labels: LabelIndex, corrections: set[int], raw: str = ""
    ) -> None:
        self.raw = raw  # the member's text as written: which blank was a tab or an ideographic space
        lines = [_table_row(line) for line in lines]
        self.lines = lines
        self.text = [line.text for line in lines]
        self.rules = rules
        self.labels = labels
        self.corrections = corrections
        self.consumed: set[int] = set()
        self.inline_from: dict[
            int, int
        ] = {}  # consumed line -> where labels inside sentences may still stand
        self.label_end: dict[int, int] = {}  # line -> where its label (and the label's hints) ends
        self.candidates: list[Candidate] = []

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
        return isinstance(VALIDATORS[definition.validator](for_report(text), _CTX), Ok)

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
        if definition is None or definition.validator not in _TOKEN_VALIDATORS:
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

    def _is_value_line(self, index: int) -> bool:
        if index >= len(self.text) or not self.text[index] or self.text[index].startswith(">"):
            return False  # a quoted line is never the member's answer (readings.md 1)
        if self._line_label(index, alone=False) is not None:
            return False
        return _NOT_A_VALUE_LINE.match(self.text[index]) is None

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

    def _emit(self, target: str, value: str, index: int, source: str, cue: str, start: int) -> None:  # noqa: PLR0917
        line = self.lines[index]
        corrected = index in self.corrections
        if target.startswith("compound:"):
            compound = self.rules.compounds[int(target.split(":")[1])]
            pieces = [
                piece.strip() for piece in compound.split.split(value, maxsplit=len(compound.fields) - 1)
            ]
            at = start
            for part, piece in zip(compound.fields, pieces, strict=False):
                if piece:
                    span = line.locate(piece, at)
                    at = max(at, line.text.find(piece, at) + len(piece))
                    self.candidates.append(
                        Candidate(part, piece, index + 1, "compound", (span,) if span else (), cue, corrected)
                    )
            return
        span = line.locate(value, start)
        more, more_spans = self._continuation(target, value, index, start)
        spans: tuple[tuple[int, int], ...] = (span,) if span else ()
        wrapped = self._address_wrap(target, value, index, start)
        if wrapped is not None and span:
            # The second span runs from the end of the first over the line break: the text staff
            # see gives back the value with its one space.
            value, spans = f"{value} {wrapped[0]}", (span, (span[1], wrapped[1][1]))
        self.candidates.append(
            Candidate(target, value, index + 1, source, spans, cue, corrected, more, more_spans)
        )

    def _address_wrap(
        self, target: str, value: str, index: int, start: int
    ) -> tuple[str, tuple[int, int]] | None:
        """`住所:…相模原6-14-2` / ` サンハイツ102`: the building and room a client wrapped onto the
        next line (a line of a name and a room number, nothing else) belong to the address."""
        definition = self.rules.fields.get(target)
        nxt = index + 1
        if definition is None or definition.validator != "address" or nxt >= len(self.text):
            return None
        following = self.text[nxt]
        if not following[-1:].isdigit() and not following.endswith(("号室", "号", "階")):
            return None  # cheap: a building line ends with its room number
        line = self.text[index]
        if not line.rstrip().endswith(value) or line.find(value, start) < 0 or nxt in self.consumed:
            return None
        found = _BUILDING_LINE.fullmatch(following)
        if found is None:
            return None
        self.consumed.add(nxt)
        return found.group("value"), self.lines[nxt].span(found.start("value"), found.end("value"))

    def _shape_value(self, target: str, text: str) -> str | None:
        definition = self.rules.fields.get(target)
        shape = definition.shape if definition is not None else None
        if target == CARRIER_ID:
            shape = _CARRIER_ID_SHAPE
        if shape is None:
            return None
        try:
            match = shape.match(text)
            if (
                match is None and text[:1] in _OPENING_QUOTES
            ):  # `My login ID is "kaito_0308"`, `旧姓は「西村」`
                match = shape.match(text, 1)
        except textmatch.MatchTimeout:
            return None
        if match is None:
            return None
        value = match.group("value") if "value" in shape.groupindex else match.group(0)
        return value.strip() or None

    # --- labels inside sentences -------------------------------------------------------------

    def _inline_pass(self) -> None:
        """Labels inside sentences, on lines (or the rest of lines) no label claimed."""
        for index, line in enumerate(self.text):
            start = self.inline_from.get(index, len(line) if index in self.consumed else 0)
            if start >= len(line):
                continue
            try:
                self._inline_exact(index, line, start)
                self._inline_terms(index, line, start)
            except textmatch.MatchTimeout:
                continue

    def _inline_exact(self, index: int, line: str, start: int) -> None:
        for match in self.labels.inline_labels(line, start):
            target = self.labels.exact(match.group("label"))
            if not target or target.startswith("compound:"):
                continue
            cue = line[match.start("label") : match.end("label")]  # as written, not lower-cased
            self._inline_value(index, line, target, match.end(), cue, gap=not match.group("sep"))

    def _inline_terms(self, index: int, line: str, start: int) -> None:
        """A label word inside a sentence: the words before it (up to a pause) make the label."""
        for match in self.labels.words(line, start):
            after = line[match.end() : match.end() + 1]
            if match.end() - match.start() < 3 and after not in _SHORT_TERM_FOLLOWERS:
                continue  # `かな` inside `届かない` is no label
            context = self._context(line, match)
            hints = _HINTS_AFTER.match(line, match.end())
            end = hints.end() if hints else match.end()
            if line[end : end + 1] in (")", "）") and "(" in context:  # `呼び名(ニックネーム)は「せつこ」`
                end += 1
            begin = match.end() - len(context)
            target = self.labels.classify(line[begin:end]) or self.labels.classify(context)
            if not target or target.startswith("compound:"):
                continue
            self._inline_value(index, line, target, end, line[begin:end])

    @staticmethod
    def _context(line: str, match: textmatch.Match[str]) -> str:
        """The label around a label word: back to the last pause (Japanese), or up to four words (English)."""
        word_itself = line[match.start() : match.end()]
        if word_itself[:1].isascii():
            words: list[str] = []
            for word in reversed(line[: match.start()].rstrip().split(" ")[-4:]):
                if not word.isascii() or not word.isalpha() or word.lower() in _EN_BREAKS:
                    break
                words.insert(0, word)
            return " ".join([*words, word_itself])
        begin = max(line.rfind(mark, 0, match.start()) for mark in "、。,. 「")
        return line[begin + 1 : match.end()]

    def _inline_value(  # noqa: PLR0917
        self, index: int, line: str, target: str, at: int, cue: str, gap: bool = True
    ) -> None:
        if gap:  # `ニックネームはももち`: after the label's own は, `も` is the value's
            found = _EN_GAP.match(line, at) if cue[-1:].isascii() else None
            if found is None:
                found = _INLINE_GAP.match(line, at)
            at = found.end() if found else at
        value = self._corrected_value(target, line[at:]) if index in self.corrections else None
        if value is None:
            value = self._shape_value(target, line[at:])
        if value is None:
            phrase = _OF_PHRASE.match(line, at)  # `パスワードは生年月日の19950309`
            if phrase is not None:
                value = self._shape_value(target, line[phrase.end() :])
        more: str = ""
        more_spans: tuple[tuple[int, int], ...] = ()
        if value is None:
            value, more, more_spans = self._across_lines(target, index, at)
        else:
            more, more_spans = self._continuation(target, value, index, at)
        if value is not None:
            span = self.lines[index].locate(value, at)
            self.candidates.append(
                Candidate(
                    target,
                    value,
                    index + 1,
                    "inline",
                    (span,) if span else (),
                    cue,
                    index in self.corrections,
                    more,
                    more_spans,
                )
            )

    def _valid_alone(self, target: str, value: str) -> bool:
        if target == CARRIER_ID:  # 10 to 14 characters: docomo 12, au 11, SoftBank order numbers
            return len(value.replace(" ", "").replace("-", "")) >= 10
        definition = self.rules.fields.get(target)
        if definition is None:
            return True
        if definition.validator == "email":  # complete unless cut before or inside the domain
            return "@" in value and not value.endswith(("@", ".", "-"))
        return isinstance(VALIDATORS[definition.validator](for_report(value), _CTX), Ok)

    def _next_run(self, index: int) -> tuple[str, tuple[tuple[int, int], ...]]:
        nxt = index + 1
        if nxt >= len(self.lines):
            return "", ()
        run = _RUN_ON.match(self.text[nxt])
        if run is None:
            return "", ()
        return run.group(), (self.lines[nxt].span(0, run.end()),)

    def _continuation(
        self, target: str, value: str, index: int, start: int
    ) -> tuple[str, tuple[tuple[int, int], ...]]:
        """The next line's start, when `value` ends its line and is not valid alone."""
        definition = self.rules.fields.get(target)
        if target != CARRIER_ID and (definition is None or definition.validator not in _TOKEN_VALIDATORS):
            return "", ()
        line = self.text[index]
        at = line.find(value, start)
        if at < 0:
            return "", ()
        leftover = line[at + len(value) :]
        if leftover.strip(" -.") or self._valid_alone(target, value):
            return "", ()
        run, spans = self._next_run(index)
        if not run:
            return "", ()
        tail = leftover.strip(" ")
        if tail:
            spans = (self.lines[index].span(len(line) - len(tail), len(line)), *spans)
        return tail + run, spans

    def _across_lines(
        self, target: str, index: int, at: int
    ) -> tuple[str | None, str, tuple[tuple[int, int], ...]]:
        """`継続課金IDは62849` / `339064です`: a value whose shape only fits across the line break."""
        definition = self.rules.fields.get(target)
        rest = self.text[index][at:]
        if (
            definition is None
            or definition.validator not in _TOKEN_VALIDATORS
            or not _TOKENISH.fullmatch(rest)
        ):
            return None, "", ()
        run, spans = self._next_run(index)
        if not run:
            return None, "", ()
        joined = self._shape_value(target, rest + run)
        first = rest.strip()
        if joined is None or len(joined) <= len(first) or not joined.startswith(first):
            return None, "", ()
        return first, joined[len(first) :], spans

    def _corrected_value(self, target: str, rest: str) -> str | None:
        """`先ほどの番号は間違いで、正しくは080…`, `「ぴよこ」ではなく「ともや」`: the value after the last
        correction cue, wherever it stands after it."""
        last = -1
        for cue in self.rules.corrections:
            for found in cue.finditer(rest):
                last = max(last, found.end())
        if last < 0:
            return None
        tail = rest[last:]
        for start in range(min(len(tail), 24)):
            if start and tail[start - 1] not in ' は:、,「"':
                continue
            value = self._shape_value(target, tail[start:])
            if value is not None:
                return value
        return None


def _table_row(line: Line) -> Line:
    """`| 氏名 | 柴田 直人 |` reads as `氏名 | 柴田 直人` (a table row is a label and its value)."""
    text = line.text
    if not text.startswith("|"):
        return line
    start = 1
    end = len(text) - 1 if text.endswith("|") and len(text) > 1 else len(text)
    while start < end and text[start] == " ":
        start += 1
    while end > start and text[end - 1] == " ":
        end -= 1
    return Line(line.index, text[start:end], line.starts[start:end], line.ends[start:end])


# English sentences start with a subject; labels never do (`I pay through au - my billing ID …`).
_SUBJECTS = frozenset({"I", "I'm", "I've", "I'd", "I'll", "We", "We're", "We've"})
_CHARACTER_COUNT = textmatch.compile(r"[0-9]{1,2}[ ]?(?:characters?|chars|letters|digits?|文字|桁)")
_COUNT_UNIT_ENDS = frozenset("sr字桁")
_EN_BREAKS = frozenset({"and", "or", "but", "then", "also", "plus"})
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


_OF_PHRASE = textmatch.compile(r"[^0-9、。,.]{1,8}の[ ]?")
_SHORT_TERM_FOLLOWERS = frozenset(("は", ":", "=", " ", "(", "（", "→", "が", "も", ""))
# `My nickname on the site is emi_s`: a few words between an English label and its verb.
# `my continuous billing ID (継続課金ID) is …`: the label's own gloss in brackets may stand among the words.
_EN_GAP = textmatch.compile(
    r"[ ]?(?:[A-Za-z']+[ ]|[(（][^()（）]{1,20}[)）][ ]){0,7}?(?:is|was|are|were|:|=)[ ]",
    textmatch.IGNORECASE,
)
_OPENING_QUOTES = ("「", "『", '"', "“")
_HINTS_AFTER = textmatch.compile(r"(?:[ ]?[(（\[【][^()（）\[\]【】]{0,20}[)）\]】])+")
