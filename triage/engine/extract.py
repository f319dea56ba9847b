"""Find every field of the rule packs in the member's own text. Facts only: nothing is decided here.

The text is read line by line after a light normalisation that keeps ideographs as written
(full-width ASCII to half-width, half-width kana to full-width, dashes between digits, blanks).
Sources, strongest first:
1. a label at the start of a line (`・氏名(漢字):山田 太郎`, `【生年月日】…`, `Phone: …`), its value on the
   rest of the line, in a `【…】` right after it, or on the next line(s);
2. a label inside a sentence (`継続課金IDは40000001234です`), where the field's shape says how far
   the value goes;
3. unlabelled prose patterns of the field (`…と申します`, `…生まれです`);
4. for fields marked scan_anywhere (e-mail addresses), every occurrence in the text.
Each value is validated by the field's named validator; invalid values keep their reason.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import jaconv
import regex

from triage.engine.fields import VALIDATORS, Bad, FieldContext, Ok
from triage.engine.normalize import for_report
from triage.engine.spec import CARRIER_ID, CARRIER_ID_FIELDS, RuleSet

PATTERN_TIMEOUT = 0.05  # seconds per pattern per mail (parsing.md §8)

_INVISIBLE = dict.fromkeys(map(ord, "\x00\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70\u2500\u2501-"
_DIGIT_DASH = regex.compile(rf"(?<=[0-9])[ ]?[{_DASHES}][ ]?(?=[0-9])")
_BLANKS = regex.compile(r"[ \t\u3000\u00a0]+")
_BULLETS = r"(?:[・･•●○◆◇■□▼▽▲△◎★☆※*+\-−>＞»〇◯]|[0-9]{1,2}[.)]|\([0-9]{1,2}\))"
_EMAIL_TOKEN = regex.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_OPEN = "【[<(「『"
_CLOSE = "】]>)」』"


def light_normalise(line: str) -> str:
    """Width and dash folding that never touches an ideograph (fields.md global normalisation)."""
    text = line.translate(_INVISIBLE).replace("\u301c", "~").replace("\uff5e", "~")
    text = regex.sub(r"^[ \t\u3000]*[\u2460-\u2473\u2776-\u277f\u2780-\u2793]+", "", text)  # ① as a bullet
    text = regex.sub(r"[\u2460-\u2473]", lambda m: f" {unicodedata.numeric(m.group()):.0f} ", text)
    text = "".join(chr(ord(ch) - 0xFEE0) if 0xFF01 <= ord(ch) <= 0xFF5E else ch for ch in text)
    if any(0xFF61 <= ord(ch) <= 0xFF9F for ch in text):
        text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    text = _DIGIT_DASH.sub("-", text)
    return _BLANKS.sub(" ", text).strip()


@dataclass(frozen=True)
class Found:
    field: str
    value: str | int
    written: str  # the value as written, after the global normalisation
    line: int  # 1-based line of the member's own text
    source: str  # "label", "inline", "prose", "scan", "compound", "inferred"
    suggestion: str | None = None


@dataclass(frozen=True)
class Invalid:
    field: str
    written: str
    reason_ja: str
    reason_en: str
    line: int
    suggestion: str | None = None


@dataclass
class Extraction:
    found: dict[str, list[Found]] = field(default_factory=dict)
    invalid: list[Invalid] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)

    def has_valid(self, key: str) -> bool:
        return bool(self.found.get(key))

    def has_invalid(self, key: str) -> bool:
        return any(item.field == key for item in self.invalid)

    def value(self, key: str) -> str | int | list[str] | None:
        items = self.found.get(key)
        if not items:
            return None
        if key == "emails":
            return [str(item.value) for item in items]
        return items[0].value

    def fields_json(self, order: Iterable[str]) -> dict[str, str | int | list[str]]:
        out: dict[str, str | int | list[str]] = {}
        for key in order:
            value = self.value(key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class _Candidate:
    target: str  # a field key, or CARRIER_ID
    text: str
    line: int
    source: str


@dataclass
class _Labels:
    line_start: regex.Pattern[str]
    inline: regex.Pattern[str]
    targets: dict[str, str]  # normalised label -> field key / CARRIER_ID / "compound:N"


def _label_key(label: str) -> str:
    return light_normalise(label).casefold()


def _alternation(labels: Iterable[str]) -> str:
    ordered = sorted({light_normalise(label) for label in labels}, key=len, reverse=True)
    parts = []
    for label in ordered:
        escaped = regex.escape(label).replace(r"\ ", "[ ]?")
        if label[-1:].isascii() and label[-1:].isalnum():
            escaped += r"(?![A-Za-z0-9])"
        parts.append(escaped)
    return "|".join(parts)


def _build_labels(rules: RuleSet, mailbox: str | None) -> _Labels:
    targets: dict[str, str] = {}
    for key, definition in rules.fields.items():
        for label in definition.labels:
            targets.setdefault(_label_key(label), key)
    for label in rules.carrier_id_labels:
        targets.setdefault(_label_key(label), CARRIER_ID)
    for index, compound in enumerate(rules.compounds):
        for label in compound.labels:
            targets[_label_key(label)] = f"compound:{index}"
    if mailbox is not None and mailbox in rules.packs:
        for key, labels in rules.packs[mailbox].labels.items():
            for label in labels:
                targets[_label_key(label)] = key  # the mailbox's own FAQ wording wins
    alternation = _alternation(targets)
    hint = r"(?:[ ]?(?:[(\[【<][^()\[\]【】<>]{0,40}[)\]】>]|[※★☆*][0-9]?|[0-9]{1,2}桁))"
    line_start = regex.compile(
        rf"^(?:{_BULLETS}[ ]?)*(?P<open>[【\[<])?[ ]?(?P<label>{alternation})(?P<close>[】\]>])?"
        rf"(?P<hints>{hint}*)(?P<gap>[ ]?)(?P<sep>[:=→⇒>|]|は|って)?[ ]?(?P<rest>.*)$",
        regex.IGNORECASE | regex.VERSION1,
    )
    # Tried at every position of a line: a look-ahead on the labels' first characters lets the
    # engine skip most positions without walking the whole alternation (5x on long lines).
    firsts = {light_normalise(label)[:1] for label in targets}
    first_chars = "".join(sorted({c for f in firsts if f for c in (f.lower(), f.upper())}))
    inline = regex.compile(
        rf"(?=[{regex.escape(first_chars)}])"
        rf"(?P<label>{alternation})(?P<hints>{hint}*)[ ]?(?P<sep>は|:|=)?[ ]?",
        regex.IGNORECASE | regex.VERSION1,
    )
    return _Labels(line_start, inline, targets)


_LABEL_CACHE: dict[tuple[int, str | None], _Labels] = {}


def _labels_for(rules: RuleSet, mailbox: str | None) -> _Labels:
    key = (id(rules), mailbox)
    cached = _LABEL_CACHE.get(key)
    if cached is None:
        cached = _build_labels(rules, mailbox)
        _LABEL_CACHE[key] = cached
    return cached


class _Reader:
    """Walks the lines once, producing candidates; knows which lines it consumed."""

    def __init__(self, lines: list[str], rules: RuleSet, labels: _Labels, timeouts: list[str]) -> None:
        self.lines = lines
        self.rules = rules
        self.labels = labels
        self.timeouts = timeouts
        self.consumed: set[int] = set()
        self.inline_from: dict[
            int, int
        ] = {}  # consumed line -> where labels inside sentences may still stand
        self.candidates: list[_Candidate] = []

    def _target(self, label: str) -> str:
        return self.labels.targets.get(label.casefold(), self.labels.targets.get(_label_key(label), ""))

    def _line_label(self, index: int) -> regex.Match[str] | None:
        line = self.lines[index]
        if not line:
            return None
        match = self.labels.line_start.match(line, timeout=PATTERN_TIMEOUT)
        if match is None:
            return None
        opened, closed = bool(match.group("open")), bool(match.group("close"))
        explicit = bool(match.group("sep")) or (opened and closed)
        if explicit or not match.group("rest") or match.group("gap"):
            return match
        return None

    def _is_value_line(self, index: int) -> bool:
        if index >= len(self.lines) or not self.lines[index]:
            return False
        if self._line_label(index) is not None:
            return False
        return not regex.match(r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※]|[-=_*]{3,}|【[^】]{0,20}】$)", self.lines[index])

    def read(self) -> None:
        index = 0
        while index < len(self.lines):
            match = self._safe(lambda i=index: self._line_label(i))
            if match is None:
                index += 1
                continue
            target = self._target(match.group("label"))
            if not target:
                index += 1
                continue
            self.consumed.add(index)
            value = _LATE_HINT.sub("", match.group("rest")).strip()
            if match.group("sep") in _PROSE_SEPARATORS:
                shaped = self._shape_value(target, value)
                value = shaped if shaped is not None else value
            value = self._cut_at_next_label(value, index)
            hints = match.group("hints") or ""
            if not value:
                bracket = regex.fullmatch(r"[ ]?【([^【】/]{1,40})】", hints)
                if bracket and not self._is_value_line(index + 1):
                    value = bracket.group(1)
            if value:
                self._emit(target, value, index, "label")
                found_at = self.lines[index].find(value, match.start("rest"))
                if found_at >= 0:
                    self.inline_from[index] = found_at + len(value)
                index += 1
                continue
            index = self._take_following(target, index)
        self._inline_pass()

    def _safe(self, call: object) -> regex.Match[str] | None:
        try:
            return call()  # type: ignore[operator, no-any-return]
        except TimeoutError:
            self.timeouts.append("label")
            return None

    def _cut_at_next_label(self, value: str, index: int) -> str:
        """`電話番号は080…、住所は千葉県…`: the first value ends where the next label starts."""
        try:
            for match in self.labels.inline.finditer(value, timeout=PATTERN_TIMEOUT):
                start = match.start()
                if start > 0 and value[start - 1] in "、,。 " and match.group("sep"):
                    target = self._target(match.group("label"))
                    if target and self._shape_value(target, value[match.end() :]) is not None:
                        return value[:start].rstrip("、,。 ")
        except TimeoutError:
            self.timeouts.append("inline")
        return value

    def _take_following(self, target: str, index: int) -> int:
        """The value stands on the line(s) under the label."""
        nxt = index + 1
        if target.startswith("compound:"):
            compound = self.rules.compounds[int(target.split(":")[1])]
            for part in compound.fields:
                if not self._is_value_line(nxt):
                    break
                self.consumed.add(nxt)
                self._emit(part, self.lines[nxt], nxt, "label")
                nxt += 1
            return nxt
        definition = self.rules.fields.get(target)
        many = definition is not None and definition.is_list
        while self._is_value_line(nxt):
            self.consumed.add(nxt)
            self._emit(target, self.lines[nxt], nxt, "label")
            nxt += 1
            if not many:
                break
        return nxt

    def _emit(self, target: str, value: str, index: int, source: str) -> None:
        if target.startswith("compound:"):
            compound = self.rules.compounds[int(target.split(":")[1])]
            pieces = [
                piece.strip() for piece in compound.split.split(value, maxsplit=len(compound.fields) - 1)
            ]
            for part, piece in zip(compound.fields, pieces, strict=False):
                if piece:
                    self.candidates.append(_Candidate(part, piece, index + 1, "compound"))
            return
        self.candidates.append(_Candidate(target, value, index + 1, source))

    def _shape_value(self, target: str, text: str) -> str | None:
        definition = self.rules.fields.get(target)
        shape = definition.shape if definition is not None else None
        if target == CARRIER_ID:
            shape = _CARRIER_ID_SHAPE
        if shape is None:
            return None
        try:
            match = shape.match(text, timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            self.timeouts.append(f"shape:{target}")
            return None
        if match is None:
            return None
        value = match.group("value") if "value" in shape.groupindex else match.group(0)
        return value.strip() or None

    def _inline_pass(self) -> None:
        """Labels inside sentences, on lines no label claimed."""
        for index, line in enumerate(self.lines):
            start = self.inline_from.get(index, len(line) if index in self.consumed else 0)
            if start >= len(line):
                continue
            try:
                matches = list(self.labels.inline.finditer(line, start, timeout=PATTERN_TIMEOUT))
            except TimeoutError:
                self.timeouts.append("inline")
                continue
            for match in matches:
                target = self._target(match.group("label"))
                if not target or target.startswith("compound:"):
                    continue
                value = self._shape_value(target, line[match.end() :])
                if value is not None:
                    self.candidates.append(_Candidate(target, value, index + 1, "inline"))


_LATE_HINT = regex.compile(r"^(?:[【\[(][^【】\[\]()]{0,40}[】\])][ ]?[※★☆*]?[ ]?)+[:=][ ]?")
_PROSE_SEPARATORS = frozenset({"は", "って"})
_CARRIER_ID_SHAPE = regex.compile(r"(?P<value>[A-Za-z0-9][A-Za-z0-9 -]{4,40}[A-Za-z0-9])")


def _prose(lines: list[str], consumed: set[int], rules: RuleSet, timeouts: list[str]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for key, definition in rules.fields.items():
        for pattern in definition.prose:
            for index, line in enumerate(lines):
                if index in consumed or not line:
                    continue
                try:
                    for match in pattern.finditer(line, timeout=PATTERN_TIMEOUT):
                        out.append(_Candidate(key, match.group("value"), index + 1, "prose"))
                except TimeoutError:
                    timeouts.append(f"prose:{key}")
                    break
    return out


def _scan_emails(lines: list[str], timeouts: list[str]) -> list[_Candidate]:
    out = []
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        try:
            for match in _EMAIL_TOKEN.finditer(line, timeout=PATTERN_TIMEOUT):
                out.append(_Candidate("emails", match.group(0), index + 1, "scan"))
        except TimeoutError:
            timeouts.append("scan:emails")
    return out


def _email_pieces(text: str) -> list[str]:
    """A labelled e-mail value: the addresses in it, or the whole value when none parses."""
    out: list[str] = []
    for piece in regex.split(r"[ 、,;/](?=[^ ]*@)", text):
        tokens = _EMAIL_TOKEN.findall(piece)
        if tokens:
            out += tokens
        elif "@" in piece:
            out.append(piece.strip())  # a broken address beside good ones is still reported
    return out or [text]


class _Collector:
    def __init__(self, rules: RuleSet, ctx: FieldContext, extraction: Extraction) -> None:
        self.rules = rules
        self.ctx = ctx
        self.out = extraction

    def validate(self, key: str, text: str, line: int, source: str) -> None:
        definition = self.rules.fields.get(key)
        if definition is None:
            return
        validator = VALIDATORS[definition.validator]
        written = for_report(text, keep_punctuation=definition.validator == "edge_chars")
        if not written:
            return
        result = validator(written, self.ctx)
        if result is None:
            return
        if isinstance(result, Ok):
            values = result.value if isinstance(result.value, list) else [result.value]
            bucket = self.out.found.setdefault(key, [])
            for value in values:
                if any(existing.value == value for existing in bucket):
                    continue
                if bucket and not definition.is_list:
                    return  # first valid value of a single field stands
                bucket.append(Found(key, value, written, line, source, result.suggestion))
            return
        assert isinstance(result, Bad)
        if any(item.field == key and item.written == written for item in self.out.invalid):
            return
        self.out.invalid.append(
            Invalid(key, written, result.reason_ja, result.reason_en, line, result.suggestion)
        )


def extract(
    text: str,
    rules: RuleSet,
    *,
    today: dt.date,
    our_local_parts: frozenset[str] = frozenset(),
    mailbox: str | None = None,
) -> Extraction:
    lines = [light_normalise(line) for line in text.split("\n")]
    extraction = Extraction()
    reader = _Reader(lines, rules, _labels_for(rules, mailbox), extraction.timeouts)
    reader.read()
    candidates = reader.candidates + _prose(lines, reader.consumed, rules, extraction.timeouts)
    scanned = [key for key, definition in rules.fields.items() if definition.scan_anywhere]
    if "emails" in scanned:
        candidates += _scan_emails(lines, extraction.timeouts)
    order = {"label": 0, "compound": 0, "inline": 1, "prose": 2, "scan": 3}
    candidates.sort(key=lambda item: (order.get(item.source, 9), item.line))
    ctx = FieldContext(today=today, our_local_parts=our_local_parts)
    collector = _Collector(rules, ctx, extraction)
    # The phone first: the au rule compares the billing id with the member's own phone.
    for candidate in candidates:
        if candidate.target == "phone":
            collector.validate("phone", candidate.text, candidate.line, candidate.source)
    phone = extraction.value("phone")
    collector.ctx = FieldContext(
        today=today, member_phone=str(phone) if phone else None, our_local_parts=our_local_parts
    )
    deferred: list[_Candidate] = []
    for candidate in candidates:
        if candidate.target in ("phone",):
            continue
        if candidate.target == CARRIER_ID:
            deferred.append(candidate)
            continue
        if candidate.target == "emails" and candidate.source != "scan":
            for piece in _email_pieces(candidate.text):
                collector.validate("emails", piece, candidate.line, candidate.source)
            continue
        collector.validate(candidate.target, candidate.text, candidate.line, candidate.source)
    _derive(extraction, rules, collector)
    _emails_in_order(extraction)
    _infer_carrier(extraction, rules, collector)
    _resolve_carrier_ids(extraction, deferred, collector)
    _imply_payment(extraction)
    # decisions.md: an invalid candidate of a single-valued field is reported only when no valid
    # value was found (a list keeps every invalid one: a bad e-mail may be the registered address).
    extraction.invalid = [
        item
        for item in extraction.invalid
        if not extraction.has_valid(item.field)
        or (item.field in rules.fields and rules.fields[item.field].is_list)
    ]
    return extraction


def _derive(extraction: Extraction, rules: RuleSet, collector: _Collector) -> None:
    """Fields read out of another field's value when not given themselves (prefecture <- address)."""
    for key, definition in rules.fields.items():
        source = definition.derive_from
        if source is None or extraction.has_valid(key) or extraction.has_invalid(key):
            continue
        for item in extraction.found.get(source, []):
            validator = VALIDATORS[definition.validator]
            result = validator(item.written, collector.ctx)
            if isinstance(result, Ok) and not isinstance(result.value, list):
                extraction.found[key] = [Found(key, result.value, item.written, item.line, "derived")]
                break


def _emails_in_order(extraction: Extraction) -> None:
    """E-mails are listed in order of first appearance in the text, whatever found them."""
    items = extraction.found.get("emails")
    if items:
        items.sort(key=lambda item: item.line)


def _carrier_from_words(text: str, collector: _Collector) -> str | None:
    result = VALIDATORS["carrier"](for_report(text), collector.ctx)
    return str(result.value) if isinstance(result, Ok) else None


def _infer_carrier(extraction: Extraction, rules: RuleSet, collector: _Collector) -> None:
    """A carrier named in the payment method (auかんたん決済, d払い), else from exactly one labelled id."""
    if extraction.has_valid("carrier"):
        return
    for item in extraction.found.get("payment_method", []):
        carrier = _carrier_from_words(item.written, collector)
        if carrier:
            extraction.found["carrier"] = [Found("carrier", carrier, item.written, item.line, "inferred")]
            return
    by_label: set[str] = set()
    for key, definition in rules.fields.items():
        if definition.infers_carrier and (extraction.has_valid(key) or extraction.has_invalid(key)):
            by_label.add(definition.infers_carrier)
    if len(by_label) == 1:
        carrier = by_label.pop()
        key = CARRIER_ID_FIELDS[carrier]
        line = extraction.found[key][0].line if extraction.has_valid(key) else 0
        extraction.found["carrier"] = [Found("carrier", carrier, carrier, line, "inferred")]


def _resolve_carrier_ids(extraction: Extraction, deferred: list[_Candidate], collector: _Collector) -> None:
    """A value under a generic label (決済情報) belongs to the field of the member's carrier."""
    carrier = extraction.value("carrier")
    for candidate in deferred:
        text = candidate.text
        specific = regex.match(r"^(注文番号|継続課金ID|決済番号)[ ]?[:]?[ ]?(.+)$", text, regex.IGNORECASE)
        if specific:
            key = {
                "注文番号": "softbank_order_number",
                "継続課金id": "au_billing_id",
                "決済番号": "docomo_payment_number",
            }[specific.group(1).casefold()]
            collector.validate(key, specific.group(2), candidate.line, candidate.source)
            if not extraction.has_valid("carrier"):
                _infer_carrier(extraction, collector.rules, collector)
            continue
        if isinstance(carrier, str) and carrier in CARRIER_ID_FIELDS:
            collector.validate(CARRIER_ID_FIELDS[carrier], text, candidate.line, candidate.source)


def _imply_payment(extraction: Extraction) -> None:
    """A carrier, named or inferred, implies payment by carrier (product.md)."""
    if extraction.has_valid("carrier") and not extraction.has_valid("payment_method"):
        item = extraction.found["carrier"][0]
        extraction.found["payment_method"] = [
            Found("payment_method", "carrier", item.written, item.line, "inferred")
        ]
