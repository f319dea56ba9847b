"""The ordered verdict table (product.md "Decide"): first match wins, and the reason line."""

from __future__ import annotations

import pytest

from triage.decide import VERDICTS, Decision, Facts, decide, reason


def facts(
    mailbox: str | None = "secure_jo1",
    auto: tuple[str, ...] = (),
    icloud: bool = False,
    missing: tuple[str, ...] = (),
    invalid: tuple[str, ...] = (),
) -> Facts:
    return Facts(mailbox, auto, icloud, missing, invalid)


def test_table_order_is_the_products() -> None:
    assert [decision for decision, _ in VERDICTS] == [
        Decision.UNKNOWN_MAILBOX,
        Decision.IGNORED,
        Decision.ICLOUD_REJECTED,
        Decision.NEEDS_INFO,
        Decision.QUEUED,
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (facts(), Decision.QUEUED),
        (facts(missing=("nickname",)), Decision.NEEDS_INFO),
        (facts(invalid=("phone",)), Decision.NEEDS_INFO),
        (facts(icloud=True), Decision.ICLOUD_REJECTED),
        (facts(auto=("auto_submitted",)), Decision.IGNORED),
        (facts(mailbox=None), Decision.UNKNOWN_MAILBOX),
        # first match wins
        (facts(mailbox=None, auto=("auto_submitted",)), Decision.UNKNOWN_MAILBOX),
        (facts(mailbox=None, icloud=True, missing=("phone",)), Decision.UNKNOWN_MAILBOX),
        (facts(auto=("null_return_path",), icloud=True), Decision.IGNORED),
        (facts(auto=("auto_submitted",), missing=("phone",)), Decision.IGNORED),
        (facts(icloud=True, missing=("phone",)), Decision.ICLOUD_REJECTED),
        (facts(icloud=True, invalid=("emails",)), Decision.ICLOUD_REJECTED),
        (facts(missing=("phone",), invalid=("emails",)), Decision.NEEDS_INFO),
    ],
)
def test_first_match_wins(given: Facts, expected: Decision) -> None:
    assert decide(given) is expected


def test_decision_values_are_the_spec_words() -> None:
    assert {decision.value for decision in Decision} == {
        "unknown_mailbox",
        "ignored",
        "icloud_rejected",
        "needs_info",
        "queued",
    }


@pytest.mark.parametrize(
    ("given", "text"),
    [
        (facts(mailbox=None), "no recipient is a configured secure_* mailbox"),
        (facts(auto=("auto_submitted", "list_id")), "automatic mail: auto_submitted, list_id"),
        (facts(icloud=True, missing=("phone",)), "sender writes from an iCloud address"),
        (facts(missing=("nickname", "phone")), "missing: nickname, phone"),
        (facts(invalid=("emails",)), "invalid: emails"),
        (facts(missing=("phone",), invalid=("emails",)), "missing: phone; invalid: emails"),
        (facts(), "complete"),
    ],
)
def test_reason(given: Facts, text: str) -> None:
    assert reason(decide(given), given) == text
