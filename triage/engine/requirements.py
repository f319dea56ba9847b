"""Does an extraction meet a mailbox's requirements? (product.md "Requirements")

- a required field is met when it has a valid value and no invalid value;
- "A or B" is met when either is; when neither is, each alternative with no value at all is
  missing and each with an invalid value blocks as invalid;
- "if X: Y" applies only when X is known; for the carrier id, an unknown carrier makes
  `carrier` alone missing;
- any other invalid value is reported without blocking.
"""

from __future__ import annotations

from triage.engine.extract import Extraction
from triage.engine.spec import CARRIER_ID, CARRIER_ID_FIELDS, MailboxPack, Requirement


def _concrete(name: str, extraction: Extraction) -> str | None:
    """The real field behind a name; None for the carrier id while the carrier is unknown."""
    if name != CARRIER_ID:
        return name
    carrier = extraction.value("carrier")
    return CARRIER_ID_FIELDS.get(carrier) if isinstance(carrier, str) else None


def _state(name: str, extraction: Extraction) -> str:
    if extraction.has_invalid(name):
        return "invalid"
    return "met" if extraction.has_valid(name) else "absent"


def _applies(requirement: Requirement, extraction: Extraction) -> bool:
    if requirement.kind != "when":
        return True
    return (
        requirement.when_field is not None
        and extraction.value(requirement.when_field) == requirement.when_value
    )


def evaluate(pack: MailboxPack, extraction: Extraction) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(missing, blocking invalid), each sorted."""
    missing: set[str] = set()
    blocking: set[str] = set()
    for requirement in pack.requires:
        if not _applies(requirement, extraction):
            continue
        if requirement.kind == "any_of":
            names = [name for name in (_concrete(n, extraction) for n in requirement.fields) if name]
            states = {name: _state(name, extraction) for name in names}
            if "met" in states.values():
                continue
            missing.update(name for name, state in states.items() if state == "absent")
            blocking.update(name for name, state in states.items() if state == "invalid")
            continue
        names_in_order = list(requirement.fields)
        for name in names_in_order:
            concrete = _concrete(name, extraction)
            if concrete is None:
                if "carrier" not in names_in_order:
                    missing.add("carrier")
                continue
            state = _state(concrete, extraction)
            if state == "absent":
                missing.add(concrete)
            elif state == "invalid":
                blocking.add(concrete)
    return tuple(sorted(missing)), tuple(sorted(blocking))
