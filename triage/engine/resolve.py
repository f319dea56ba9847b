"""One resolver per field: choose among the candidates, validate, and record why.

Candidates are taken strongest first: a value on a line that corrects an earlier one
(readings.md 7), then by source (label, inline, prose, scan), then in the order written. For each:
an answer saying the member does not have or know the value is "not given" (readings.md 8); a
statement that does not fit the field is dropped (10); the first valid value of a single field
stands and later ones are "outranked"; a list field (e-mails) keeps every valid value. An invalid
value is reported only when no valid one was found (a list keeps every invalid one).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import replace

from triage import textmatch
from triage.engine.emails import broken_tail
from triage.engine.fields import VALIDATORS, Bad, FieldContext, Ok
from triage.engine.normalize import for_report
from triage.engine.result import SOURCE_RANK, Candidate, Considered, Extraction, Found, Invalid
from triage.engine.spec import CARRIER_ID, CARRIER_ID_FIELDS, RuleSet
from triage.engine.text import Line

_SPECIFIC_ID = textmatch.compile(r"^(注文番号|継続課金ID|決済番号)[ ]?[:]?[ ]?(.+)$", textmatch.IGNORECASE)
_SPECIFIC_FIELD = {
    "注文番号": "softbank_order_number",
    "継続課金id": "au_billing_id",
    "決済番号": "docomo_payment_number",
}
_EMAIL_SPLIT = textmatch.compile(r"[ ]*[、,;/][ ]*(?=[^、,;/]*@)|(?<=@[^ 、,;/]*)[ ]+(?=[^ ]*@)")
_SPACE_INSIDE = textmatch.compile(r"[A-Za-z0-9._%+\-]*[A-Za-z0-9][A-Za-z0-9._%+\-]* [A-Za-z0-9._%+\-]+@[^ ]+")
_EMAIL_TOKEN = textmatch.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


_AS_WRITTEN = frozenset({"edge_chars"})
# Emoji and other symbols beside a value are not part of it (carrier emoji decode to private use
# or to Unicode emoji; a broken one to U+FFFD), nor is a sentence's full stop after it.
_SYMBOL = r"(?:[0-9#*]\uFE0F?\u20E3|[\p{Extended_Pictographic}\p{Co}\uFFFD\uFE0F\u200D\u20E3 ])+"
_SYMBOLS = textmatch.compile(rf"^{_SYMBOL}|{_SYMBOL}$")
_FULL_STOP = textmatch.compile(r"(?<=[^.\s])[.](?=$)")


def _clean(text: str) -> str:
    if _may_have_symbols(text):
        text = _SYMBOLS.sub("", text)
    text = text.strip()
    return _FULL_STOP.sub("", text) if "@" not in text and "." in text else text


def _plain_edge(ch: str) -> bool:
    """A character `_SYMBOL` never matches, nor starts a keycap (an ASCII letter or sign, kana, a
    CJK ideograph, full-width ASCII): tests/engine/test_fast_paths.py checks every one."""
    code = ord(ch)
    return (
        (code < 0x80 and ch not in "0123456789#* \n")
        or 0x3041 <= code <= 0x30FF
        or 0x4E00 <= code <= 0x9FFF
        or 0xFF01 <= code <= 0xFF5E
    )


def _may_have_symbols(text: str) -> bool:
    """False when `_SYMBOLS` surely matches nowhere: it only matches at either end of the text."""
    if not text:
        return False
    first = text[0]
    starts_plain = _plain_edge(first) or (first in "0123456789#*" and text[1:2] not in ("\ufe0f", "\u20e3"))
    return not (starts_plain and _plain_edge(text[-1]))


def rank(candidate: Candidate) -> tuple[int, int, int]:
    return (0 if candidate.corrected else 1, SOURCE_RANK.get(candidate.source, 9), candidate.line)


class Resolver:
    def __init__(
        self, rules: RuleSet, ctx: FieldContext, extraction: Extraction, lines: list[Line] | None = None
    ) -> None:
        self.lines = lines or []
        self.rules = rules
        self.ctx = ctx
        self.out = extraction

    def _note(self, key: str, candidate: Candidate, written: str, outcome: str, why: str) -> None:
        self.out.considered.append(
            Considered(
                key, written, candidate.source, candidate.line, candidate.spans, candidate.cue, outcome, why
            )
        )

    def not_given(self, text: str) -> bool:
        pattern = textmatch.any_of(self.rules.not_given, name="not_given")
        if pattern is None:
            return False
        try:
            return pattern.search(text) is not None
        except textmatch.MatchTimeout:
            return False

    def _narrow(self, candidate: Candidate, written: str) -> tuple[int, int]:
        """The part of the candidate's span where the value itself stands (an address among several,
        a value without the emoji or full stop beside it)."""
        start, end = candidate.spans[0]
        index = candidate.line - 1
        if not 0 <= index < len(self.lines):
            return (start, end)
        line = self.lines[index]
        # Offsets only grow along a line: the characters inside the span are one run.
        first = bisect.bisect_left(line.starts, start)
        last = bisect.bisect_right(line.ends, end)
        if first >= last:
            return (start, end)
        region = line.text[first:last]
        at = region.find(written)
        if at < 0:
            at = region.lower().find(written.lower())
        if at < 0:
            return (start, end)
        return line.span(first + at, first + at + len(written))

    def take(self, key: str, candidate: Candidate, text: str | None = None) -> None:
        definition = self.rules.fields.get(key)
        if definition is None:
            return
        raw = candidate.text if text is None else text
        if definition.validator not in _AS_WRITTEN:
            raw = _clean(raw)
        written = for_report(raw, keep_punctuation=definition.validator == "edge_chars")
        if not written:
            return
        if definition.hedges and self.not_given(written):
            self._note(
                key, candidate, written, "not_given", "the answer says the member does not have or know it"
            )
            return
        result = VALIDATORS[definition.validator](written, self.ctx)
        if candidate.more and not isinstance(result, Ok):
            joined = for_report(raw + candidate.more)
            longer = VALIDATORS[definition.validator](joined, self.ctx)
            if isinstance(longer, Ok):  # the value runs on past a line break (two spans)
                written, result = joined, longer
                candidate = replace(candidate, spans=candidate.spans + candidate.more_spans)
        if len(candidate.spans) == 1 and self.lines:
            narrowed = self._narrow(candidate, written)
            if narrowed != candidate.spans[0]:  # a new candidate only when the span changes
                candidate = replace(candidate, spans=(narrowed,))
        if result is None:
            self._note(key, candidate, written, "not_given", "a placeholder answer (なし, 不明, none …)")
            return
        if isinstance(result, Ok):
            values = result.value if isinstance(result.value, list) else [result.value]
            bucket = self.out.found.setdefault(key, [])
            for value in values:
                if any(existing.value == value for existing in bucket):
                    self._note(key, candidate, written, "duplicate", "the same value was already found")
                    continue
                if bucket and not definition.is_list:
                    self._note(
                        key, candidate, written, "outranked", f"{_describe(bucket[0])} was taken first"
                    )
                    return
                bucket.append(
                    Found(
                        key,
                        value,
                        written,
                        candidate.line,
                        candidate.source,
                        result.suggestion,
                        candidate.spans,
                        candidate.cue,
                    )
                )
                self._note(key, candidate, written, "added" if len(bucket) > 1 else "chosen", _why(candidate))
            return
        assert isinstance(result, Bad)
        if candidate.source in ("prose", "scan") and key != "emails":
            self._note(
                key,
                candidate,
                written,
                "not_its_shape",
                f"a statement that is not a valid value: {result.reason_en}",
            )
            return
        if any(item.field == key and item.written == written for item in self.out.invalid):
            self._note(key, candidate, written, "duplicate", "the same invalid value was already found")
            return
        self.out.invalid.append(
            Invalid(
                key,
                written,
                result.reason_ja,
                result.reason_en,
                candidate.line,
                result.suggestion,
                candidate.spans,
                candidate.source,
            )
        )
        self._note(key, candidate, written, "invalid", result.reason_en)

    def take_emails(self, candidate: Candidate) -> None:
        """A labelled e-mail value: each address in it; a broken one is one invalid address."""
        pieces = [piece.strip() for piece in _EMAIL_SPLIT.split(candidate.text) if piece.strip()]
        with_at = [piece for piece in pieces if "@" in piece]
        if not with_at:
            self.take("emails", candidate)
            return
        for piece in with_at:
            tokens = _EMAIL_TOKEN.findall(piece)
            if not tokens or _SPACE_INSIDE.fullmatch(piece):
                self.take("emails", candidate, piece)  # `risa 0228@gmail.com` is one broken address
                continue
            for match in _EMAIL_TOKEN.finditer(piece):
                self.take("emails", candidate, piece[match.start() : broken_tail(piece, match.end())])


def _describe(found: Found) -> str:
    return f"{found.source} value on line {found.line}"


def _why(candidate: Candidate) -> str:
    where = {
        "label": "after its label",
        "compound": "in a label naming several fields",
        "split": "beside the other half of the name on one line",
        "inline": "after its label inside a sentence",
        "prose": "stated in a sentence",
        "scan": "an address in the member's text",
    }.get(candidate.source, candidate.source)
    first = "a correction in the mail, " if candidate.corrected else ""
    return f"{first}{where}" + (f" ({candidate.cue})" if candidate.cue else "")


def resolve(
    candidates: list[Candidate],
    rules: RuleSet,
    *,
    today: dt.date,
    our_local_parts: frozenset[str],
    lines: list[Line] | None = None,
) -> Extraction:
    extraction = Extraction()
    ordered = sorted(candidates, key=rank)
    resolver = Resolver(rules, FieldContext(today=today, our_local_parts=our_local_parts), extraction, lines)
    # The phone first: the au rule compares the billing id with the member's own phone.
    for candidate in ordered:
        if candidate.target == "phone":
            resolver.take("phone", candidate)
    phone = extraction.value("phone")
    resolver.ctx = FieldContext(
        today=today, member_phone=str(phone) if phone else None, our_local_parts=our_local_parts
    )
    ordered = _withdraw_corrected(ordered, rules, resolver)
    deferred: list[Candidate] = []
    for candidate in ordered:
        if candidate.target == "phone":
            continue
        if candidate.target == CARRIER_ID:
            deferred.append(candidate)
        elif candidate.target == "emails" and candidate.source != "scan":
            resolver.take_emails(candidate)
        else:
            resolver.take(candidate.target, candidate)
    _derive(extraction, rules, resolver)
    _emails_in_order(extraction)
    _infer_carrier(extraction, rules, resolver)
    _resolve_carrier_ids(extraction, deferred, resolver)
    _imply_payment(extraction)
    kept = []
    for item in extraction.invalid:
        is_list = item.field in rules.fields and rules.fields[item.field].is_list
        if extraction.has_valid(item.field) and not is_list:
            continue
        kept.append(item)
    extraction.invalid = kept
    return extraction


def _withdraw_corrected(ordered: list[Candidate], rules: RuleSet, resolver: Resolver) -> list[Candidate]:
    """A list value corrected in the same mail replaces the one it corrects (`the correct email is …`):
    an earlier value within two typing slips of a corrected one is withdrawn."""
    kept = []
    for candidate in ordered:
        definition = rules.fields.get(candidate.target)
        if definition is not None and definition.is_list and not candidate.corrected:
            fixed = [
                other
                for other in ordered
                if other.target == candidate.target and other.corrected and other.text != candidate.text
            ]
            if any(_slips(_address_of(candidate.text), _address_of(other.text)) <= 2 for other in fixed):
                resolver._note(
                    candidate.target, candidate, candidate.text, "withdrawn", "corrected later in the mail"
                )
                continue
        kept.append(candidate)
    return kept


def _address_of(text: str) -> str:
    """The address in a labelled value (`mai@yahoo.co,jp です` -> `mai@yahoo.co,jp`): its one word
    with `@`."""
    words = [word for word in text.split() if "@" in word]
    return words[0].strip("「」『』()（）<>\"'") if len(words) == 1 else text


def _slips(a: str, b: str) -> int:
    """Edit distance, capped: only small differences matter here."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _derive(extraction: Extraction, rules: RuleSet, resolver: Resolver) -> None:
    """Fields read out of another field's value when not given themselves (prefecture <- address)."""
    for key, definition in rules.fields.items():
        source = definition.derive_from
        if source is None or extraction.has_valid(key) or extraction.has_invalid(key):
            continue
        for item in extraction.found.get(source, []):
            result = VALIDATORS[definition.validator](item.written, resolver.ctx)
            if isinstance(result, Ok) and not isinstance(result.value, list):
                extraction.found[key] = [
                    Found(key, result.value, item.written, item.line, "derived", None, item.spans, source)
                ]
                break


def _emails_in_order(extraction: Extraction) -> None:
    """E-mails are listed in order of first appearance in the text, whatever found them."""
    items = extraction.found.get("emails")
    if items:
        items.sort(key=lambda item: (item.spans[0][0] if item.spans else 0, item.line))


def _carrier_from_words(text: str, resolver: Resolver) -> str | None:
    result = VALIDATORS["carrier"](for_report(text), resolver.ctx)
    return str(result.value) if isinstance(result, Ok) else None


def _infer_carrier(extraction: Extraction, rules: RuleSet, resolver: Resolver) -> None:
    """A carrier named in the payment method (auかんたん決済, d払い), else from exactly one labelled id."""
    if extraction.has_valid("carrier"):
        return
    for item in extraction.found.get("payment_method", []):
        carrier = _carrier_from_words(item.written, resolver)
        if carrier:
            extraction.found["carrier"] = [
                Found("carrier", carrier, item.written, item.line, "inferred", None, item.spans)
            ]
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


def _resolve_carrier_ids(extraction: Extraction, deferred: list[Candidate], resolver: Resolver) -> None:
    """A value under a generic label (決済情報) belongs to the field of the member's carrier."""
    carrier = extraction.value("carrier")
    for candidate in deferred:
        specific = _SPECIFIC_ID.match(candidate.text)
        if specific:
            key = _SPECIFIC_FIELD[specific.group(1).casefold()]
            resolver.take(key, candidate, specific.group(2))
            if not extraction.has_valid("carrier"):
                _infer_carrier(extraction, resolver.rules, resolver)
            continue
        if isinstance(carrier, str) and carrier in CARRIER_ID_FIELDS:
            resolver.take(CARRIER_ID_FIELDS[carrier], candidate)


def _imply_payment(extraction: Extraction) -> None:
    """A carrier, named or inferred, implies payment by carrier (product.md)."""
    if extraction.has_valid("carrier") and not extraction.has_valid("payment_method"):
        item = extraction.found["carrier"][0]
        extraction.found["payment_method"] = [
            Found("payment_method", "carrier", item.written, item.line, "inferred", None, item.spans)
        ]
