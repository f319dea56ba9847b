"""The project's own evaluation corpus: well-formed expectations, and the engine's decisions on it.

`mails/` is the working corpus; `holdout/` was written before the engine was changed for this corpus
and is never tuned against: it measures how the engine reads mail it was not built from. `fresh/` is a
later round written the same way (new styles, new hands) before the engine was changed for it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from scoring import CORPUS_ROOT, KINDS, Case, Report, load_cases, problems, score

from triage.config import Settings
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet

MAILS = CORPUS_ROOT / "mails"
HOLDOUT = CORPUS_ROOT / "holdout"
FRESH = CORPUS_ROOT / "fresh"
UNSEEN = CORPUS_ROOT / "unseen"  # the next round, never tuned against: well-formed, reported apart
MIN_DECISIONS = 0.95
ALL_CASES = load_cases(MAILS) + load_cases(HOLDOUT) + load_cases(FRESH) + load_cases(UNSEEN)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    settings = Settings.from_env()
    return load_rules(settings.rules_dir, settings.replies_dir)


@pytest.mark.parametrize("case", ALL_CASES, ids=[f"{c.eml.parent.name}/{c.name}" for c in ALL_CASES])
def test_expectation_is_well_formed(case: Case, rules: RuleSet) -> None:
    assert problems(case, rules) == []


def test_corpus_covers_every_kind_in_both_languages() -> None:
    kinds = Counter(case.kind for case in ALL_CASES)
    assert len(load_cases(HOLDOUT)) >= 40
    assert len(load_cases(FRESH)) >= 120
    assert len(load_cases(UNSEEN)) >= 60
    assert len(ALL_CASES) >= 155
    assert {kind: kinds[kind] for kind in KINDS if kinds[kind] < 8} == {}
    assert Counter(case.expected["language"] for case in ALL_CASES).keys() == {"ja", "en"}
    assert Counter(case.expected["decision"] for case in ALL_CASES).keys() == {
        "queued",
        "needs_info",
        "icloud_rejected",
        "ignored",
        "unknown_mailbox",
    }


def test_file_names_are_unique_across_folders() -> None:
    numbers = Counter(case.name[:3] for case in ALL_CASES)
    assert [number for number, count in numbers.items() if count > 1] == []


def _decision_message(report: Report, floor: float) -> str:
    tally = report.tally()
    wrong = report.wrong_decisions()
    lines = [
        f"{report.folder.name}: decisions {tally.decisions_ok}/{tally.mails} "
        f"({tally.decision_accuracy:.1%}) below {floor:.0%}; {len(wrong)} wrong:"
    ]
    lines += [f"  {result.line()}" for result in wrong]
    return "\n".join(lines)


def _assert_decisions(folder: Path, rules: RuleSet, floor: float = MIN_DECISIONS) -> None:
    report = score(folder, rules=rules)
    assert report.results, f"no mails under {folder}"
    if report.tally().decision_accuracy < floor:
        pytest.fail(_decision_message(report, floor), pytrace=False)


def test_decisions_on_the_corpus(rules: RuleSet) -> None:
    _assert_decisions(MAILS, rules)


def test_decisions_on_the_fresh_round(rules: RuleSet) -> None:
    # 92/120 before the engine was changed for it (docs/corpus.md), 120/120 after
    _assert_decisions(FRESH, rules)


# The holdout was written before the engine was changed for it and is never tuned to: it is
# reported on its own (bench/corpus.py). 18/42 before the reading-model rewrite, 37/42 after; this
# floor catches a regression on mail the engine was not built from.
HOLDOUT_FLOOR = 0.85


def test_decisions_on_the_holdout(rules: RuleSet) -> None:
    _assert_decisions(HOLDOUT, rules, HOLDOUT_FLOOR)


def test_decisions_on_the_unseen_round(rules: RuleSet) -> None:
    # never tuned against (56/60 when written): the same floor as the holdout
    _assert_decisions(UNSEEN, rules, HOLDOUT_FLOOR)
