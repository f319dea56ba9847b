"""Where each value was found: for every value of the own corpus, its spans give back its written form.

For each Found and Invalid read from the member's text (every source but `inferred` and `derived`):
the spans are in order, inside `ParsedMail.text`, not overlapping, and
``for_report("".join(text[start:end] for each span))`` is the value as written (e-mail addresses
compared case-insensitively). A value `inferred` or `derived` from another one (payment method from
the carrier, prefecture from the address) has no span of its own: it has none, or exactly the spans
of a value it came from.

A span must be exactly its value: neither narrower (it would not hold the value) nor wider (several
addresses after one label, an emoji or a full stop beside a value each keep only their own part).
"""

from __future__ import annotations

import datetime as dt

import pytest
from scoring import CORPUS_ROOT, Case, load_cases

from triage.config import Settings
from triage.engine.loader import load_rules
from triage.engine.normalize import for_report
from triage.engine.result import Found, Invalid
from triage.engine.spec import RuleSet
from triage.parsing.mime import parse_mail
from triage.verdict import judge

CASES = load_cases(CORPUS_ROOT / "mails") + load_cases(CORPUS_ROOT / "holdout")
NOT_FROM_TEXT = ("inferred", "derived")
TODAY = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    settings = Settings.from_env()
    return load_rules(settings.rules_dir, settings.replies_dir)


def spanned(text: str, item: Found | Invalid, rules: RuleSet) -> str:
    definition = rules.fields.get(item.field)
    keep = definition is not None and definition.validator == "edge_chars"
    return for_report("".join(text[start:end] for start, end in item.spans), keep_punctuation=keep)


def same(field: str, spanned_text: str, written: str) -> bool:
    return spanned_text.lower() == written.lower() if field == "emails" else spanned_text == written


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=[f"{c.eml.parent.name}/{c.name}" for c in CASES])
def test_spans_give_back_the_written_value(case: Case, rules: RuleSet) -> None:
    mail = parse_mail(case.eml.read_bytes())
    verdict = judge(mail, envelope_to=case.expected.get("to"), settings=Settings(), rules=rules, today=TODAY)
    if verdict.extraction is None:
        return  # ignored or no mailbox: nothing was read
    text = mail.text
    items: list[Found | Invalid] = [item for found in verdict.extraction.found.values() for item in found]
    items += verdict.extraction.invalid
    all_spans = {item.spans for item in items if item.source not in NOT_FROM_TEXT}
    wrong: list[str] = []
    for item in items:
        if item.source in NOT_FROM_TEXT:
            assert not item.spans or item.spans in all_spans, (item.field, item.source, item.spans)
            continue
        assert item.spans, f"{item.field} ({item.source}) has no span"
        ends = [edge for span in item.spans for edge in span]
        assert ends == sorted(ends) and ends[0] >= 0 and ends[-1] <= len(text), (item.field, item.spans)
        got = spanned(text, item, rules)
        if same(item.field, got, item.written):
            continue
        wrong.append(f"{item.field} ({item.source}): span gives {got!r}, written {item.written!r}")
    assert not wrong, "; ".join(wrong)
