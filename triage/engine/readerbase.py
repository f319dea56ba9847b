"""The reader's state, and what labels at the start of a line and inside a sentence share: how a
value is emitted with its spans, shaped, and followed onto the next lines (reader.py reads labels
at the start of a line, inline.py labels inside sentences)."""

from __future__ import annotations

import datetime as dt

from triage import textmatch
from triage.engine.fields import VALIDATORS, FieldContext, Ok
from triage.engine.labels import LabelIndex
from triage.engine.normalize import for_report
from triage.engine.result import Candidate
from triage.engine.spec import CARRIER_ID, RuleSet
from triage.engine.text import Line

_CARRIER_ID_SHAPE = textmatch.compile(r"(?P<value>[A-Za-z0-9][A-Za-z0-9 -]{4,40}[A-Za-z0-9])")
_NOT_A_VALUE_LINE = textmatch.compile(r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※]|[-=_*]{3,}|【[^】]{0,20}】$)")
# Fields whose values are one token (numbers, ids, addresses): they may run on to the next line.
TOKEN_VALIDATORS = frozenset(
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
PLAIN_CONTEXT = FieldContext(today=dt.date(2000, 1, 1))
_OPENING_QUOTES = ("「", "『", '"', "“")


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


class ReaderBase:
    """The lines, the candidates found so far, which lines are consumed; values and their spans."""

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

    def _is_value_line(self, index: int) -> bool:
        if index >= len(self.text) or not self.text[index] or self.text[index].startswith(">"):
            return False  # a quoted line is never the member's answer (readings.md 1)
        if self._line_label(index, alone=False) is not None:
            return False
        return _NOT_A_VALUE_LINE.match(self.text[index]) is None

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

    def _valid_alone(self, target: str, value: str) -> bool:
        if target == CARRIER_ID:  # 10 to 14 characters: docomo 12, au 11, SoftBank order numbers
            return len(value.replace(" ", "").replace("-", "")) >= 10
        definition = self.rules.fields.get(target)
        if definition is None:
            return True
        if definition.validator == "email":  # complete unless cut before or inside the domain
            return "@" in value and not value.endswith(("@", ".", "-"))
        return isinstance(VALIDATORS[definition.validator](for_report(value), PLAIN_CONTEXT), Ok)

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
        if target != CARRIER_ID and (definition is None or definition.validator not in TOKEN_VALIDATORS):
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
            or definition.validator not in TOKEN_VALIDATORS
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

    def _line_label(self, index: int, *, alone: bool = True) -> tuple[str, str, str, int, str] | None:
        raise NotImplementedError  # Reader's: a label at the start of a line
